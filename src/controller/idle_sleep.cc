#include "controller/idle_sleep.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

namespace berth::controller {

std::vector<std::string> IdleTracker::Observe(Clock::time_point now,
                                              const std::map<std::string, int64_t>& hits,
                                              const std::vector<IdleCandidate>& envs) {
  std::vector<std::string> idle;
  std::set<std::string> present;
  for (const auto& e : envs) {
    present.insert(e.key);
    auto it = hits.find(e.key);
    const int64_t count = it == hits.end() ? 0 : it->second;
    auto [s, fresh] = seen_.try_emplace(e.key);
    // Active now: first seen, a request came (or nginx restarted: the counter moved either
    // way), or it has just woken up.
    if (fresh || count != s->second.hits || (e.awake && !s->second.awake)) s->second.active = now;
    s->second.hits = count;
    s->second.awake = e.awake;
    if (e.awake && e.idle_seconds > 0 &&
        now - s->second.active >= std::chrono::seconds(e.idle_seconds))
      idle.push_back(e.key);
  }
  for (auto it = seen_.begin(); it != seen_.end();)
    it = present.count(it->first) ? std::next(it) : seen_.erase(it);
  return idle;
}

std::chrono::milliseconds IdleCheckInterval(int64_t shortest_idle_seconds) {
  int64_t ms = shortest_idle_seconds * 1000 / 4;
  return std::chrono::milliseconds(std::clamp<int64_t>(ms, 1000, 30000));
}

IdleSleeper::IdleSleeper(HitsFn hits, ListFn list, SleepFn sleep,
                         std::chrono::milliseconds interval)
    : hits_(std::move(hits)),
      list_(std::move(list)),
      sleep_(std::move(sleep)),
      interval_(interval) {}

IdleSleeper::~IdleSleeper() {
  Stop();
}

void IdleSleeper::Start() {
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void IdleSleeper::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void IdleSleeper::Loop() {
  while (true) {
    {
      std::unique_lock<std::mutex> l(mu_);
      if (cv_.wait_for(l, interval_, [this] { return stopping_; })) return;
    }
    // Without the counters nothing is known to be idle: skip the round (never sleep blind).
    auto hits = hits_();
    if (!hits) {
      spdlog::debug("idle sleep: reading the router's counters: {}", hits.error().message);
      continue;
    }
    auto envs = list_();
    if (!envs) {
      spdlog::debug("idle sleep: listing environments: {}", envs.error().message);
      continue;
    }
    for (const auto& key : tracker_.Observe(IdleTracker::Clock::now(), *hits, *envs)) {
      auto it = std::find_if(envs->begin(), envs->end(),
                             [&](const IdleCandidate& c) { return c.key == key; });
      sleep_(key, it == envs->end() ? 0 : it->idle_seconds);
    }
  }
}

}  // namespace berth::controller
