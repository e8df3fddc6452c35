// Kubernetes list/watch replies as the runtime reads them: a pod list (or one pod), the
// controller object and a Service, through SummarizePods and NodePorts, and a PodMetricsList
// of the metrics API through SumPodMetrics. The API server (or a
// proxy in front of it) may send any JSON; it must map or be ignored, never throw or crash.
#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/kubernetes/pod_metrics.h"
#include "runtime/kubernetes/pod_status.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  namespace kube = berth::kube;
  std::map<std::string, nlohmann::json> pods;
  const auto& items = kube::Field(j, "items");
  if (items.is_array()) {
    for (const auto& p : items)
      pods[kube::StrField(kube::Field(p, "metadata"), "uid") + std::to_string(pods.size())] = p;
  } else {
    pods["one"] = j;
  }
  for (const auto& [uid, p] : pods) {
    (void)kube::Terminating(p);
    (void)kube::GenerationOf(p);
  }
  (void)kube::SummarizePods(pods, kube::GenerationOf(j), j);
  (void)kube::SummarizePods(pods, 1, nlohmann::json());
  (void)kube::NodePorts(j);
  if (auto sum = kube::SumPodMetrics(j); sum && (sum->cpu_cores < 0 || sum->memory_bytes < 0))
    __builtin_trap();  // quantities are never negative
  if (j.is_string()) (void)kube::CpuQuantityCores(j.get<std::string>());
  return 0;
}
