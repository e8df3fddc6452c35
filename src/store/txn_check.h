// Checks shared by every Store implementation, so both backends reject the same transactions.
#pragma once

#include <cstdint>
#include <string>

#include "berth/result.h"
#include "berth/store.h"

namespace berth::store {

// Keys must be non-empty; a key may appear in at most one op (etcd refuses duplicates, and
// "put then delete the same key" has no single sensible meaning); revisions are >= 0.
Status ValidateTxn(const Txn& txn);
Status ValidateKey(std::string_view key);
// The kConflict message for a failed compare: `want` 0 = must not exist, `have` 0 = absent.
std::string ConflictMessage(const std::string& key, int64_t want, int64_t have);

}  // namespace berth::store
