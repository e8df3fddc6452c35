#include "runtime/reachability.h"

#include <spdlog/spdlog.h>

namespace berth::runtime {

ReachabilityMonitor::ReachabilityMonitor(Runtime& runtime, std::chrono::milliseconds interval,
                                         std::chrono::milliseconds deadline,
                                         std::function<void(bool)> on_change)
    : runtime_(runtime),
      interval_(interval),
      deadline_(deadline),
      on_change_(std::move(on_change)) {}

ReachabilityMonitor::~ReachabilityMonitor() {
  Stop();
}

void ReachabilityMonitor::Start() {
  std::lock_guard<std::mutex> l(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void ReachabilityMonitor::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status ReachabilityMonitor::Check() {
  std::lock_guard<std::mutex> one(check_mu_);
  Status s = runtime_.Ping(deadline_);
  bool changed = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    changed = state_.checked && state_.reachable != s.has_value();
    if (!state_.checked || changed) state_.since = NowRfc3339();
    state_.checked = true;
    state_.reachable = s.has_value();
    state_.error = s ? "" : s.error().message;
  }
  if (changed) {
    if (s)
      spdlog::info("runtime {}: the engine answers again", runtime_.Name());
    else
      spdlog::warn("runtime {}: the engine is unreachable: {}", runtime_.Name(), s.error().message);
    if (on_change_) on_change_(s.has_value());
  }
  return s;
}

Reachability ReachabilityMonitor::State() const {
  std::lock_guard<std::mutex> l(mu_);
  return state_;
}

void ReachabilityMonitor::Loop() {
  while (true) {
    Check();
    std::unique_lock<std::mutex> l(mu_);
    if (cv_.wait_for(l, interval_, [this] { return stopping_; })) return;
  }
}

}  // namespace berth::runtime
