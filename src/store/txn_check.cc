#include "store/txn_check.h"

#include <set>
#include <string>

namespace berth::store {

Status ValidateKey(std::string_view key) {
  if (key.empty()) return Fail(ErrorCode::kInvalidArgument, "store key must not be empty");
  return {};
}

Status ValidateTxn(const Txn& txn) {
  for (const auto& c : txn.compares) {
    if (auto st = ValidateKey(c.key); !st) return st;
    if (c.mod_revision < 0) {
      return Fail(ErrorCode::kInvalidArgument,
                  "compare on " + c.key + ": negative revision " + std::to_string(c.mod_revision));
    }
  }
  std::set<std::string_view> seen;
  for (const auto& op : txn.ops) {
    if (auto st = ValidateKey(op.key); !st) return st;
    if (!seen.insert(op.key).second) {
      return Fail(ErrorCode::kInvalidArgument, "key " + op.key + " appears twice in one txn");
    }
  }
  return {};
}

std::string ConflictMessage(const std::string& key, int64_t want, int64_t have) {
  if (want == 0) {
    return "key " + key + " already exists (mod_revision " + std::to_string(have) + ")";
  }
  if (have == 0) {
    return "key " + key + " does not exist (expected mod_revision " + std::to_string(want) + ")";
  }
  return "key " + key + " was modified (mod_revision " + std::to_string(have) + ", expected " +
         std::to_string(want) + ")";
}

}  // namespace berth::store
