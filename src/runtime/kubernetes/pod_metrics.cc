#include "runtime/kubernetes/pod_metrics.h"

#include <string>

#include "berth/validate.h"
#include "runtime/kubernetes/pod_status.h"

namespace berth::kube {

Result<double> CpuQuantityCores(std::string_view q) {
  auto bad = [&] {
    return Fail(ErrorCode::kInvalidArgument,
                "CPU quantity \"" + std::string(q.substr(0, 64)) + "\" is not a number of cores");
  };
  if (q.empty() || q.size() > 64) return bad();
  double scale = 1;
  switch (q.back()) {
    case 'n':
      scale = 1e-9;
      q.remove_suffix(1);
      break;
    case 'u':
      scale = 1e-6;
      q.remove_suffix(1);
      break;
    case 'm':
      scale = 1e-3;
      q.remove_suffix(1);
      break;
    default:
      break;
  }
  double whole = 0, frac = 0, place = 1;
  bool digits = false, dot = false;
  for (char c : q) {
    if (c == '.' && !dot) {
      dot = true;
    } else if (c >= '0' && c <= '9') {
      digits = true;
      if (dot)
        frac += (c - '0') * (place /= 10);
      else
        whole = whole * 10 + (c - '0');
    } else {
      return bad();
    }
  }
  if (!digits) return bad();
  return (whole + frac) * scale;
}

Result<PodMetricsSum> SumPodMetrics(const nlohmann::json& list) {
  const auto& items = Field(list, "items");
  if (!items.is_array())
    return Fail(ErrorCode::kInternal, "the metrics API answered without an items list");
  PodMetricsSum sum;
  for (const auto& pm : items) {
    const std::string pod = StrField(Field(pm, "metadata"), "name");
    const auto& containers = Field(pm, "containers");
    if (!containers.is_array())
      return Fail(ErrorCode::kInternal, "metrics of pod " + pod + " have no containers");
    for (const auto& c : containers) {
      const auto& usage = Field(c, "usage");
      const std::string cpu = StrField(usage, "cpu");
      const std::string mem = StrField(usage, "memory");
      auto cores = CpuQuantityCores(cpu);
      if (!cores)
        return Fail(ErrorCode::kInternal, "metrics of pod " + pod + ": " + cores.error().message);
      auto bytes = MemoryToBytes(mem);
      if (!bytes)
        return Fail(ErrorCode::kInternal, "metrics of pod " + pod + ": memory quantity \"" +
                                              mem.substr(0, 64) + "\": " + bytes.error().message);
      sum.cpu_cores += *cores;
      sum.memory_bytes += *bytes;
    }
    ++sum.pods;
  }
  return sum;
}

}  // namespace berth::kube
