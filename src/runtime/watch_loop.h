// The thread behind a runtime's change feed: runs `body` until the loop is destroyed. The body
// passes stopping() to its requests as their cancel flag and waits with Sleep(), so stopping is
// prompt even in the middle of an idle stream or a backoff.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "berth/runtime.h"
#include "util/backoff.h"

namespace berth::runtime {

class WatchLoop : public ChangeWatch {
 public:
  using Body = std::function<void(WatchLoop&)>;
  explicit WatchLoop(Body body);
  ~WatchLoop() override;
  WatchLoop(const WatchLoop&) = delete;
  WatchLoop& operator=(const WatchLoop&) = delete;

  const std::atomic<bool>& stopping() const { return stopping_; }
  // Waits `d` or until stopped; false when stopped.
  bool Sleep(std::chrono::milliseconds d);

 private:
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
};

}  // namespace berth::runtime
