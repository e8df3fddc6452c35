#include "template/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace berth::tmpl {

Value::Value(std::string s) : kind_(Kind::kString) {
  ptr_ = std::make_shared<const std::string>(std::move(s));
}
Value::Value(List l) : kind_(Kind::kList) {
  ptr_ = std::make_shared<const List>(std::move(l));
}
Value::Value(Map m) : kind_(Kind::kMap) {
  ptr_ = std::make_shared<const Map>(std::move(m));
}
Value::Value(std::shared_ptr<const Function> f) : kind_(Kind::kFunc) {
  if (!f) kind_ = Kind::kNil;
  ptr_ = std::move(f);
}
Value::Value(std::shared_ptr<const Object> o) : kind_(Kind::kObject) {
  if (!o) kind_ = Kind::kNil;
  ptr_ = std::move(o);
}

const std::string& Value::as_string() const {
  return *static_cast<const std::string*>(ptr_.get());
}
const List& Value::as_list() const {
  return *static_cast<const List*>(ptr_.get());
}
const Map& Value::as_map() const {
  return *static_cast<const Map*>(ptr_.get());
}
const Function& Value::as_func() const {
  return *static_cast<const Function*>(ptr_.get());
}
const Object& Value::as_object() const {
  return *static_cast<const Object*>(ptr_.get());
}

bool Value::Truth() const {
  switch (kind_) {
    case Kind::kMissing:
    case Kind::kNil:
      return false;
    case Kind::kBool:
      return u_.b;
    case Kind::kInt:
      return u_.i != 0;
    case Kind::kFloat:
      return u_.d != 0;
    case Kind::kString:
      return !as_string().empty();
    case Kind::kList:
      return !as_list().empty();
    case Kind::kMap:
      return !as_map().empty();
    case Kind::kFunc:
    case Kind::kObject:
      return true;
  }
  return false;
}

void AppendGoFloat(std::string& out, double d, char fmt, int prec) {
  if (std::isnan(d)) {
    out += "NaN";
    return;
  }
  if (std::isinf(d)) {
    out += d > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[512];
  if (fmt == 'g' && prec < 0) {
    // fmt's %v is strconv.FormatFloat(d, 'g', -1, 64): shortest digits, and exponent form when
    // exp < -4 || exp >= 6 (so 1e6 prints "1e+06", as in Go).
    auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    std::string_view sci(buf, r.ptr - buf);
    size_t epos = sci.find('e');
    int exp = std::atoi(std::string(sci.substr(epos + 1)).c_str());
    if (exp < -4 || exp >= 6) {
      // Go writes at least two exponent digits, like C.
      out.append(sci.substr(0, epos));
      out += 'e';
      out += exp < 0 ? '-' : '+';
      int a = std::abs(exp);
      if (a < 10) out += '0';
      out += std::to_string(a);
      return;
    }
    auto f = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed);
    out.append(buf, f.ptr - buf);
    return;
  }
  if (prec < 0) {
    std::chars_format cf =
        fmt == 'e' || fmt == 'E' ? std::chars_format::scientific : std::chars_format::fixed;
    auto r = std::to_chars(buf, buf + sizeof buf, d, cf);
    std::string s(buf, r.ptr - buf);
    if (fmt == 'E') std::transform(s.begin(), s.end(), s.begin(), ::toupper);
    out += s;
    return;
  }
  char f[8] = {'%', '.', '*', fmt, 0};
  int n = std::snprintf(buf, sizeof buf, f, prec, d);
  if (n > 0) out.append(buf, std::min<size_t>(n, sizeof buf - 1));
}

void Value::AppendTo(std::string& out) const {
  switch (kind_) {
    case Kind::kMissing:  // an action prints "<no value>" for it; fmt prints "<nil>"
    case Kind::kNil:
      out += "<nil>";
      return;
    case Kind::kBool:
      out += u_.b ? "true" : "false";
      return;
    case Kind::kInt: {
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof buf, u_.i);
      out.append(buf, r.ptr - buf);
      return;
    }
    case Kind::kFloat:
      AppendGoFloat(out, u_.d);
      return;
    case Kind::kString:
      out += as_string();
      return;
    case Kind::kList: {
      out += '[';
      bool first = true;
      for (const auto& v : as_list()) {
        if (!first) out += ' ';
        first = false;
        v.AppendTo(out);
      }
      out += ']';
      return;
    }
    case Kind::kMap: {
      out += "map[";
      bool first = true;
      for (const auto& [k, v] : as_map().entries()) {
        if (!first) out += ' ';
        first = false;
        out += k;
        out += ':';
        v.AppendTo(out);
      }
      out += ']';
      return;
    }
    case Kind::kFunc:
      out += "<func>";
      return;
    case Kind::kObject:
      out += as_object().String();
      return;
  }
}

