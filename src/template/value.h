// The value model of the Go-template engine: the JSON-like data a template sees. Scalars are held
// inline; strings, lists, maps and functions are immutable and shared by reference count, so
// passing `.` or a map entry around never deep-copies.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "berth/result.h"

namespace berth::tmpl {

class Value;
class Map;
class Object;
using List = std::vector<Value>;

// A callable: evaluated arguments in, one value or an error out.
struct Function {
  std::function<Result<Value>(std::span<const Value>)> fn;
  int min_args = 0;
  int max_args = -1;  // -1: variadic
};

class Value {
 public:
  // kMissing is Go's "invalid value": a missing map key. It prints "<no value>"; kNil prints
  // "<nil>".
  enum class Kind : uint8_t {
    kMissing,
    kNil,
    kBool,
    kInt,
    kFloat,
    kString,
    kList,
    kMap,
    kFunc,
    kObject
  };

  Value() = default;
  static Value Nil() {
    Value v;
    v.kind_ = Kind::kNil;
    return v;
  }
  Value(bool b) : kind_(Kind::kBool) { u_.b = b; }      // NOLINT: implicit on purpose
  Value(int v) : kind_(Kind::kInt) { u_.i = v; }        // NOLINT
  Value(int64_t v) : kind_(Kind::kInt) { u_.i = v; }    // NOLINT
  Value(double v) : kind_(Kind::kFloat) { u_.d = v; }   // NOLINT
  Value(std::string s);                                 // NOLINT
  Value(std::string_view s) : Value(std::string(s)) {}  // NOLINT
  Value(const char* s) : Value(std::string(s)) {}       // NOLINT
  Value(List l);                                        // NOLINT
  Value(Map m);                                         // NOLINT
  Value(std::shared_ptr<const Function> f);             // NOLINT
  Value(std::shared_ptr<const Object> o);               // NOLINT

  Kind kind() const { return kind_; }
  bool is_missing() const { return kind_ == Kind::kMissing; }
  bool is_nil() const { return kind_ == Kind::kNil || kind_ == Kind::kMissing; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_float() const { return kind_ == Kind::kFloat; }
  bool is_number() const { return kind_ == Kind::kInt || kind_ == Kind::kFloat; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_map() const { return kind_ == Kind::kMap; }
  bool is_func() const { return kind_ == Kind::kFunc; }
  bool is_object() const { return kind_ == Kind::kObject; }

  bool as_bool() const { return u_.b; }
  int64_t as_int() const { return u_.i; }
  double as_float() const { return u_.d; }
  double as_number() const { return kind_ == Kind::kInt ? static_cast<double>(u_.i) : u_.d; }
  const std::string& as_string() const;
  const List& as_list() const;
  const Map& as_map() const;
  const Function& as_func() const;
  const Object& as_object() const;

  // Go's truth: false, 0, nil, and empty strings, lists and maps are false.
  bool Truth() const;
  // fmt.Sprint of the value, appended to out.
  void AppendTo(std::string& out) const;
  std::string ToString() const {
    std::string s;
    AppendTo(s);
    return s;
  }
  // The Go type name used in error messages ("string", "int", "map[string]interface {}").
  std::string TypeName() const;

  // Field access: map key (kMissing when absent) or object field.
  Result<Value> Field(std::string_view name) const;

  // How many Values share this one's string/list/map (0 for scalars); caches use it to tell
  // whether anyone else still holds an entry.
  long shares() const { return ptr_.use_count(); }

  // Converts parsed JSON text; integers stay integers (Go would make them float64).
  static Result<Value> FromJson(std::string_view text);

 private:
  Kind kind_ = Kind::kMissing;
  union {
    bool b;
    int64_t i;
    double d;
  } u_{};
  std::shared_ptr<const void> ptr_;  // string, List, Map, Function or Object
};

// A string-keyed map kept sorted by key: Go ranges over maps in key order, and lookups are
// binary searches.
class Map {
 public:
  using Entry = std::pair<std::string, Value>;
  Map() = default;
  // Sorts; on duplicate keys the last one wins.
  explicit Map(std::vector<Entry> entries);
  const Value* Find(std::string_view key) const;
  const std::vector<Entry>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

 private:
  std::vector<Entry> entries_;
};

// A Go value with fields and methods (time.Time for confd's datetime, net.SRV records).
class Object {
 public:
  virtual ~Object() = default;
  virtual std::string TypeName() const = 0;
  virtual std::string String() const = 0;
  // A field or a method call (args empty for a field).
  virtual Result<Value> Member(std::string_view name, std::span<const Value> args) const = 0;
  virtual bool IsMethod(std::string_view name) const = 0;
};

// Go's %v formatting of a float64.
void AppendGoFloat(std::string& out, double d, char fmt = 'g', int prec = -1);

}  // namespace berth::tmpl
