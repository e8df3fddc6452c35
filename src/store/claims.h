// Claims: store keys that make a host port or a domain belong to one environment, first come
// first served. Port reservations (/berth/ports/<port>) and domain claims
// (/berth/domains/<domain>) hold the owner "<ns>/<name>"; they are written in the transaction
// that writes the spec and released in the one that deletes it, so no two environments can
// ever hold one, on SQLite or etcd alike.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "berth/result.h"
#include "berth/store.h"

namespace berth::store {

// Host ports reserved by any environment.
Result<std::set<int>> ReservedPorts(Store& store);

// Adds to `txn` the claims of `domains` (normalized) for `owner`, with compares that fail the
// commit if a claim appears or changes in between. kAlreadyExists "domain D is taken by O" if
// another owner holds one. A claim the owner already holds is kept.
Status ClaimDomains(Store& store, const std::string& owner, const std::vector<std::string>& domains,
                    Txn& txn);

// Adds to `txn` the deletes of every port reservation and domain claim `owner` holds.
Status ReleaseClaims(Store& store, const std::string& owner, Txn& txn);

// The domains of `domains` that `owner` holds, in order.
Result<std::vector<std::string>> OwnedDomains(Store& store, const std::string& owner,
                                              const std::vector<std::string>& domains);

// Deletes port reservations and domain claims whose owner is not in `live` (spec keys
// "<ns>/<name>"), each only while that spec is still absent.
void CollectOrphanClaims(Store& store, const std::set<std::string>& live);

struct ClaimMigration {
  int claimed = 0;    // domains claimed for environments stored without claims
  int conflicts = 0;  // environments that lost a domain to an earlier one
};

// Gives environments stored by a release without domain claims their claims: first come first
// served by created_at (then by store order). A loser keeps its spec, gets a Warning event
// "DomainTaken" naming the owner, and is not routed for that domain. Idempotent; run at
// start-up before the API accepts creates.
Result<ClaimMigration> ClaimUnclaimedDomains(Store& store);

}  // namespace berth::store
