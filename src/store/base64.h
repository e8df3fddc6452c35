// Standard base64 (RFC 4648, with padding): etcd's JSON gateway carries keys and values so.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace berth::store {

std::string Base64Encode(std::string_view in);
// nullopt on a character outside the alphabet or a bad length.
std::optional<std::string> Base64Decode(std::string_view in);

}  // namespace berth::store
