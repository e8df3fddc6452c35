#include "confd/memkv.h"

#include <algorithm>
#include <set>

namespace berth::confd {

using tmpl::Value;

std::string CleanPath(std::string_view p) {
  if (p.empty()) return ".";
  bool rooted = p[0] == '/';
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    std::string_view seg = p.substr(i, j - i);
    if (seg.empty() || seg == ".") {
    } else if (seg == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!rooted) {
        parts.push_back(seg);
      }
    } else {
      parts.push_back(seg);
    }
    i = j + 1;
  }
  std::string out = rooted ? "/" : "";
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k) out += '/';
    out += parts[k];
  }
  return out.empty() ? "." : out;
}

std::string PathBase(std::string_view p) {
  if (p.empty()) return ".";
  while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
  if (p == "/") return "/";
  size_t i = p.rfind('/');
  return std::string(i == std::string_view::npos ? p : p.substr(i + 1));
}

std::string PathDir(std::string_view p) {
  size_t i = p.rfind('/');
  return CleanPath(i == std::string_view::npos ? std::string_view() : p.substr(0, i + 1));
}

std::string JoinPath(std::string_view a, std::string_view b) {
  if (a.empty() && b.empty()) return "";
  if (a.empty()) return CleanPath(b);
  if (b.empty()) return CleanPath(a);
  return CleanPath(std::string(a) + "/" + std::string(b));
}

namespace {

tl::unexpected<Error> BadPattern() {
  return Fail(ErrorCode::kInvalidArgument, "syntax error in pattern");
}

// Matches one character class starting after '['; sets *end past ']'.
Result<bool> MatchClass(std::string_view pat, size_t* i, char c) {
  bool negate = false;
  if (*i < pat.size() && pat[*i] == '^') {
    negate = true;
    ++*i;
  }
  bool matched = false;
  int n = 0;
  while (true) {
    if (*i >= pat.size()) return BadPattern();
    if (pat[*i] == ']' && n > 0) {
      ++*i;
      break;
    }
    auto read = [&](char* out) -> bool {
      if (*i >= pat.size()) return false;
      if (pat[*i] == '\\') {
        ++*i;
        if (*i >= pat.size()) return false;
      } else if (pat[*i] == '-' || pat[*i] == ']') {
        return false;
      }
      *out = pat[(*i)++];
      return true;
    };
    char lo, hi;
    if (!read(&lo)) return BadPattern();
    hi = lo;
    if (*i < pat.size() && pat[*i] == '-') {
      ++*i;
      if (!read(&hi)) return BadPattern();
    }
    if (lo <= c && c <= hi) matched = true;
    ++n;
  }
  return matched != negate;
}

Result<bool> MatchFrom(std::string_view pat, size_t pi, std::string_view name, size_t ni) {
  while (pi < pat.size()) {
    char pc = pat[pi];
    if (pc == '*') {
      while (pi < pat.size() && pat[pi] == '*') ++pi;
      if (pi == pat.size()) return name.find('/', ni) == std::string_view::npos;
      for (size_t k = ni; k <= name.size(); ++k) {
        auto r = MatchFrom(pat, pi, name, k);
        if (!r) return r;
        if (*r) return true;
        if (k < name.size() && name[k] == '/') break;
      }
      return false;
    }
    if (ni >= name.size()) {
      // Still check the rest of the pattern is well-formed, as Go does.
      if (pc == '[' && pat.find(']', pi) == std::string_view::npos) return BadPattern();
      return false;
    }
    char c = name[ni];
    if (pc == '?') {
      if (c == '/') return false;
      ++pi;
      ++ni;
    } else if (pc == '[') {
      ++pi;
      auto r = MatchClass(pat, &pi, c);
      if (!r) return r;
      if (!*r || c == '/') return false;
      ++ni;
    } else {
      if (pc == '\\') {
        if (++pi >= pat.size()) return BadPattern();
        pc = pat[pi];
      }
      if (pc != c) return false;
      ++pi;
      ++ni;
    }
  }
  return ni == name.size();
}

std::vector<std::string> Terms(std::string_view p) {
  std::string c = CleanPath(p);
  std::vector<std::string> out;
  size_t i = 0;
  while (true) {
    size_t j = c.find('/', i);
    out.push_back(c.substr(i, j == std::string::npos ? std::string::npos : j - i));
    if (j == std::string::npos) break;
    i = j + 1;
  }
  return out;
}

bool SamePrefixTerms(const std::vector<std::string>& prefix, const std::vector<std::string>& t) {
  if (t.size() < prefix.size()) return false;
  return std::equal(prefix.begin(), prefix.end(), t.begin());
}

Value ToList(const std::set<std::string>& s) {
  tmpl::List l;
  l.reserve(s.size());
  for (const auto& e : s) l.emplace_back(e);
  return Value(std::move(l));
}

}  // namespace

