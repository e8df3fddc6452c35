// Prefix ranges the way etcd defines them: [prefix, PrefixEnd(prefix)).
#pragma once

#include <string>
#include <string_view>

namespace berth::store {

// The smallest key greater than every key starting with `prefix`: the last byte below 0xff
// incremented and the rest dropped. "" when there is none (empty or all-0xff prefix), which
// means "to the end of the keyspace".
std::string PrefixEnd(std::string_view prefix);

// True if `key` lies under `prefix` (plain byte-wise prefix test).
inline bool HasPrefix(std::string_view key, std::string_view prefix) {
  return key.substr(0, prefix.size()) == prefix;
}

}  // namespace berth::store
