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

// Exponential backoff for reconnects: 500 ms doubling to 30 s; Reset() after a success.
class Backoff {
 public:
  std::chrono::milliseconds Next() {
    auto d = next_;
    next_ = std::min(next_ * 2, std::chrono::milliseconds(30000));
    return d;
  }
  void Reset() { next_ = std::chrono::milliseconds(500); }

 private:
  std::chrono::milliseconds next_{500};
};

}  // namespace berth::runtime
