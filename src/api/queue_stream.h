// A streamed HTTP body fed by a producer thread: the producer pushes chunks, the server pulls
// them. When the client goes away the stream is destroyed, which cancels and joins the producer.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "net/http_server.h"

namespace berth::api {

class QueueStream : public net::BodyStream {
 public:
  // `produce` gets a push function (false once the client is gone) and a cancel flag.
  using Producer = std::function<void(const std::function<bool(std::string)>& push,
                                      const std::atomic<bool>& cancelled)>;

  explicit QueueStream(Producer produce) {
    thread_ = std::thread([this, p = std::move(produce)] {
      p([this](std::string chunk) { return Push(std::move(chunk)); }, cancelled_);
      std::lock_guard<std::mutex> lk(mu_);
      done_ = true;
      cv_.notify_all();
    });
  }

  ~QueueStream() override {
    cancelled_ = true;
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  // Waits up to `wait` for the first chunk or the producer's end; true when the producer ended
  // without pushing anything (so the handler can still answer with an error status).
  bool EndedEmpty(std::chrono::milliseconds wait) {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait_for(lk, wait, [&] { return !q_.empty() || done_; });
    return done_ && q_.empty();
  }

  bool Next(std::string& chunk) override {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [&] { return !q_.empty() || done_; });
    if (q_.empty()) return false;
    chunk = std::move(q_.front());
    q_.pop_front();
    cv_.notify_all();
    return true;
  }

 private:
  bool Push(std::string chunk) {
    std::unique_lock<std::mutex> lk(mu_);
    // Back-pressure: a slow client holds the producer instead of growing memory.
    cv_.wait(lk, [&] { return q_.size() < 64 || cancelled_; });
    if (cancelled_) return false;
    q_.push_back(std::move(chunk));
    cv_.notify_all();
    return true;
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> q_;
  bool done_ = false;
  std::atomic<bool> cancelled_{false};
  std::thread thread_;
};

}  // namespace berth::api
