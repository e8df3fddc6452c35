// What the benchmarks that drive many environments at once share: elapsed seconds, and fn(i)
// for i in [0, n) on `workers` threads (as `xargs -P` would), counting failures.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <thread>
#include <vector>

#include "berth/result.h"

namespace berth::bench {

using Clock = std::chrono::steady_clock;

inline double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// The first `report` failures are printed with their index; returns how many failed.
inline int Parallel(int n, int workers, const std::function<Status(int)>& fn, int report = 5) {
  std::atomic<int> next{0}, failed{0};
  std::vector<std::thread> ts;
  for (int w = 0; w < workers; ++w)
    ts.emplace_back([&] {
      for (int i; (i = next++) < n;)
        if (auto s = fn(i); !s && ++failed <= report)
          std::fprintf(stderr, "  #%d: %s\n", i, s.error().message.c_str());
    });
  for (auto& t : ts) t.join();
  return failed;
}

}  // namespace berth::bench
