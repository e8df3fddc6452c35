#include "runtime/watch_loop.h"

namespace berth::runtime {

WatchLoop::WatchLoop(Body body) {
  thread_ = std::thread([this, body = std::move(body)] { body(*this); });
}

WatchLoop::~WatchLoop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool WatchLoop::Sleep(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> l(mu_);
  return !cv_.wait_for(l, d, [this] { return stopping_.load(); });
}

}  // namespace berth::runtime
