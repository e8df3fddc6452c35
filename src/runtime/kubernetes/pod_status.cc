#include "runtime/kubernetes/pod_status.h"

#include <set>
#include <string_view>

namespace berth::kube {
namespace {

// Container waiting reasons that will not fix themselves: the environment has failed.
const std::set<std::string> kFailedWaiting = {
    "ImagePullBackOff",           "ErrImagePull",         "CrashLoopBackOff",  "InvalidImageName",
    "CreateContainerConfigError", "CreateContainerError", "RunContainerError", "ErrImageNeverPull"};

}  // namespace

bool Terminating(const nlohmann::json& pod) {
  return pod.contains("metadata") && pod["metadata"].contains("deletionTimestamp") &&
         !pod["metadata"]["deletionTimestamp"].is_null();
}

const nlohmann::json& Field(const nlohmann::json& j, std::string_view key) {
  static const nlohmann::json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(std::string(key));
  return it == j.end() ? kNull : *it;
}

std::string StrField(const nlohmann::json& j, std::string_view key) {
  const auto& v = Field(j, key);
  return v.is_string() ? v.get<std::string>() : "";
}

int64_t GenerationOf(const nlohmann::json& obj) {
  auto v =
      StrField(Field(Field(obj, "metadata"), "labels"), std::string(runtime::kLabelGeneration));
  try {
    return v.empty() ? 0 : std::stoll(v);
  } catch (...) {
    return 0;
  }
}

PodSummary SummarizePods(const std::map<std::string, nlohmann::json>& pods, int64_t want,
                         const nlohmann::json& controller) {
  PodSummary s;
  s.all_pods = int(pods.size());
  bool have_current = false;
  std::string pending_reason, pending_message;
  for (const auto& [uid, pod] : pods) {
    if (Terminating(pod)) continue;
    ++s.live_pods;
    const auto& st = Field(pod, "status");
    std::string phase = StrField(st, "phase");
    int64_t gen = GenerationOf(pod);
    if (phase == "Running" && gen > s.running_generation) s.running_generation = gen;
    if (gen != want) continue;
    have_current = true;
    // A failing container wins over everything: that is what the user must fix.
    for (const char* key : {"initContainerStatuses", "containerStatuses"}) {
      const auto& cs = Field(st, key);
      if (!cs.is_array()) continue;
      for (const auto& c : cs) {
        const auto& waiting = Field(Field(c, "state"), "waiting");
        std::string r = StrField(waiting, "reason");
        if (kFailedWaiting.count(r)) {
          s.phase = Phase::kFailed;
          s.reason = r;
          s.message = StrField(waiting, "message");
          s.host_ip = StrField(st, "hostIP");
          return s;
        }
        if (!r.empty() && pending_reason.empty()) {
          pending_reason = r;  // ContainerCreating, PodInitializing
          pending_message = StrField(waiting, "message");
        }
      }
    }
    if (phase == "Failed") {
      s.phase = Phase::kFailed;
      s.reason = StrField(st, "reason").empty() ? "PodFailed" : StrField(st, "reason");
      s.message = StrField(st, "message");
      return s;
    }
    if (phase == "Running" && s.phase != Phase::kRunning) {
      s.phase = Phase::kRunning;
      s.host_ip = StrField(st, "hostIP");
      s.reason.clear();
      s.message.clear();
      continue;
    }
    if (phase == "Pending") {
      const auto& conds = Field(st, "conditions");
      if (conds.is_array())
        for (const auto& c : conds)
          if (StrField(c, "type") == "PodScheduled" && StrField(c, "status") == "False") {
            pending_reason =
                StrField(c, "reason").empty() ? "Unschedulable" : StrField(c, "reason");
            pending_message = StrField(c, "message");
          }
      if (pending_reason.empty()) pending_reason = "ContainerCreating";
    }
  }
  if (s.phase == Phase::kRunning) return s;
  s.phase = Phase::kPending;
  if (have_current) {
    s.reason = pending_reason.empty() ? "Pending" : pending_reason;
    s.message = pending_message;
    return s;
  }
  // No pod of this generation yet: the controller may say why (quota, admission, RBAC).
  const auto& conds = Field(Field(controller, "status"), "conditions");
  if (conds.is_array())
    for (const auto& c : conds)
      if (StrField(c, "type") == "ReplicaFailure" && StrField(c, "status") == "True") {
        s.reason = StrField(c, "reason").empty() ? "FailedCreate" : StrField(c, "reason");
        s.message = StrField(c, "message");
        return s;
      }
  s.reason = s.live_pods > 0 ? "Rollout" : "Creating";
  return s;
}

std::map<std::string, int> NodePorts(const nlohmann::json& service) {
  std::map<std::string, int> out;
  const auto& ports = Field(Field(service, "spec"), "ports");
  if (!ports.is_array()) return out;
  for (const auto& p : ports) {
    const auto& np = Field(p, "nodePort");
    if (np.is_number_integer()) out[StrField(p, "name")] = np.get<int>();
  }
  return out;
}

}  // namespace berth::kube
