#include "runtime/kubernetes/pod_metrics.h"

#include <limits>
#include <string>

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

Result<int64_t> MemoryQuantityBytes(std::string_view q) {
  const std::string shown(q.substr(0, 64));
  auto bad = [&] {
    return Fail(ErrorCode::kInvalidArgument, "memory quantity \"" + shown + "\" is not a size");
  };
  if (q.empty() || q.size() > 64) return bad();
  struct Unit {
    std::string_view suffix;
    double mul;
  };
  static constexpr Unit kUnits[] = {{"Ki", 0x1p10}, {"Mi", 0x1p20}, {"Gi", 0x1p30}, {"Ti", 0x1p40},
                                    {"Pi", 0x1p50}, {"Ei", 0x1p60}, {"k", 1e3},     {"M", 1e6},
                                    {"G", 1e9},     {"T", 1e12},    {"P", 1e15},    {"E", 1e18}};
  double mul = 1;
  for (const auto& u : kUnits)
    if (q.size() > u.suffix.size() && q.substr(q.size() - u.suffix.size()) == u.suffix) {
      mul = u.mul;
      q.remove_suffix(u.suffix.size());
      break;
    }
  // The same number grammar as CPU: digits with an optional fraction, no sign, no exponent.
  auto n = CpuQuantityCores(q);
  if (!n || (!q.empty() && (q.back() < '0' || q.back() > '9'))) return bad();
  const double bytes = *n * mul;
  if (bytes >= 0x1p63)
    return Fail(ErrorCode::kInvalidArgument, "memory quantity \"" + shown + "\" is beyond 8 EiB");
  return static_cast<int64_t>(bytes);
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
      auto bytes = MemoryQuantityBytes(mem);
      if (!bytes)
        return Fail(ErrorCode::kInternal, "metrics of pod " + pod + ": " + bytes.error().message);
      if (*bytes > std::numeric_limits<int64_t>::max() - sum.memory_bytes)
        return Fail(ErrorCode::kInternal, "metrics of pod " + pod + ": memory beyond 8 EiB");
      sum.cpu_cores += *cores;
      sum.memory_bytes += *bytes;
    }
    ++sum.pods;
  }
  return sum;
}

}  // namespace berth::kube
