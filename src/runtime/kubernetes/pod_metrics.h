// What an environment's pods use, from the cluster's resource metrics API (metrics.k8s.io, as
// metrics-server serves it): PodMetrics objects, each a window's average per container.
#pragma once

#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "berth/result.h"

namespace berth::kube {

// The path of the PodMetrics of one Kubernetes namespace.
constexpr std::string_view kPodMetricsApi = "/apis/metrics.k8s.io/v1beta1";

struct PodMetricsSum {
  double cpu_cores = 0;      // the sum of every container's CPU rate
  int64_t memory_bytes = 0;  // the sum of every container's working set
  int pods = 0;              // PodMetrics objects summed
};

// A CPU quantity as the metrics API writes it, in cores: "123456789n", "250u", "12m", "2",
// "0.5". Linear in its input; anything else (a sign, an exponent, another suffix) is refused.
Result<double> CpuQuantityCores(std::string_view q);

// A memory quantity as the metrics API writes it, in bytes: "10240Ki", "6Mi", "0", "123456",
// "1.5Gi" (binary and decimal suffixes up to E/Ei). Linear; refused beyond 8 EiB.
Result<int64_t> MemoryQuantityBytes(std::string_view q);

// Sums a PodMetricsList's items (the pods of one environment, by label selector). A malformed
// item or quantity is an error naming it rather than a wrong sum.
Result<PodMetricsSum> SumPodMetrics(const nlohmann::json& list);

}  // namespace berth::kube