std::string Value::TypeName() const {
  switch (kind_) {
    case Kind::kMissing:
      return "<invalid>";
    case Kind::kNil:
      return "nil";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float64";
    case Kind::kString:
      return "string";
    case Kind::kList:
      return "[]interface {}";
    case Kind::kMap:
      return "map[string]interface {}";
    case Kind::kFunc:
      return "func";
    case Kind::kObject:
      return as_object().TypeName();
  }
  return "?";
}

Result<Value> Value::Field(std::string_view name) const {
  switch (kind_) {
    case Kind::kMap: {
      const Value* v = as_map().Find(name);
      return v ? *v : Value();
    }
    case Kind::kObject:
      return as_object().Member(name, {});
    case Kind::kMissing:
      return Value();  // Go: a field of a missing value is missing too
    case Kind::kNil:
      return Fail(ErrorCode::kInvalidArgument,
                  "nil pointer evaluating interface {}." + std::string(name));
    default:
      return Fail(ErrorCode::kInvalidArgument,
                  "can't evaluate field " + std::string(name) + " in type " + TypeName());
  }
}

namespace {
// Deep nesting is refused: conversion and destruction recurse once per level.
constexpr int kMaxJsonDepth = 256;

Value FromJsonNode(const nlohmann::json& j, int depth) {
  if (depth > kMaxJsonDepth) throw std::runtime_error("json: nested too deeply");
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      return Value::Nil();
    case nlohmann::json::value_t::boolean:
      return Value(j.get<bool>());
    case nlohmann::json::value_t::number_integer:
      return Value(j.get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      uint64_t u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return Value(static_cast<double>(u));
      return Value(static_cast<int64_t>(u));
    }
    case nlohmann::json::value_t::number_float:
      return Value(j.get<double>());
    case nlohmann::json::value_t::string:
      return Value(j.get_ref<const std::string&>());
    case nlohmann::json::value_t::array: {
      List l;
      l.reserve(j.size());
      for (const auto& e : j) l.push_back(FromJsonNode(e, depth + 1));
      return Value(std::move(l));
    }
    case nlohmann::json::value_t::object: {
      std::vector<Map::Entry> es;
      es.reserve(j.size());
      for (auto it = j.begin(); it != j.end(); ++it)
        es.emplace_back(it.key(), FromJsonNode(*it, depth + 1));
      return Value(Map(std::move(es)));
    }
    default:
      return Value::Nil();
  }
}
}  // namespace

Result<Value> Value::FromJson(std::string_view text) {
  try {
    return FromJsonNode(nlohmann::json::parse(text), 0);
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInvalidArgument, e.what());
  }
}

Map::Map(std::vector<Entry> entries) : entries_(std::move(entries)) {
  if (std::is_sorted(entries_.begin(), entries_.end(),
                     [](const Entry& a, const Entry& b) { return a.first < b.first; })) {
    // Fast path (nlohmann objects are already sorted); still drop duplicates below.
  } else {
    std::stable_sort(entries_.begin(), entries_.end(),
                     [](const Entry& a, const Entry& b) { return a.first < b.first; });
  }
  // Keep the last of equal keys.
  std::vector<Entry> out;
  out.reserve(entries_.size());
  for (auto& e : entries_) {
    if (!out.empty() && out.back().first == e.first) {
      out.back().second = std::move(e.second);
    } else {
      out.push_back(std::move(e));
    }
  }
  entries_ = std::move(out);
}

const Value* Map::Find(std::string_view key) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), key,
                             [](const Entry& e, std::string_view k) { return e.first < k; });
  if (it == entries_.end() || it->first != key) return nullptr;
  return &it->second;
}

}  // namespace berth::tmpl
