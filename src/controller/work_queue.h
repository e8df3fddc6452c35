// A rate-limited work queue of keys, like client-go's: a key is processed by one worker at a
// time; adding a key while it is processed marks it dirty so it runs again afterwards.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

namespace berth::controller {

class WorkQueue {
 public:
  using Clock = std::chrono::steady_clock;

  void Add(const std::string& key);
  // A key waits at most once: asked again, it keeps the earlier of the two times (as
  // client-go's delaying queue does), so periodic requeues never pile up timers.
  void AddAfter(const std::string& key, std::chrono::milliseconds delay);
  // Blocks until a key is ready or the queue shuts down (nullopt).
  std::optional<std::string> Get();
  // Marks the key finished; if it was re-added meanwhile it becomes ready again.
  void Done(const std::string& key);
  void ShutDown();
  size_t Pending();

  // Exponential backoff per key: 200ms doubling to 30s; Forget() resets.
  std::chrono::milliseconds NextBackoff(const std::string& key);
  void Forget(const std::string& key);

 private:
  void PromoteDelayedLocked();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> ready_;
  std::set<std::string> queued_;      // in ready_
  std::set<std::string> processing_;  // handed to a worker
  std::set<std::string> dirty_;       // re-added while processing
  std::multimap<Clock::time_point, std::string> delayed_;
  std::map<std::string, Clock::time_point> waiting_at_;  // each key's one entry in delayed_
  std::map<std::string, int> failures_;
  bool shutdown_ = false;
};

}  // namespace berth::controller
