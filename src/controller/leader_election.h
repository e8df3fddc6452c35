// Leader election over the store, so several `berth serve` replicas on one etcd can share the
// API while exactly one runs the controller. The lease is a plain store record updated by
// compare-and-swap, the way client-go's leaderelection uses a Lease object: followers never
// trust the record's wall-clock times (clocks differ between hosts) but time, on their own
// steady clock, how long the record has gone unchanged; only after a whole lease without a
// renewal do they take it over. A leader that cannot renew within `renew_deadline` (shorter than
// the lease) steps down before anyone else may step up.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "berth/result.h"
#include "berth/store.h"

namespace berth::controller {

struct LeaderElectionOptions {
  std::string key = "/berth/leader";
  std::string identity;  // unique per replica; default: hostname-pid
  std::chrono::milliseconds lease{15000};
  std::chrono::milliseconds renew_deadline{10000};
  std::chrono::milliseconds retry{2000};
};

// The stored record (JSON). Times are informational, for people reading it.
struct LeaderRecord {
  std::string holder;
  int64_t lease_ms = 0;
  std::string acquired_at;
  std::string renewed_at;
  int64_t transitions = 0;
};

struct LeaderState {
  bool leader = false;
  std::string identity;
  std::string holder;  // as last read; "" if none
  int64_t transitions = 0;
};

class LeaderElector {
 public:
  using Callback = std::function<void()>;
  // on_started runs when this replica becomes leader, on_stopped when it stops being one
  // (lost lease, or Stop()). Both run on the elector's thread, never concurrently.
  LeaderElector(store::Store& store, LeaderElectionOptions opts, Callback on_started,
                Callback on_stopped);
  ~LeaderElector();
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  void Start();
  // Steps down (on_stopped) and releases the lease so a follower takes over at once.
  void Stop();

  // One round of the protocol: acquire, renew or observe. True if this replica holds the lease
  // afterwards. Public so tests can drive it without threads.
  Result<bool> TryAcquireOrRenew();
  // Deletes the record if this replica holds it.
  Status Release();

  LeaderState State() const;

  static std::string DefaultIdentity();

 private:
  using Clock = std::chrono::steady_clock;
  void Loop();
  void SetLeader(bool leader);

  store::Store& store_;
  LeaderElectionOptions opts_;
  Callback on_started_, on_stopped_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool leader_ = false;
  std::string holder_;
  int64_t transitions_ = 0;
  // The record as last observed: its revision, and when (our clock) it last changed.
  int64_t observed_rev_ = -1;
  Clock::time_point observed_at_{};
  Clock::time_point last_renew_{};
  std::thread thread_;
};

}  // namespace berth::controller
