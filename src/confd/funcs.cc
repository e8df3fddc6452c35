#include "confd/funcs.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <resolv.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <mutex>
#include <set>
#include <unordered_map>

#include "confd/gotime.h"
#include "util/base64.h"

namespace berth::confd {

namespace {

using tmpl::List;
using tmpl::MakeFunc;
using tmpl::Value;
using Args = std::span<const Value>;

tl::unexpected<Error> Bad(std::string msg) {
  return Fail(ErrorCode::kInvalidArgument, std::move(msg));
}

// Go's template would refuse a non-string where a func takes a string; say so the same way.
Result<std::string> Str(const Value& v) {
  if (!v.is_string()) return Bad("wrong type for value; expected string; got " + v.TypeName());
  return v.as_string();
}
Result<int64_t> Int(const Value& v) {
  if (!v.is_int()) return Bad("wrong type for value; expected int; got " + v.TypeName());
  return v.as_int();
}

#define TRY_STR(var, expr)                              \
  auto var##_r = Str(expr);                             \
  if (!var##_r) return tl::unexpected(var##_r.error()); \
  const std::string& var = *var##_r
#define TRY_INT(var, expr)                              \
  auto var##_r = Int(expr);                             \
  if (!var##_r) return tl::unexpected(var##_r.error()); \
  int64_t var = *var##_r

std::vector<std::string> GoSplit(const std::string& s, const std::string& sep) {
  std::vector<std::string> out;
  if (sep.empty()) {  // splits after each UTF-8 sequence
    for (size_t i = 0; i < s.size();) {
      size_t j = i + 1;
      while (j < s.size() && (static_cast<unsigned char>(s[j]) & 0xC0) == 0x80) ++j;
      out.push_back(s.substr(i, j - i));
      i = j;
    }
    return out;
  }
  size_t i = 0;
  while (true) {
    size_t j = s.find(sep, i);
    if (j == std::string::npos) {
      out.push_back(s.substr(i));
      return out;
    }
    out.push_back(s.substr(i, j - i));
    i = j + sep.size();
  }
}

std::string GoReplace(const std::string& s, const std::string& from, const std::string& to,
                      int64_t n) {
  if (n == 0 || from == to) return s;
  std::string out;
  size_t i = 0;
  int64_t done = 0;
  if (from.empty()) {  // inserts `to` before each UTF-8 sequence and at the end
    out += to;
    ++done;
    while (i < s.size() && (n < 0 || done < n)) {
      size_t j = i + 1;
      while (j < s.size() && (static_cast<unsigned char>(s[j]) & 0xC0) == 0x80) ++j;
      out.append(s, i, j - i);
      out += to;
      ++done;
      i = j;
    }
    out.append(s, i, std::string::npos);
    return out;
  }
  while (n < 0 || done < n) {
    size_t j = s.find(from, i);
    if (j == std::string::npos) break;
    out.append(s, i, j - i);
    out += to;
    i = j + from.size();
    ++done;
  }
  out.append(s, i, std::string::npos);
  return out;
}

Value StringList(const std::vector<std::string>& v) {
  List l;
  l.reserve(v.size());
  for (const auto& s : v) l.emplace_back(s);
  return Value(std::move(l));
}

// A net.SRV record for templates.
class SrvRecord : public tmpl::Object {
 public:
  SrvRecord(std::string target, int port, int prio, int weight)
      : target_(std::move(target)), port_(port), prio_(prio), weight_(weight) {}
  std::string TypeName() const override { return "*net.SRV"; }
  std::string String() const override {
    return "&{" + target_ + " " + std::to_string(port_) + " " + std::to_string(prio_) + " " +
           std::to_string(weight_) + "}";
  }
  Result<Value> Member(std::string_view n, Args) const override {
    if (n == "Target") return Value(target_);
    if (n == "Port") return Value(port_);
    if (n == "Priority") return Value(prio_);
    if (n == "Weight") return Value(weight_);
    return Bad("can't evaluate field " + std::string(n) + " in type *net.SRV");
  }
  bool IsMethod(std::string_view) const override { return false; }
  // confd sorts by target, port, priority and weight printed together.
  std::string SortKey() const {
    return target_ + std::to_string(port_) + std::to_string(prio_) + std::to_string(weight_);
  }

 private:
  std::string target_;
  int port_, prio_, weight_;
};

Value LookupIP(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0) return Value::Nil();
  std::set<std::string> ips;
  for (addrinfo* p = res; p; p = p->ai_next) {
    char buf[INET6_ADDRSTRLEN];
    const void* addr =
        p->ai_family == AF_INET
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(p->ai_addr)->sin_addr)
            : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(p->ai_addr)->sin6_addr);
    if (inet_ntop(p->ai_family, addr, buf, sizeof buf)) ips.insert(buf);
  }
  freeaddrinfo(res);
  List l;
  for (const auto& ip : ips) l.emplace_back(ip);
  return Value(std::move(l));
}

Value LookupSRV(const std::string& service, const std::string& proto, const std::string& name) {
  std::string q =
      service.empty() && proto.empty() ? name : "_" + service + "._" + proto + "." + name;
  unsigned char buf[8192];
  int n = res_query(q.c_str(), ns_c_in, ns_t_srv, buf, sizeof buf);
  List out;
  if (n < static_cast<int>(HFIXEDSZ)) return Value(std::move(out));
  const unsigned char* end = buf + n;
  const unsigned char* p = buf + HFIXEDSZ;
  int qd = (buf[4] << 8) | buf[5];
  int an = (buf[6] << 8) | buf[7];
  char name_buf[NS_MAXDNAME];
  for (int i = 0; i < qd && p < end; ++i) {
    int len = dn_expand(buf, end, p, name_buf, sizeof name_buf);
    if (len < 0) return Value(std::move(out));
    p += len + 4;
  }
  std::vector<std::shared_ptr<const SrvRecord>> recs;
  for (int i = 0; i < an && p < end; ++i) {
    int len = dn_expand(buf, end, p, name_buf, sizeof name_buf);
    if (len < 0 || p + len + 10 > end) break;
    p += len;
    int type = (p[0] << 8) | p[1];
    int rdlen = (p[8] << 8) | p[9];
    p += 10;
    if (p + rdlen > end) break;
    if (type == ns_t_srv && rdlen >= 7) {
      int prio = (p[0] << 8) | p[1], weight = (p[2] << 8) | p[3], port = (p[4] << 8) | p[5];
      if (dn_expand(buf, end, p + 6, name_buf, sizeof name_buf) >= 0) {
        recs.push_back(
            std::make_shared<SrvRecord>(std::string(name_buf) + ".", port, prio, weight));
      }
    }
    p += rdlen;
  }
  std::sort(recs.begin(), recs.end(),
            [](const auto& a, const auto& b) { return a->SortKey() < b->SortKey(); });
  for (auto& r : recs) out.emplace_back(std::shared_ptr<const tmpl::Object>(r));
  return Value(std::move(out));
}

// Parsed JSON by argument identity. An entry holds its argument, so the string's address cannot
// be reused while the entry lives; entries nobody else holds are swept when the cache grows.
class JsonCache {
 public:
  Result<Value> Parse(const Value& arg, size_t keys) {
    const void* id = &arg.as_string();
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = entries_.find(id);
      if (it != entries_.end()) return it->second.second;
    }
    auto v = Value::FromJson(arg.as_string());
    if (!v) return v;
    std::lock_guard<std::mutex> lock(mu_);
    size_t limit = 2 * keys + 1024;
    if (entries_.size() >= limit) {
      for (auto it = entries_.begin(); it != entries_.end();) {
        it = it->second.first.shares() <= 1 ? entries_.erase(it) : std::next(it);
      }
      if (entries_.size() >= limit) entries_.clear();
    }
    entries_.emplace(id, std::make_pair(arg, *v));
    return v;
  }

