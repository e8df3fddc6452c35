// Strict decoding of JSON from outside (a REST body): every value of the type the field
// declares, integers whole and in range, no unknown and no duplicate field -- and an error that
// names the field's path ("ports[0].container_port: ..."), never a coerced value or a 500.
// nlohmann's get<int>() would wrap 4294967376 to 80, truncate 80.5 to 80 and throw on a string
// where an object was expected; these helpers check first.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/result.h"

namespace berth::util {

// Parses `text`; a syntax error or a key given twice in one object ({"a":1,"a":2}, which other
// parsers read differently) is kInvalidArgument "<what> is not valid JSON: ...".
Result<nlohmann::json> ParseStrictJson(std::string_view text, std::string_view what);

// A child's path for error messages: ("ports[0]", "name") -> "ports[0].name", ("", "image") ->
// "image", ("env", "A B") -> "env[\"A B\"]"; ("ports", 2) -> "ports[2]".
std::string JsonPath(std::string_view parent, std::string_view key);
std::string JsonPath(std::string_view parent, size_t index);

// A value for an error message: a scalar as compact JSON, ASCII only, at most ~60 characters;
// "[]", "{}", "an array" or "an object" for the others.
std::string ShowJson(const nlohmann::json& v);

// Fails unless `v` is an object whose keys are all in `known`. `path` "" is the whole body.
Status StrictObject(const nlohmann::json& v, std::string_view path,
                    std::initializer_list<std::string_view> known);
Result<std::string> StrictString(const nlohmann::json& v, std::string_view path);
// An integer literal (no fraction, no exponent) within [min, max].
Result<int64_t> StrictInt(const nlohmann::json& v, std::string_view path, int64_t min, int64_t max);
Result<bool> StrictBool(const nlohmann::json& v, std::string_view path);
Result<std::vector<std::string>> StrictStringList(const nlohmann::json& v, std::string_view path);
Result<std::map<std::string, std::string>> StrictStringMap(const nlohmann::json& v,
                                                           std::string_view path);

}  // namespace berth::util