Result<bool> PathMatch(std::string_view pattern, std::string_view name) {
  // Go reports a malformed pattern even when the name fails to match early.
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\') {
      if (++i >= pattern.size()) return BadPattern();
    } else if (pattern[i] == '[') {
      ++i;
      auto r = MatchClass(pattern, &i, '\0');
      if (!r) return r;
      --i;
    }
  }
  return MatchFrom(pattern, 0, name, 0);
}

std::string KVPair::String() const {
  return "{" + key_.ToString() + " " + value_.ToString() + "}";
}

Result<Value> KVPair::Member(std::string_view name, std::span<const Value>) const {
  if (name == "Key") return key_;
  if (name == "Value") return value_;
  return Fail(ErrorCode::kInvalidArgument,
              "can't evaluate field " + std::string(name) + " in type memkv.KVPair");
}

void KVStore::Set(std::string key, std::string value) {
  Value pair(std::make_shared<const KVPair>(Value(key), Value(std::move(value))));
  kvs_.insert_or_assign(std::move(key), std::move(pair));
}

void KVStore::Replace(std::map<std::string, std::string> values) {
  std::map<std::string, Value, std::less<>> next;
  for (auto& [k, v] : values) {
    auto it = kvs_.find(k);
    if (it != kvs_.end() &&
        static_cast<const KVPair&>(it->second.as_object()).value().as_string() == v) {
      next.emplace(k, it->second);
      continue;
    }
    next.emplace(k, Value(std::make_shared<const KVPair>(Value(k), Value(std::move(v)))));
  }
  kvs_ = std::move(next);
}

Result<Value> KVStore::Get(std::string_view key) const {
  auto it = kvs_.find(key);
  if (it == kvs_.end()) {
    return Fail(ErrorCode::kNotFound, "key does not exist: " + std::string(key));
  }
  return it->second;
}

Result<Value> KVStore::GetValue(std::string_view key, const std::string* def) const {
  auto it = kvs_.find(key);
  if (it == kvs_.end()) {
    if (def) return Value(*def);
    return Fail(ErrorCode::kNotFound, "key does not exist: " + std::string(key));
  }
  return static_cast<const KVPair&>(it->second.as_object()).value();
}

template <typename F>
Status KVStore::ForMatches(std::string_view pattern, F&& f) const {
  // A malformed pattern must fail even when nothing shares its prefix.
  if (auto m = PathMatch(pattern, ""); !m) return tl::unexpected(m.error());
  size_t meta = pattern.find_first_of("*?[\\");
  std::string_view lit = pattern.substr(0, meta);
  for (auto it = kvs_.lower_bound(lit); it != kvs_.end(); ++it) {
    if (it->first.compare(0, lit.size(), lit) != 0) break;
    auto m = PathMatch(pattern, it->first);
    if (!m) return tl::unexpected(m.error());
    if (*m) f(static_cast<const KVPair&>(it->second.as_object()), it->second);
  }
  return {};
}

Result<Value> KVStore::GetAll(std::string_view pattern) const {
  tmpl::List l;
  auto st = ForMatches(pattern, [&](const KVPair&, const Value& pair) { l.push_back(pair); });
  if (!st) return tl::unexpected(st.error());
  return Value(std::move(l));  // std::map order is key order
}

Result<Value> KVStore::GetAllValues(std::string_view pattern) const {
  tmpl::List l;
  auto st = ForMatches(pattern, [&](const KVPair& kv, const Value&) { l.push_back(kv.value()); });
  if (!st) return tl::unexpected(st.error());
  std::sort(l.begin(), l.end(),
            [](const Value& a, const Value& b) { return a.as_string() < b.as_string(); });
  return Value(std::move(l));
}

Value KVStore::List(std::string_view path) const {
  std::set<std::string> names;
  auto prefix = Terms(path);
  std::string clean = CleanPath(path);
  std::string scan = clean == "/" ? "" : clean;
  for (auto it = kvs_.lower_bound(scan); it != kvs_.end(); ++it) {
    const std::string& key = it->first;
    if (key.compare(0, scan.size(), scan) != 0) break;
    if (key == path) {
      names.insert(PathBase(key));
      continue;
    }
    if (SamePrefixTerms(prefix, Terms(PathDir(key)))) {
      std::string_view rest = key;
      if (rest.substr(0, path.size()) == path) rest.remove_prefix(path.size());
      if (!rest.empty() && rest[0] == '/') rest.remove_prefix(1);
      names.insert(std::string(rest.substr(0, rest.find('/'))));
    }
  }
  return ToList(names);
}

Value KVStore::ListDir(std::string_view path) const {
  std::set<std::string> names;
  auto prefix = Terms(path);
  for (auto it = kvs_.lower_bound(path); it != kvs_.end(); ++it) {
    const std::string& key = it->first;
    if (key.compare(0, path.size(), path) != 0) break;
    auto items = Terms(PathDir(key));
    if (SamePrefixTerms(prefix, items) && items.size() > prefix.size()) {
      names.insert(items[prefix.size()]);
    }
  }
  return ToList(names);
}

}  // namespace berth::confd
