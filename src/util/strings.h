#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace berth::util {

std::vector<std::string> Split(std::string_view s, char sep, bool skip_empty = true);
std::vector<std::string> SplitWhitespace(std::string_view s);
std::string Join(const std::vector<std::string>& parts, std::string_view sep);
std::string Trim(std::string_view s);
std::string ToLower(std::string_view s);
bool StartsWith(std::string_view s, std::string_view prefix);
bool EndsWith(std::string_view s, std::string_view suffix);
// Percent-encodes for a URL query or path segment.
std::string UrlEncode(std::string_view s);
// Decodes %XX escapes (strict: a '%' not followed by two hex digits is an error, returned as
// false). '+' stays '+': this is for URL paths, not form bodies.
bool UrlDecode(std::string_view s, std::string& out);

}  // namespace berth::util
