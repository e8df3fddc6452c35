// The installation's identity: an id generated once into the store, so every replica on one
// store agrees on it, and the workloads of an earlier release adopted when it was made. Every
// workload, volume and route Berth creates carries the id, and nothing carrying another id is
// ever changed or removed (docs/architecture.md, "Ownership").
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "berth/result.h"
#include "berth/runtime.h"
#include "berth/store.h"

namespace berth::controller {

struct Installation {
  std::string id;  // 16 lowercase hex digits
  std::string created_at;
  // Workload ids (runtime::OwnedWorkload::id) of unlabelled workloads adopted at creation.
  std::set<std::string> adopted;

  runtime::Ownership ownership() const { return {id, adopted}; }
};

// 16 lowercase hex digits from the OS's random source.
Result<std::string> NewInstallationId();
// True for 16 lowercase hex digits.
bool IsInstallationId(std::string_view id);
std::string SerializeInstallation(const Installation& inst);
Result<Installation> ParseInstallation(std::string_view json);

// Reads the store's installation; on the store's first start makes it: a new id and, when the
// store already holds specs (written by a release before installation ids), the adoption of
// the unlabelled managed-by=berth workloads whose spec it holds — those were its own. Written
// create-if-absent: replicas starting together all return the one that won. Needs the engine
// only for that adoption (an error then: retry when the engine answers).
Result<Installation> EnsureInstallation(store::Store& store, runtime::Runtime& runtime);

}  // namespace berth::controller
