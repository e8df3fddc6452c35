// Go's predefined template functions.
#include <cstdio>

#include "template/template.h"

namespace berth::tmpl {

std::shared_ptr<const Function> MakeFunc(std::function<Result<Value>(std::span<const Value>)> fn,
                                         int min_args, int max_args) {
  return std::make_shared<const Function>(Function{std::move(fn), min_args, max_args});
}

namespace {

using Args = std::span<const Value>;

tl::unexpected<Error> Bad(std::string msg) {
  return Fail(ErrorCode::kInvalidArgument, std::move(msg));
}

enum class Basic { kBool, kInt, kFloat, kString, kNil, kOther };
Basic KindOf(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kBool:
      return Basic::kBool;
    case Value::Kind::kInt:
      return Basic::kInt;
    case Value::Kind::kFloat:
      return Basic::kFloat;
    case Value::Kind::kString:
      return Basic::kString;
    case Value::Kind::kNil:
    case Value::Kind::kMissing:
      return Basic::kNil;
    default:
      return Basic::kOther;
  }
}

// Integers and floats compare by value (Go would refuse int vs float64; JSON numbers here are
// integers when they can be, so templates comparing them to literals keep working).
Result<bool> Equal(const Value& a, const Value& b) {
  Basic ka = KindOf(a), kb = KindOf(b);
  if (ka == Basic::kOther) return Bad("non-comparable type " + a.TypeName() + ": " + a.ToString());
  if (kb == Basic::kOther) return Bad("non-comparable type " + b.TypeName() + ": " + b.ToString());
  if (ka == Basic::kNil || kb == Basic::kNil) return ka == kb;
  if ((ka == Basic::kInt || ka == Basic::kFloat) && (kb == Basic::kInt || kb == Basic::kFloat)) {
    if (ka == Basic::kInt && kb == Basic::kInt) return a.as_int() == b.as_int();
    return a.as_number() == b.as_number();
  }
  if (ka != kb) return Bad("incompatible types for comparison");
  switch (ka) {
    case Basic::kBool:
      return a.as_bool() == b.as_bool();
    case Basic::kString:
      return a.as_string() == b.as_string();
    default:
      return false;
  }
}

Result<bool> Less(const Value& a, const Value& b) {
  Basic ka = KindOf(a), kb = KindOf(b);
  auto ok = [](Basic k) { return k == Basic::kInt || k == Basic::kFloat || k == Basic::kString; };
  if (!ok(ka)) return Bad("invalid type for comparison");
  if (!ok(kb)) return Bad("invalid type for comparison");
  if (ka == Basic::kString || kb == Basic::kString) {
    if (ka != kb) return Bad("incompatible types for comparison");
    return a.as_string() < b.as_string();
  }
  if (ka == Basic::kInt && kb == Basic::kInt) return a.as_int() < b.as_int();
  return a.as_number() < b.as_number();
}

Result<Value> IndexOne(const Value& item, const Value& idx) {
  switch (item.kind()) {
    case Value::Kind::kList:
    case Value::Kind::kString: {
      if (!idx.is_int()) return Bad("cannot index slice/array with type " + idx.TypeName());
      int64_t i = idx.as_int();
      size_t n = item.is_list() ? item.as_list().size() : item.as_string().size();
      if (i < 0 || static_cast<size_t>(i) >= n) {
        return Bad("index out of range: " + std::to_string(i));
      }
      if (item.is_list()) return item.as_list()[i];
      return Value(static_cast<int64_t>(static_cast<unsigned char>(item.as_string()[i])));
    }
    case Value::Kind::kMap: {
      if (!idx.is_string()) return Bad("value has type " + idx.TypeName() + "; should be string");
      const Value* v = item.as_map().Find(idx.as_string());
      return v ? *v : Value();
    }
    case Value::Kind::kNil:
    case Value::Kind::kMissing:
      return Bad("index of untyped nil");
    default:
      return Bad("can't index item of type " + item.TypeName());
  }
}

Result<Value> Index(Args a) {
  Value v = a[0];
  for (size_t i = 1; i < a.size(); ++i) {
    auto r = IndexOne(v, a[i]);
    if (!r) return r;
    v = std::move(*r);
  }
  return v;
}

Result<Value> Slice(Args a) {
  const Value& item = a[0];
  if (item.is_nil()) return Bad("slice of untyped nil");
  if (a.size() > 4) return Bad("too many slice indexes: " + std::to_string(a.size() - 1));
  if (!item.is_list() && !item.is_string())
    return Bad("can't slice item of type " + item.TypeName());
  if (item.is_string() && a.size() == 4) return Bad("cannot 3-index slice a string");
  int64_t n = item.is_list() ? item.as_list().size() : item.as_string().size();
  int64_t idx[3] = {0, n, n};
  for (size_t i = 1; i < a.size(); ++i) {
    if (!a[i].is_int()) return Bad("cannot index slice/array with type " + a[i].TypeName());
    idx[i - 1] = a[i].as_int();
    if (idx[i - 1] < 0 || idx[i - 1] > n)
      return Bad("index out of range: " + std::to_string(idx[i - 1]));
  }
  if (idx[0] > idx[1]) {
    return Bad("invalid slice index: " + std::to_string(idx[0]) + " > " + std::to_string(idx[1]));
  }
  if (item.is_string()) return Value(item.as_string().substr(idx[0], idx[1] - idx[0]));
  const List& l = item.as_list();
  return Value(List(l.begin() + idx[0], l.begin() + idx[1]));
}

std::string ArgsString(Args a) {
  if (a.size() == 1 && a[0].is_string()) return a[0].as_string();
  return GoSprint(a);
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '\0':
        out += "\xEF\xBF\xBD";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string JsEscape(std::string_view s) {
  std::string out;
  char buf[8];
  for (unsigned char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\'':
        out += "\\'";
        break;
      case '"':
        out += "\\\"";
        break;
      case '<':
        out += "\\u003C";
        break;
      case '>':
        out += "\\u003E";
        break;
      case '&':
        out += "\\u0026";
        break;
      case '=':
        out += "\\u003D";
        break;
      default:
        if (c < ' ') {
          std::snprintf(buf, sizeof buf, "\\u%04X", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

std::string QueryEscape(std::string_view s) {
  std::string out;
  char buf[4];
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

FuncMap MakeBuiltins() {
  FuncMap m;
  // and/or are evaluated lazily by the executor; these bodies only serve `call and ...`.
  m["and"] = MakeFunc(
      [](Args a) -> Result<Value> {
        for (const auto& v : a)
          if (!v.Truth()) return v;
        return a.back();
      },
      1, -1);
  m["or"] = MakeFunc(
      [](Args a) -> Result<Value> {
        for (const auto& v : a)
          if (v.Truth()) return v;
        return a.back();
      },
      1, -1);
  m["not"] = MakeFunc([](Args a) -> Result<Value> { return Value(!a[0].Truth()); }, 1, 1);
  m["len"] = MakeFunc(
      [](Args a) -> Result<Value> {
        switch (a[0].kind()) {
          case Value::Kind::kString:
            return Value(static_cast<int64_t>(a[0].as_string().size()));
          case Value::Kind::kList:
            return Value(static_cast<int64_t>(a[0].as_list().size()));
          case Value::Kind::kMap:
            return Value(static_cast<int64_t>(a[0].as_map().size()));
          case Value::Kind::kNil:
          case Value::Kind::kMissing:
            return Bad("len of nil pointer");
          default:
            return Bad("len of type " + a[0].TypeName());
        }
      },
      1, 1);
  m["index"] = MakeFunc(Index, 1, -1);
  m["slice"] = MakeFunc(Slice, 1, -1);
  m["print"] = MakeFunc([](Args a) -> Result<Value> { return Value(GoSprint(a)); }, 0, -1);
  m["println"] = MakeFunc([](Args a) -> Result<Value> { return Value(GoSprintln(a)); }, 0, -1);
  m["printf"] = MakeFunc(
      [](Args a) -> Result<Value> {
        if (!a[0].is_string())
          return Bad("wrong type for value; expected string; got " + a[0].TypeName());
        return Value(GoSprintf(a[0].as_string(), a.subspan(1)));
      },
      1, -1);
  m["eq"] = MakeFunc(
      [](Args a) -> Result<Value> {
        if (a.size() < 2) return Bad("missing argument for comparison");
        for (size_t i = 1; i < a.size(); ++i) {
          auto r = Equal(a[0], a[i]);
          if (!r) return tl::unexpected(r.error());
          if (*r) return Value(true);
        }
        return Value(false);
      },
      1, -1);
  m["ne"] = MakeFunc(
      [](Args a) -> Result<Value> {
        auto r = Equal(a[0], a[1]);
        if (!r) return tl::unexpected(r.error());
        return Value(!*r);
      },
      2, 2);
  m["lt"] = MakeFunc(
      [](Args a) -> Result<Value> {
        auto r = Less(a[0], a[1]);
        if (!r) return tl::unexpected(r.error());
        return Value(*r);
      },
      2, 2);
  m["le"] = MakeFunc(
      [](Args a) -> Result<Value> {
        auto r = Less(a[1], a[0]);
        if (!r) return tl::unexpected(r.error());
        return Value(!*r);
      },
      2, 2);
  m["gt"] = MakeFunc(
      [](Args a) -> Result<Value> {
        auto r = Less(a[1], a[0]);
        if (!r) return tl::unexpected(r.error());
        return Value(*r);
      },
      2, 2);
  m["ge"] = MakeFunc(
      [](Args a) -> Result<Value> {
        auto r = Less(a[0], a[1]);
        if (!r) return tl::unexpected(r.error());
        return Value(!*r);
      },
      2, 2);
  m["html"] =
      MakeFunc([](Args a) -> Result<Value> { return Value(HtmlEscape(ArgsString(a))); }, 0, -1);
  m["js"] = MakeFunc([](Args a) -> Result<Value> { return Value(JsEscape(ArgsString(a))); }, 0, -1);
  m["urlquery"] =
      MakeFunc([](Args a) -> Result<Value> { return Value(QueryEscape(ArgsString(a))); }, 0, -1);
  m["call"] = MakeFunc(
      [](Args a) -> Result<Value> {
        if (!a[0].is_func()) {
          if (a[0].is_nil()) return Bad("call of nil");
          return Bad("non-function of type " + a[0].TypeName());
        }
        const Function& f = a[0].as_func();
        int n = static_cast<int>(a.size() - 1);
        if (n < f.min_args || (f.max_args >= 0 && n > f.max_args)) {
          return Bad("wrong number of args: got " + std::to_string(n) + " want " +
                     std::to_string(f.min_args));
        }
        return f.fn(a.subspan(1));
      },
      1, -1);
  return m;
}

}  // namespace

const FuncMap& Builtins() {
  static const FuncMap* m = new FuncMap(MakeBuiltins());
  return *m;
}

}  // namespace berth::tmpl
