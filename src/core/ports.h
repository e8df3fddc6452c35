// Host-port allocation from a configured range. Pure logic: the caller makes the choice
// durable with a store transaction that fails if another writer took a port first.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "berth/result.h"

namespace berth::core {

struct PortRange {
  int min = 30000;
  int max = 32767;
};

// Says whether a host port is held by something outside the store (a bind probe on a local
// engine). Empty = nothing is checked.
using PortBusyFn = std::function<bool(int port)>;

// One host port moved off a port another process took: "31935 (http) -> 31877".
struct PortMove {
  std::string name;
  int from = 0;
  int to = 0;
  std::string Describe() const {
    return std::to_string(from) + " (" + name + ") -> " + std::to_string(to);
  }
};

// Picks `count` distinct free ports, scanning from `start` (wrapping), skipping `used` and the
// ports `busy` reports. Callers pass a random start so concurrent allocators rarely collide.
Result<std::vector<int>> PickPorts(const PortRange& range, const std::set<int>& used, size_t count,
                                   uint64_t start, const PortBusyFn& busy = {});

// A host port a user pins must lie in the range or on the admin's extra list: anything else
// could be a port of the host's own services (the router's listener, sshd...).
// kInvalidArgument naming the port, the range and the list.
Status CheckExplicitHostPort(const PortRange& range, const std::vector<int>& extra,
                             const std::string& port_name, int host_port);

}  // namespace berth::core
