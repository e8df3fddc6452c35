#include "cli/string_table.h"

#include "util/utf8.h"

#include <cctype>
#include <cstdint>

namespace berth::cli {
namespace {

class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}

  bool Table(StringTable& out) {
    bool have_columns = false, have_rows = false;
    if (!Eat('{')) return false;
    if (Peek() == '}') return false;
    do {
      std::string key;
      if (!String(key) || !Eat(':')) return false;
      if (key == "columns") {
        if (have_columns || !Strings(out.columns)) return false;
        have_columns = true;
      } else if (key == "rows") {
        if (have_rows || !Eat('[')) return false;
        if (Peek() != ']') {
          do {
            if (!Strings(out.rows.emplace_back())) return false;
          } while (Eat(','));
        }
        if (!Eat(']')) return false;
        have_rows = true;
      } else if (!Skip(0)) {
        return false;
      }
    } while (Eat(','));
    if (!Eat('}')) return false;
    Space();
    if (i_ != s_.size() || !have_columns || !have_rows) return false;
    for (const auto& r : out.rows)
      if (r.size() != out.columns.size()) return false;
    return true;
  }

 private:
  void Space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t'))
      ++i_;
  }
  char Peek() {
    Space();
    return i_ < s_.size() ? s_[i_] : '\0';
  }
  bool Eat(char c) {
    if (Peek() != c) return false;
    ++i_;
    return true;
  }

  // [string, ...]
  bool Strings(std::vector<std::string>& out) {
    if (!Eat('[')) return false;
    if (Eat(']')) return true;
    do {
      if (!String(out.emplace_back())) return false;
    } while (Eat(','));
    return Eat(']');
  }

  int Hex4() {
    if (s_.size() - i_ < 4) return -1;
    int v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = s_[i_++];
      int d = c >= '0' && c <= '9'   ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                     : -1;
      if (d < 0) return -1;
      v = v * 16 + d;
    }
    return v;
  }

  // A JSON string; control characters (raw ones are invalid JSON anyway) come out as '?'.
  bool String(std::string& out) {
    if (!Eat('"')) return false;
    while (i_ < s_.size()) {
      // The plain run up to the next quote, backslash or control character, copied at once.
      size_t j = i_;
      while (j < s_.size() && s_[j] != '"' && s_[j] != '\\' &&
             static_cast<unsigned char>(s_[j]) >= 0x20)
        ++j;
      out.append(s_.data() + i_, j - i_);
      i_ = j;
      if (i_ == s_.size()) return false;
      char c = s_[i_++];
      if (c == '"') return true;
      if (c != '\\') return false;  // a raw control character
      if (i_ == s_.size()) return false;
      char e = s_[i_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out += e;
          break;
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
          out += '?';
          break;
        case 'u': {
          int hi = Hex4();
          if (hi < 0) return false;
          uint32_t cp = static_cast<uint32_t>(hi);
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            // A high surrogate must be followed by a low one.
            if (s_.size() - i_ < 2 || s_[i_] != '\\' || s_[i_ + 1] != 'u') return false;
            i_ += 2;
            int lo = Hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (static_cast<uint32_t>(lo) - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return false;
          }
          if (cp < 0x20 || cp == 0x7F) {
            out += '?';
          } else {
            util::AppendUtf8(out, cp);
          }
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }

  // Any JSON value, not kept.
  bool Skip(int depth) {
    if (depth > 64) return false;
    char c = Peek();
    if (c == '"') {
      std::string ignored;
      return String(ignored);
    }
    if (c == '[' || c == '{') {
      const char close = c == '[' ? ']' : '}';
      ++i_;
      if (Eat(close)) return true;
      do {
        if (c == '{') {
          std::string key;
          if (!String(key) || !Eat(':')) return false;
        }
        if (!Skip(depth + 1)) return false;
      } while (Eat(','));
      return Eat(close);
    }
    // A number or a literal: its characters up to the next delimiter.
    size_t j = i_;
    while (j < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[j])) || s_[j] == '-' ||
                             s_[j] == '+' || s_[j] == '.'))
      ++j;
    if (j == i_) return false;
    i_ = j;
    return true;
  }

  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

Result<StringTable> ParseStringTable(std::string_view text) {
  StringTable t;
  if (!Scanner(text).Table(t))
    return Fail(ErrorCode::kInvalidArgument,
                "the server's table is not {columns, rows} of strings");
  return t;
}

}  // namespace berth::cli
