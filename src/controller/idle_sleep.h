// Idle sleep: an environment that received no request through the router for its idle time
// is put to sleep (as `berth sleep` does), freeing its CPU and memory until a request or
// `berth wake` brings it back. The router counts requests per environment in nginx's shared
// memory (GET /berth/hits); nothing parses logs.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "berth/result.h"

namespace berth::controller {

struct IdleCandidate {
  std::string key;           // "ns/name", as the router counts it
  int64_t idle_seconds = 0;  // its effective idle time; <= 0 = never put to sleep
  bool awake = false;        // running now, not asleep, not being deleted
};

// Pure bookkeeping: when each environment was last seen active. Memory only, on purpose: after
// a restart every environment counts as just active, so a restart never sleeps one early.
class IdleTracker {
 public:
  using Clock = std::chrono::steady_clock;
  // One observation: the router's counters and the environments. Returns the keys that have
  // been awake with an unchanged counter for at least their idle time.
  std::vector<std::string> Observe(Clock::time_point now,
                                   const std::map<std::string, int64_t>& hits,
                                   const std::vector<IdleCandidate>& envs);

 private:
  struct Seen {
    int64_t hits = -1;
    bool awake = false;
    Clock::time_point active;
  };
  std::map<std::string, Seen> seen_;
};

class IdleSleeper {
 public:
  using HitsFn = std::function<Result<std::map<std::string, int64_t>>()>;
  using ListFn = std::function<Result<std::vector<IdleCandidate>>()>;
  using SleepFn = std::function<void(const std::string& key, int64_t idle_seconds)>;

  // Looks every `interval` (a few times per shortest idle time is plenty).
  IdleSleeper(HitsFn hits, ListFn list, SleepFn sleep, std::chrono::milliseconds interval);
  ~IdleSleeper();
  IdleSleeper(const IdleSleeper&) = delete;
  IdleSleeper& operator=(const IdleSleeper&) = delete;

  void Start();
  void Stop();

 private:
  void Loop();

  HitsFn hits_;
  ListFn list_;
  SleepFn sleep_;
  std::chrono::milliseconds interval_;
  IdleTracker tracker_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

// How often to look for idle environments: a quarter of the shortest idle time, 1 s to 30 s.
std::chrono::milliseconds IdleCheckInterval(int64_t shortest_idle_seconds);

}  // namespace berth::controller
