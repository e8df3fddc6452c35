#include "core/ports.h"

#include <algorithm>
#include <string>

namespace berth::core {

Result<std::vector<int>> PickPorts(const PortRange& range, const std::set<int>& used, size_t count,
                                   uint64_t start, const PortBusyFn& busy) {
  if (range.min < 1 || range.max > 65535 || range.min > range.max)
    return Fail(ErrorCode::kInvalidArgument,
                "bad port range " + std::to_string(range.min) + "-" + std::to_string(range.max));
  const uint64_t span = static_cast<uint64_t>(range.max - range.min + 1);
  std::vector<int> out;
  size_t held = 0;
  for (uint64_t i = 0; i < span && out.size() < count; ++i) {
    int port = range.min + static_cast<int>((start + i) % span);
    if (used.count(port)) continue;
    if (busy && busy(port)) {
      ++held;
      continue;
    }
    out.push_back(port);
  }
  if (out.size() < count)
    return Fail(ErrorCode::kUnavailable,
                "no free host ports left in range " + std::to_string(range.min) + "-" +
                    std::to_string(range.max) +
                    (held ? " (" + std::to_string(held) + " held by other processes)" : ""));
  return out;
}

Status CheckExplicitHostPort(const PortRange& range, const std::vector<int>& extra,
                             const std::string& port_name, int host_port) {
  if (host_port >= range.min && host_port <= range.max) return {};
  if (std::find(extra.begin(), extra.end(), host_port) != extra.end()) return {};
  return Fail(ErrorCode::kInvalidArgument,
              "port " + port_name + ": host port " + std::to_string(host_port) +
                  " is outside the host port range " + std::to_string(range.min) + "-" +
                  std::to_string(range.max) +
                  " (environments.port_range; an admin may allow it in "
                  "environments.extra_host_ports)");
}

}  // namespace berth::core
