#include "controller/work_queue.h"

#include <algorithm>

namespace berth::controller {

void WorkQueue::Add(const std::string& key) {
  std::lock_guard<std::mutex> lk(mu_);
  if (shutdown_) return;
  if (processing_.count(key)) {
    dirty_.insert(key);
    return;
  }
  if (queued_.insert(key).second) {
    ready_.push_back(key);
    cv_.notify_one();
  }
}

void WorkQueue::AddAfter(const std::string& key, std::chrono::milliseconds delay) {
  if (delay.count() <= 0) return Add(key);
  std::lock_guard<std::mutex> lk(mu_);
  if (shutdown_) return;
  const auto at = Clock::now() + delay;
  if (auto it = waiting_at_.find(key); it != waiting_at_.end()) {
    if (it->second <= at) return;
    auto [lo, hi] = delayed_.equal_range(it->second);
    for (auto d = lo; d != hi; ++d)
      if (d->second == key) {
        delayed_.erase(d);
        break;
      }
  }
  delayed_.emplace(at, key);
  waiting_at_[key] = at;
  cv_.notify_one();
}

void WorkQueue::PromoteDelayedLocked() {
  auto now = Clock::now();
  while (!delayed_.empty() && delayed_.begin()->first <= now) {
    std::string key = delayed_.begin()->second;
    delayed_.erase(delayed_.begin());
    waiting_at_.erase(key);
    if (processing_.count(key)) {
      dirty_.insert(key);
    } else if (queued_.insert(key).second) {
      ready_.push_back(key);
    }
  }
}

std::optional<std::string> WorkQueue::Get() {
  std::unique_lock<std::mutex> lk(mu_);
  while (true) {
    if (shutdown_) return std::nullopt;
    PromoteDelayedLocked();
    if (!ready_.empty()) {
      std::string key = ready_.front();
      ready_.pop_front();
      queued_.erase(key);
      processing_.insert(key);
      return key;
    }
    if (delayed_.empty()) {
      cv_.wait(lk);
    } else {
      // A copy: wait_until reads the deadline after unlocking, when another thread may
      // already have erased that map node.
      const Clock::time_point next = delayed_.begin()->first;
      cv_.wait_until(lk, next);
    }
  }
}

void WorkQueue::Done(const std::string& key) {
  std::lock_guard<std::mutex> lk(mu_);
  processing_.erase(key);
  if (dirty_.erase(key) && !shutdown_ && queued_.insert(key).second) {
    ready_.push_back(key);
    cv_.notify_one();
  }
}

void WorkQueue::ShutDown() {
  std::lock_guard<std::mutex> lk(mu_);
  shutdown_ = true;
  cv_.notify_all();
}

size_t WorkQueue::Pending() {
  std::lock_guard<std::mutex> lk(mu_);
  return ready_.size() + delayed_.size() + processing_.size();
}

std::chrono::milliseconds WorkQueue::NextBackoff(const std::string& key) {
  std::lock_guard<std::mutex> lk(mu_);
  int n = failures_[key]++;
  int64_t ms = 200LL << std::min(n, 8);
  return std::chrono::milliseconds(std::min<int64_t>(ms, 30000));
}

void WorkQueue::Forget(const std::string& key) {
  std::lock_guard<std::mutex> lk(mu_);
  failures_.erase(key);
}

}  // namespace berth::controller
