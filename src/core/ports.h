// Host-port allocation from a configured range. Pure logic: the caller makes the choice
// durable with a store transaction that fails if another writer took a port first.
#pragma once

#include <cstdint>
#include <set>
#include <vector>

#include "berth/result.h"

namespace berth::core {

struct PortRange {
  int min = 30000;
  int max = 32767;
};

// Picks `count` distinct free ports, scanning from `start` (wrapping), skipping `used`.
// Callers pass a random start so concurrent allocators rarely collide.
Result<std::vector<int>> PickPorts(const PortRange& range, const std::set<int>& used, size_t count,
                                   uint64_t start);

}  // namespace berth::core
