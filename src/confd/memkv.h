// The in-memory key space a confd template reads (confd's memkv): keys are absolute paths with the
// resource prefix already stripped, values are strings.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "berth/result.h"
#include "template/value.h"

namespace berth::confd {

// Go's path.Clean / path.Base / path.Dir / path.Join.
std::string CleanPath(std::string_view p);
std::string PathBase(std::string_view p);
std::string PathDir(std::string_view p);
std::string JoinPath(std::string_view a, std::string_view b);
// Go's path.Match: '*' and '?' never match '/'; classes [a-z] and [^x]; '\' escapes.
// kInvalidArgument ("syntax error in pattern") for a malformed pattern.
Result<bool> PathMatch(std::string_view pattern, std::string_view name);

// A key/value pair as templates see it: {{.Key}} and {{.Value}}; prints as "{key value}".
class KVPair : public tmpl::Object {
 public:
  KVPair(tmpl::Value key, tmpl::Value value) : key_(std::move(key)), value_(std::move(value)) {}
  std::string TypeName() const override { return "memkv.KVPair"; }
  std::string String() const override;
  Result<tmpl::Value> Member(std::string_view name,
                             std::span<const tmpl::Value> args) const override;
  bool IsMethod(std::string_view) const override { return false; }
  const tmpl::Value& key() const { return key_; }
  const tmpl::Value& value() const { return value_; }

 private:
  tmpl::Value key_;
  tmpl::Value value_;
};

class KVStore {
 public:
  void Set(std::string key, std::string value);
  // Replaces the whole key space. Pairs whose value did not change keep their identity, so
  // per-value caches (json) stay warm across passes.
  void Replace(std::map<std::string, std::string> values);
  void Purge() { kvs_.clear(); }
  size_t size() const { return kvs_.size(); }

  bool Exists(std::string_view key) const { return kvs_.find(key) != kvs_.end(); }
  // kNotFound "key does not exist: <key>".
  Result<tmpl::Value> Get(std::string_view key) const;  // a KVPair
  // Value, or the default when given, else kNotFound.
  Result<tmpl::Value> GetValue(std::string_view key, const std::string* def) const;
  Result<tmpl::Value> GetAll(std::string_view pattern) const;        // []KVPair sorted by key
  Result<tmpl::Value> GetAllValues(std::string_view pattern) const;  // []string sorted
  tmpl::Value List(std::string_view path) const;                     // sorted sub-key names
  tmpl::Value ListDir(std::string_view path) const;                  // ... that have children

 private:
  // Entries whose key starts with the pattern's literal prefix (before any glob character).
  template <typename F>
  Status ForMatches(std::string_view pattern, F&& f) const;

  // Key -> the pair, prebuilt so templates share it.
  std::map<std::string, tmpl::Value, std::less<>> kvs_;
};

}  // namespace berth::confd
