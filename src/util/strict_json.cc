#include "util/strict_json.h"

#include <limits>
#include <set>

namespace berth::util {

using nlohmann::json;

namespace {

Error Bad(std::string_view path, const std::string& why) {
  return Error(ErrorCode::kInvalidArgument,
               (path.empty() ? std::string("request body") : std::string(path)) + ": " + why);
}

// nlohmann's messages quote the bytes last read, which may be anything; keep them printable.
std::string Printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 300)) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

bool IsPlainKey(std::string_view k) {
  if (k.empty() || k.size() > 60) return false;
  for (char c : k)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-'))
      return false;
  return true;
}

}  // namespace

Result<json> ParseStrictJson(std::string_view text, std::string_view what) {
  // One set of keys per open object; an object's keys are checked as the parser meets them.
  std::vector<std::set<std::string>> open;
  std::string duplicate;
  json::parser_callback_t cb = [&](int, json::parse_event_t ev, json& parsed) {
    switch (ev) {
      case json::parse_event_t::object_start:
        open.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!open.empty()) open.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open.empty() && !open.back().insert(parsed.get<std::string>()).second &&
            duplicate.empty())
          duplicate = parsed.get<std::string>();
        break;
      default:
        break;
    }
    return true;
  };
  json j;
  try {
    j = json::parse(text.begin(), text.end(), cb);
  } catch (const json::exception& e) {
    return Fail(ErrorCode::kInvalidArgument,
                std::string(what) + " is not valid JSON: " + Printable(e.what()));
  }
  if (!duplicate.empty())
    return Fail(ErrorCode::kInvalidArgument, std::string(what) + " is not valid JSON: field " +
                                                 ShowJson(duplicate) + " is given twice");
  return j;
}

std::string JsonPath(std::string_view parent, std::string_view key) {
  if (!IsPlainKey(key)) return std::string(parent) + "[" + ShowJson(json(std::string(key))) + "]";
  return parent.empty() ? std::string(key) : std::string(parent) + "." + std::string(key);
}

std::string JsonPath(std::string_view parent, size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

std::string ShowJson(const json& v) {
  // Structured values are named, not dumped: dump() recurses once per nesting level.
  if (v.is_array()) return v.empty() ? "[]" : "an array";
  if (v.is_object()) return v.empty() ? "{}" : "an object";
  std::string s = v.dump(-1, ' ', /*ensure_ascii=*/true, json::error_handler_t::replace);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

Status StrictObject(const json& v, std::string_view path,
                    std::initializer_list<std::string_view> known) {
  if (!v.is_object()) return Fail(Bad(path, "must be a JSON object, got " + ShowJson(v)));
  for (const auto& [k, unused] : v.items()) {
    bool ok = false;
    for (auto name : known) ok = ok || k == name;
    if (!ok) {
      std::string field = "unknown field " + ShowJson(json(k));
      if (path.empty()) return Fail(ErrorCode::kInvalidArgument, field);
      return Fail(Bad(path, field));
    }
  }
  return {};
}

Result<std::string> StrictString(const json& v, std::string_view path) {
  if (!v.is_string()) return Fail(Bad(path, "must be a string, got " + ShowJson(v)));
  return v.get<std::string>();
}

Result<int64_t> StrictInt(const json& v, std::string_view path, int64_t min, int64_t max) {
  const std::string range = max == std::numeric_limits<int64_t>::max()
                                ? ">= " + std::to_string(min)
                                : "in " + std::to_string(min) + ".." + std::to_string(max);
  // Non-negative literals parse as unsigned, negative ones as signed; anything with a fraction,
  // an exponent or beyond 64 bits as a double, which is never taken for an integer.
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (min > 0 && u < static_cast<uint64_t>(min))
      return Fail(Bad(path, std::to_string(u) + " is out of range (must be " + range + ")"));
    if (max < 0 || u > static_cast<uint64_t>(max))
      return Fail(Bad(path, std::to_string(u) + " is out of range (must be " + range + ")"));
    return static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) {
    int64_t i = v.get<int64_t>();
    if (i < min || i > max)
      return Fail(Bad(path, std::to_string(i) + " is out of range (must be " + range + ")"));
    return i;
  }
  return Fail(Bad(path, "must be an integer " + range + ", got " + ShowJson(v)));
}

Result<bool> StrictBool(const json& v, std::string_view path) {
  if (!v.is_boolean()) return Fail(Bad(path, "must be true or false, got " + ShowJson(v)));
  return v.get<bool>();
}

Result<std::vector<std::string>> StrictStringList(const json& v, std::string_view path) {
  if (!v.is_array()) return Fail(Bad(path, "must be an array of strings, got " + ShowJson(v)));
  std::vector<std::string> out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    auto s = StrictString(v[i], JsonPath(path, i));
    if (!s) return Fail(s.error());
    out.push_back(std::move(*s));
  }
  return out;
}

Result<std::map<std::string, std::string>> StrictStringMap(const json& v, std::string_view path) {
  if (!v.is_object()) return Fail(Bad(path, "must be an object of strings, got " + ShowJson(v)));
  std::map<std::string, std::string> out;
  for (const auto& [k, val] : v.items()) {
    auto s = StrictString(val, JsonPath(path, k));
    if (!s) return Fail(s.error());
    out.emplace(k, std::move(*s));
  }
  return out;
}

}  // namespace berth::util