 private:
  std::mutex mu_;
  std::unordered_map<const void*, std::pair<Value, Value>> entries_;
};

const KVPair* AsKV(const Value& v) {
  if (!v.is_object()) return nullptr;
  return dynamic_cast<const KVPair*>(&v.as_object());
}

}  // namespace

tmpl::FuncMap ConfdFuncs(const KVStore* kv) {
  tmpl::FuncMap m;
  // ---- the key store ----
  m["exists"] = MakeFunc(
      [kv](Args a) -> Result<Value> {
        TRY_STR(k, a[0]);
        return Value(kv->Exists(k));
      },
      1, 1);
  m["get"] = MakeFunc(
      [kv](Args a) -> Result<Value> {
        TRY_STR(k, a[0]);
        return kv->Get(k);
      },
      1, 1);
  m["gets"] = MakeFunc(
      [kv](Args a) -> Result<Value> {
        TRY_STR(p, a[0]);
        return kv->GetAll(p);
      },
      1, 1);
  m["getv"] = MakeFunc(
      [kv](Args a) -> Result<Value> {
        TRY_STR(k, a[0]);
        if (a.size() > 1) {
          TRY_STR(d, a[1]);
          return kv->GetValue(k, &d);
        }
        return kv->GetValue(k, nullptr);
      },
      1, 2);
  m["getvs"] = MakeFunc(
      [kv](Args a) -> Result<Value> {
        TRY_STR(p, a[0]);
        return kv->GetAllValues(p);
      },
      1, 1);
  m["ls"] = MakeFunc(
      [kv](Args a) -> Result<Value> {
        TRY_STR(p, a[0]);
        return kv->List(p);
      },
      1, 1);
  m["lsdir"] = MakeFunc(
      [kv](Args a) -> Result<Value> {
        TRY_STR(p, a[0]);
        return kv->ListDir(p);
      },
      1, 1);

  // ---- data ----
  // json and jsonArray parse the same store values on every pass; results are immutable, so
  // they are cached by the identity of the (immutable, shared) argument string.
  auto cache = std::make_shared<JsonCache>();
  m["json"] = MakeFunc(
      [cache, kv](Args a) -> Result<Value> {
        TRY_STR(s, a[0]);
        auto v = cache->Parse(a[0], kv ? kv->size() : 0);
        if (!v) return Bad(v.error().message);
        if (v->is_nil()) return Value(tmpl::Map());
        if (!v->is_map()) {
          return Bad("json: cannot unmarshal " + v->TypeName() +
                     " into Go value of type map[string]interface {}");
        }
        (void)s;
        return v;
      },
      1, 1);
  m["jsonArray"] = MakeFunc(
      [cache, kv](Args a) -> Result<Value> {
        TRY_STR(s, a[0]);
        auto v = cache->Parse(a[0], kv ? kv->size() : 0);
        if (!v) return Bad(v.error().message);
        if (v->is_nil()) return Value(List());
        if (!v->is_list()) {
          return Bad("json: cannot unmarshal " + v->TypeName() +
                     " into Go value of type []interface {}");
        }
        (void)s;
        return v;
      },
      1, 1);
  m["map"] = MakeFunc(
      [](Args a) -> Result<Value> {
        if (a.size() % 2 != 0) return Bad("invalid map call");
        std::vector<tmpl::Map::Entry> es;
        for (size_t i = 0; i < a.size(); i += 2) {
          if (!a[i].is_string()) return Bad("map keys must be strings");
          es.emplace_back(a[i].as_string(), a[i + 1]);
        }
        return Value(tmpl::Map(std::move(es)));
      },
      0, -1);

  // ---- paths and strings ----
  m["base"] = MakeFunc(
      [](Args a) -> Result<Value> {
        TRY_STR(s, a[0]);
        return Value(PathBase(s));
      },
      1, 1);
  m["dir"] = MakeFunc(
      [](Args a) -> Result<Value> {
        TRY_STR(s, a[0]);
        return Value(PathDir(s));
      },
      1, 1);
  m["split"] = MakeFunc(
      [](Args a) -> Result<Value> {
        TRY_STR(s, a[0]);
        TRY_STR(sep, a[1]);
        return StringList(GoSplit(s, sep));
      },
      2, 2);
  m["join"] = MakeFunc(
      [](Args a) -> Result<Value> {
        TRY_STR(sep, a[1]);
        if (!a[0].is_list())
          return Bad("wrong type for value; expected []string; got " + a[0].TypeName());
        std::string out;
        bool first = true;
        for (const auto& e : a[0].as_list()) {
          if (!e.is_string())
            return Bad("wrong type for value; expected []string; got []interface {}");
          if (!first) out += sep;
          first = false;
          out += e.as_string();
        }
        return Value(out);
      },
      2, 2);
  m["toUpper"] = MakeFunc(
      [](Args a) -> Result<Value> {
        TRY_STR(s, a[0]);
        std::string o = s;
        for (auto& c : o) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
        return Value(o);
      },
      1, 1);
  m["toLower"] = MakeFunc(
      [](Args a) -> Result<Value> {
        TRY_STR(s, a[0]);
        std::string o = s;
        for (auto& c : o) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
        return Value(o);
      },
      1, 1);
  m["contains"] = MakeFunc(
      [](Args a) -> Result<Value> {
        TRY_STR(s, a[0]);
        TRY_STR(sub, a[1]);
        return Value(s.find(sub) != std::string::npos);
      },
      2, 2);
  m["replace"] = MakeFunc(
      [](Args a) -> Result<Value> {
        TRY_STR(s, a[0]);
        TRY_STR(from, a[1]);
        TRY_STR(to, a[2]);
        TRY_INT(n, a[3]);
        return Value(GoReplace(s, from, to, n));
      },
      4, 4);
  m["trimSuffix"] = MakeFunc(
      [](Args a) -> Result<Value> {
        TRY_STR(s, a[0]);
        TRY_STR(suf, a[1]);
        if (s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0) {
          return Value(s.substr(0, s.size() - suf.size()));
        }
        return a[0];
      },
      2, 2);
  m["base64Encode"] = MakeFunc(
      [](Args a) -> Result<Value> {
        TRY_STR(s, a[0]);
        return Value(util::Base64Encode(s));
      },
      1, 1);
  m["base64Decode"] = MakeFunc(
      [](Args a) -> Result<Value> {
        TRY_STR(s, a[0]);
        auto d = util::Base64Decode(s, {.ignore_newlines = true});
        if (!d) return tl::unexpected(d.error());
        return Value(*d);
      },
      1, 1);
  m["parseBool"] = MakeFunc(
      [](Args a) -> Result<Value> {
        TRY_STR(s, a[0]);
        if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True")
          return Value(true);
        if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" || s == "False")
          return Value(false);
        return Bad("strconv.ParseBool: parsing \"" + s + "\": invalid syntax");
      },
      1, 1);

  // ---- numbers ----
  m["atoi"] = MakeFunc(
      [](Args a) -> Result<Value> {
        TRY_STR(s, a[0]);
        std::string_view b = s;
        if (!b.empty() && b[0] == '+') b.remove_prefix(1);
        int64_t v = 0;
        auto r = std::from_chars(b.data(), b.data() + b.size(), v);
        if (s.empty() || r.ptr != b.data() + b.size() || (b.size() > 0 && b[0] == '+')) {
          return Bad("strconv.Atoi: parsing \"" + s + "\": invalid syntax");
        }
        if (r.ec == std::errc::result_out_of_range) {
          return Bad("strconv.Atoi: parsing \"" + s + "\": value out of range");
        }
        return Value(v);
      },
      1, 1);
  m["seq"] = MakeFunc(
      [](Args a) -> Result<Value> {
        TRY_INT(first, a[0]);
        TRY_INT(last, a[1]);
        List l;
        if (last < first) return Value(std::move(l));
        // In unsigned arithmetic: the bounds may be anywhere in int64, and last may be its max.
        const uint64_t count = static_cast<uint64_t>(last) - static_cast<uint64_t>(first) + 1;
        if (count == 0 || count > 10'000'001) return Bad("seq: range too large");
        for (uint64_t k = 0; k < count; ++k)
          l.emplace_back(static_cast<int64_t>(static_cast<uint64_t>(first) + k));
        return Value(std::move(l));
      },
      2, 2);
  auto arith = [](char op) {
    return MakeFunc(
        [op](Args a) -> Result<Value> {
          TRY_INT(x, a[0]);
          TRY_INT(y, a[1]);
          switch (op) {
            case '+':
              return Value(
                  static_cast<int64_t>(static_cast<uint64_t>(x) + static_cast<uint64_t>(y)));
            case '-':
              return Value(
                  static_cast<int64_t>(static_cast<uint64_t>(x) - static_cast<uint64_t>(y)));
            case '*':
              return Value(
                  static_cast<int64_t>(static_cast<uint64_t>(x) * static_cast<uint64_t>(y)));
            default:
              if (y == 0) return Bad("runtime error: integer divide by zero");
              if (y == -1)
                return Value(op == '/' ? static_cast<int64_t>(0 - static_cast<uint64_t>(x))
                                       : int64_t{0});
              return Value(op == '/' ? x / y : x % y);
          }
        },
        2, 2);
  };
  m["add"] = arith('+');
  m["sub"] = arith('-');
  m["mul"] = arith('*');
  m["div"] = arith('/');
  m["mod"] = arith('%');

  // ---- lists ----
  m["reverse"] = MakeFunc(
      [](Args a) -> Result<Value> {
        if (!a[0].is_list()) return a[0];
        List l = a[0].as_list();
        std::reverse(l.begin(), l.end());
        return Value(std::move(l));
      },
      1, 1);
  m["sortByLength"] = MakeFunc(
      [](Args a) -> Result<Value> {
        if (!a[0].is_list())
          return Bad("wrong type for value; expected []string; got " + a[0].TypeName());
        List l = a[0].as_list();
        for (const auto& e : l)
          if (!e.is_string())
            return Bad("wrong type for value; expected []string; got []interface {}");
        std::stable_sort(l.begin(), l.end(), [](const Value& x, const Value& y) {
          return x.as_string().size() < y.as_string().size();
        });
        return Value(std::move(l));
      },
      1, 1);
  m["sortKVByLength"] = MakeFunc(
      [](Args a) -> Result<Value> {
        if (!a[0].is_list())
          return Bad("wrong type for value; expected memkv.KVPairs; got " + a[0].TypeName());
        List l = a[0].as_list();
        for (const auto& e : l)
          if (!AsKV(e))
            return Bad("wrong type for value; expected memkv.KVPairs; got []interface {}");
        std::stable_sort(l.begin(), l.end(), [](const Value& x, const Value& y) {
          return AsKV(x)->key().as_string().size() < AsKV(y)->key().as_string().size();
        });
        return Value(std::move(l));
      },
      1, 1);

  // ---- the host ----
  m["datetime"] = MakeFunc(
      [](Args) -> Result<Value> {
        return Value(std::shared_ptr<const tmpl::Object>(std::make_shared<GoTime>(GoTime::Now())));
      },
      0, 0);
  m["getenv"] = MakeFunc(
      [](Args a) -> Result<Value> {
        TRY_STR(k, a[0]);
        const char* v = std::getenv(k.c_str());
        if (!v || !*v) {
          if (a.size() > 1) return a[1];
          return Value("");
        }
        return Value(v);
      },
      1, 2);
  m["fileExists"] = MakeFunc(
      [](Args a) -> Result<Value> {
        TRY_STR(p, a[0]);
        struct stat st;
        // Go's IsFileExist: anything but "does not exist" counts as existing.
        return Value(!(::stat(p.c_str(), &st) != 0 && errno == ENOENT));
      },
      1, 1);
  m["lookupIP"] = MakeFunc(
      [](Args a) -> Result<Value> {
        TRY_STR(h, a[0]);
        return LookupIP(h);
      },
      1, 1);
  m["lookupSRV"] = MakeFunc(
      [](Args a) -> Result<Value> {
        TRY_STR(s, a[0]);
        TRY_STR(p, a[1]);
        TRY_STR(n, a[2]);
        return LookupSRV(s, p, n);
      },
      3, 3);
  return m;
}

}  // namespace berth::confd
