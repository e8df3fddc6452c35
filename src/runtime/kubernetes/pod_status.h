// Derives an environment's status from its pods (and its controller's conditions): the
// phase with a reason the user can act on, the host IP, and which generation is running.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "berth/runtime.h"

namespace berth::kube {

struct PodSummary {
  Phase phase = Phase::kPending;
  std::string reason;
  std::string message;
  std::string host_ip;
  int64_t running_generation = 0;  // generation of Running pods (0 = none)
  int live_pods = 0;               // pods not being deleted
  int all_pods = 0;                // including terminating ones
};

// Reading API objects without throwing: a missing member (or a non-object) reads as null / "".
const nlohmann::json& Field(const nlohmann::json& j, std::string_view key);
std::string StrField(const nlohmann::json& j, std::string_view key);
// A pod being deleted (metadata.deletionTimestamp set).
bool Terminating(const nlohmann::json& pod);

int64_t GenerationOf(const nlohmann::json& obj);
// `pods`: uid -> Pod; `controller`: the Deployment/RC (may be null) for ReplicaFailure.
PodSummary SummarizePods(const std::map<std::string, nlohmann::json>& pods, int64_t want_generation,
                         const nlohmann::json& controller);
// NodePorts by port name from a Service.
std::map<std::string, int> NodePorts(const nlohmann::json& service);

}  // namespace berth::kube
