// A subset of Go's fmt over template values: Sprint, Sprintln and Sprintf with the verbs
// v s q d b o x X c U e E f F g G t, flags "-+# 0", width and precision (also '*').
#include <cinttypes>
#include <cstdio>

#include "template/template.h"
#include "util/utf8.h"

namespace berth::tmpl {

namespace {

size_t RuneCount(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

struct Spec {
  bool minus = false, plus = false, sharp = false, space = false, zero = false;
  int width = -1;
  int prec = -1;
};

void Pad(std::string& out, std::string_view body, const Spec& sp) {
  size_t n = RuneCount(body);
  if (sp.width < 0 || n >= static_cast<size_t>(sp.width)) {
    out += body;
    return;
  }
  size_t pad = sp.width - n;
  if (sp.minus) {
    out += body;
    out.append(pad, ' ');
  } else {
    out.append(pad, ' ');
    out += body;
  }
}

// Pads a number: zero padding goes between the sign and the digits.
void PadNumber(std::string& out, std::string sign, std::string digits, const Spec& sp) {
  if (sp.zero && !sp.minus && sp.width > 0) {
    int total = static_cast<int>(sign.size() + digits.size());
    if (total < sp.width) digits.insert(0, sp.width - total, '0');
    out += sign + digits;
    return;
  }
  Pad(out, sign + digits, sp);
}

void BadVerb(std::string& out, char verb, const Value& v) {
  out += "%!";
  out += verb;
  out += '(';
  if (v.is_nil()) {
    out += "<nil>";
  } else {
    out += v.TypeName();
    out += '=';
    v.AppendTo(out);
  }
  out += ')';
}

// strconv.Quote (printable UTF-8 kept as is).
std::string GoQuote(std::string_view s, char q = '"') {
  std::string out(1, q);
  for (unsigned char c : s) {
    switch (c) {
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\v':
        out += "\\v";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (c == static_cast<unsigned char>(q)) {
          out += '\\';
          out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7F) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += q;
  return out;
}

std::string IntDigits(uint64_t u, int base, bool upper) {
  if (u == 0) return "0";
  const char* d = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string s;
  while (u) {
    s.insert(s.begin(), d[u % base]);
    u /= base;
  }
  return s;
}

void FormatInt(std::string& out, int64_t v, char verb, const Spec& sp) {
  uint64_t u = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  std::string sign = v < 0 ? "-" : sp.plus ? "+" : sp.space ? " " : "";
  std::string digits;
  switch (verb) {
    case 'd':
    case 'v':
      digits = IntDigits(u, 10, false);
      break;
    case 'b':
      digits = IntDigits(u, 2, false);
      break;
    case 'o':
    case 'O':
      digits = IntDigits(u, 8, false);
      if (verb == 'O')
        sign += "0o";
      else if (sp.sharp)
        sign += "0";
      break;
    case 'x':
    case 'X':
      digits = IntDigits(u, 16, verb == 'X');
      if (sp.sharp) sign += verb == 'X' ? "0X" : "0x";
      break;
    default:
      break;
  }
  if (sp.prec >= 0) {
    if (sp.prec == 0 && v == 0) digits.clear();
    if (static_cast<int>(digits.size()) < sp.prec) digits.insert(0, sp.prec - digits.size(), '0');
    Spec s2 = sp;
    s2.zero = false;
    PadNumber(out, sign, digits, s2);
    return;
  }
  PadNumber(out, sign, digits, sp);
}

void FormatFloat(std::string& out, double d, char verb, const Spec& sp) {
  std::string body;
  int prec = sp.prec;
  char f = verb == 'v' ? 'g' : verb == 'F' ? 'f' : verb;
  if (prec < 0 && (f == 'e' || f == 'E' || f == 'f')) prec = 6;
  AppendGoFloat(body, d, f, prec);
  std::string sign;
  if (!body.empty() && (body[0] == '-' || body[0] == '+')) {
    sign = body.substr(0, 1);
    body.erase(0, 1);
  } else if (sp.plus) {
    sign = "+";
  } else if (sp.space) {
    sign = " ";
  }
  if (body == "Inf" || body == "NaN") {
    Spec s2 = sp;
    s2.zero = false;
    PadNumber(out, sign, body, s2);
    return;
  }
  PadNumber(out, sign, body, sp);
}

void FormatOne(std::string& out, const Value& v, char verb, const Spec& sp) {
  switch (verb) {
    case 'v':
      if (v.is_int()) return FormatInt(out, v.as_int(), 'd', sp);
      if (v.is_float()) return FormatFloat(out, v.as_float(), 'g', sp);
      if (v.is_string() && sp.sharp) return Pad(out, GoQuote(v.as_string()), sp);
      return Pad(out, v.ToString(), sp);
    case 's':
      if (v.is_string() || v.is_list() || v.is_map() || v.is_object()) {
        std::string s = v.ToString();
        if (sp.prec >= 0) {
          size_t runes = 0, i = 0;
          for (; i < s.size(); ++i) {
            if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 &&
                runes++ == static_cast<size_t>(sp.prec))
              break;
          }
          s.resize(i);
        }
        return Pad(out, s, sp);
      }
      return BadVerb(out, verb, v);
    case 'q':
      if (v.is_string()) {
        const std::string& s = v.as_string();
        if (sp.sharp && s.find('`') == std::string::npos) return Pad(out, "`" + s + "`", sp);
        return Pad(out, GoQuote(s), sp);
      }
      if (v.is_int()) {
        std::string r;
        util::AppendUtf8(r, static_cast<uint32_t>(v.as_int()));
        return Pad(out, GoQuote(r, '\''), sp);
      }
      return BadVerb(out, verb, v);
    case 'd':
    case 'b':
    case 'o':
    case 'O':
      if (v.is_int()) return FormatInt(out, v.as_int(), verb, sp);
      return BadVerb(out, verb, v);
    case 'x':
    case 'X':
      if (v.is_int()) return FormatInt(out, v.as_int(), verb, sp);
      if (v.is_string()) {
        std::string h;
        char buf[4];
        for (unsigned char c : v.as_string()) {
          std::snprintf(buf, sizeof buf, verb == 'x' ? "%02x" : "%02X", c);
          h += buf;
        }
        return Pad(out, h, sp);
      }
      return BadVerb(out, verb, v);
    case 'c':
      if (v.is_int()) {
        std::string r;
        util::AppendUtf8(r, static_cast<uint32_t>(v.as_int()));
        return Pad(out, r, sp);
      }
      return BadVerb(out, verb, v);
    case 'U':
      if (v.is_int()) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "U+%04" PRIX64, static_cast<uint64_t>(v.as_int()));
        return Pad(out, buf, sp);
      }
      return BadVerb(out, verb, v);
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G':
      if (v.is_float()) return FormatFloat(out, v.as_float(), verb, sp);
      return BadVerb(out, verb, v);
    case 't':
      if (v.is_bool()) return Pad(out, v.as_bool() ? "true" : "false", sp);
      return BadVerb(out, verb, v);
    default:
      return BadVerb(out, verb, v);
  }
}

}  // namespace

std::string GoSprintf(std::string_view f, std::span<const Value> args) {
  std::string out;
  size_t argi = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    char c = f[i];
    if (c != '%') {
      out += c;
      continue;
    }
    if (++i >= f.size()) {
      out += "%!(NOVERB)";
      break;
    }
    Spec sp;
    for (; i < f.size(); ++i) {
      char g = f[i];
      if (g == '-')
        sp.minus = true;
      else if (g == '+')
        sp.plus = true;
      else if (g == '#')
        sp.sharp = true;
      else if (g == ' ')
        sp.space = true;
      else if (g == '0')
        sp.zero = !sp.minus;
      else
        break;
    }
    // Go refuses a width or precision past 1e6 (fmt's tooLarge): no int overflow, no padding
    // of gigabytes. False when a '*' argument is missing, not an int or too large.
    constexpr int64_t kTooLarge = 1'000'000;
    auto read_num = [&](int* dst) -> bool {
      if (i < f.size() && f[i] == '*') {
        ++i;
        const bool ok = argi < args.size() && args[argi].is_int() &&
                        args[argi].as_int() >= -kTooLarge && args[argi].as_int() <= kTooLarge;
        if (ok) {
          *dst = static_cast<int>(args[argi].as_int());
          if (*dst < 0 && dst == &sp.width) {
            sp.minus = true;
            *dst = -*dst;
          }
        }
        ++argi;
        return ok;
      }
      int n = -1;
      while (i < f.size() && f[i] >= '0' && f[i] <= '9') {
        if (n > kTooLarge) {  // a crazy long number: Go drops the rest of the format
          i = f.size();
          n = -1;
          break;
        }
        n = (n < 0 ? 0 : n * 10) + (f[i++] - '0');
      }
      *dst = n;
      return true;
    };
    if (!read_num(&sp.width)) out += "%!(BADWIDTH)";
    if (i < f.size() && f[i] == '.') {
      ++i;
      if (!read_num(&sp.prec))
        out += "%!(BADPREC)";
      else if (sp.prec < 0)
        sp.prec = 0;
    }
    if (i >= f.size()) {
      out += "%!(NOVERB)";
      break;
    }
    char verb = f[i];
    if (verb == '%') {
      out += '%';
      continue;
    }
    if (argi >= args.size()) {
      out += "%!";
      out += verb;
      out += "(MISSING)";
      continue;
    }
    FormatOne(out, args[argi++], verb, sp);
  }
  if (argi < args.size()) {
    out += "%!(EXTRA ";
    for (size_t k = argi; k < args.size(); ++k) {
      if (k > argi) out += ", ";
      out += args[k].is_nil() ? "<nil>" : args[k].TypeName() + "=" + args[k].ToString();
    }
    out += ')';
  }
  return out;
}

std::string GoSprint(std::span<const Value> args) {
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) {
    // Go adds a space between operands when neither is a string.
    if (i > 0 && !args[i].is_string() && !args[i - 1].is_string()) out += ' ';
    args[i].AppendTo(out);
  }
  return out;
}

std::string GoSprintln(std::span<const Value> args) {
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (i > 0) out += ' ';
    args[i].AppendTo(out);
  }
  out += '\n';
  return out;
}

}  // namespace berth::tmpl
