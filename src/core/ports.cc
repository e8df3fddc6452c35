#include "core/ports.h"

#include <string>

namespace berth::core {

Result<std::vector<int>> PickPorts(const PortRange& range, const std::set<int>& used, size_t count,
                                   uint64_t start) {
  if (range.min < 1 || range.max > 65535 || range.min > range.max)
    return Fail(ErrorCode::kInvalidArgument,
                "bad port range " + std::to_string(range.min) + "-" + std::to_string(range.max));
  const uint64_t span = static_cast<uint64_t>(range.max - range.min + 1);
  std::vector<int> out;
  for (uint64_t i = 0; i < span && out.size() < count; ++i) {
    int port = range.min + static_cast<int>((start + i) % span);
    if (!used.count(port)) out.push_back(port);
  }
  if (out.size() < count)
    return Fail(ErrorCode::kUnavailable, "no free host ports left in range " +
                                             std::to_string(range.min) + "-" +
                                             std::to_string(range.max));
  return out;
}

}  // namespace berth::core
