// Whether the container engine (or cluster API) answers: pinged in the background with a
// deadline, so `berth status`, `/readyz` and the controller see an outage and when it began.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "berth/runtime.h"

namespace berth::runtime {

struct Reachability {
  bool checked = false;    // at least one ping finished
  bool reachable = false;  // the last ping's answer
  std::string since;       // RFC 3339: when the current state began (the first ping, or a change)
  std::string error;       // the last failed ping's message
};

class ReachabilityMonitor {
 public:
  // `on_change(reachable)` runs on the pinging thread after every change (not the first ping).
  ReachabilityMonitor(Runtime& runtime, std::chrono::milliseconds interval,
                      std::chrono::milliseconds deadline,
                      std::function<void(bool reachable)> on_change = nullptr);
  ~ReachabilityMonitor();
  ReachabilityMonitor(const ReachabilityMonitor&) = delete;
  ReachabilityMonitor& operator=(const ReachabilityMonitor&) = delete;

  void Start();
  void Stop();
  // Pings now (bounded by the deadline), records the answer and returns it.
  Status Check();
  Reachability State() const;

 private:
  void Loop();

  Runtime& runtime_;
  std::chrono::milliseconds interval_;
  std::chrono::milliseconds deadline_;
  std::function<void(bool)> on_change_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  Reachability state_;
  std::mutex check_mu_;  // one ping at a time, so transitions are recorded in order
  std::thread thread_;
};

}  // namespace berth::runtime
