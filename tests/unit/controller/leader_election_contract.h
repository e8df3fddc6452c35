// Leader-election behaviour every store must give: run on SQLite in the unit tier and on a real
// etcd in the integration tier. Leases are short (hundreds of ms) so the suite is quick; the
// waits below are upper bounds for behaviour, not speed measurements.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "berth/store.h"
#include "controller/leader_election.h"

namespace berth::controller::contract {

using namespace std::chrono_literals;

inline LeaderElectionOptions Fast(std::string id, std::string key) {
  LeaderElectionOptions o;
  o.key = std::move(key);
  o.identity = std::move(id);
  o.lease = 600ms;
  o.renew_deadline = 400ms;
  o.retry = 50ms;
  return o;
}

inline bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return cond();
}

// Exactly one of two candidates wins; the other observes the holder.
inline void OneWinner(store::Store& s, const std::string& key) {
  LeaderElector a(s, Fast("a", key), nullptr, nullptr);
  LeaderElector b(s, Fast("b", key), nullptr, nullptr);
  auto ra = a.TryAcquireOrRenew();
  auto rb = b.TryAcquireOrRenew();
  ASSERT_TRUE(ra && rb);
  EXPECT_TRUE(*ra);
  EXPECT_FALSE(*rb);
  EXPECT_EQ(b.State().holder, "a");
  // Renewing keeps it; the follower keeps waiting while renewals continue past a whole lease.
  for (int i = 0; i < 16; ++i) {
    std::this_thread::sleep_for(50ms);
    ASSERT_TRUE(*a.TryAcquireOrRenew());
    ASSERT_FALSE(*b.TryAcquireOrRenew()) << "took over a renewed lease after " << i;
  }
}

// A leader that stops renewing (crashed: no release) is replaced only after a whole lease.
inline void CrashedLeaderIsReplacedAfterTheLease(store::Store& s, const std::string& key) {
  {
    LeaderElector crashed(s, Fast("crashed", key), nullptr, nullptr);
    ASSERT_TRUE(*crashed.TryAcquireOrRenew());
  }  // never started: destroying it releases nothing, like kill -9
  std::atomic<int> started{0};
  LeaderElector b(
      s, Fast("b", key), [&] { started++; }, nullptr);
  auto t0 = std::chrono::steady_clock::now();
  b.Start();
  ASSERT_TRUE(WaitFor([&] { return b.State().leader; }, 5s));
  auto waited = std::chrono::steady_clock::now() - t0;
  // Safety: never before the lease has run out on the follower's own clock.
  EXPECT_GE(waited, 600ms);
  // on_started runs just after the state says leader (SetLeader).
  EXPECT_TRUE(WaitFor([&] { return started.load() == 1; }, 5s)) << started.load();
  EXPECT_EQ(b.State().holder, "b");
  EXPECT_EQ(b.State().transitions, 1);
}

// Stop() steps down first and releases the lease: the follower takes over within a few retries,
// and the two controllers never run at once.
inline void GracefulHandOver(store::Store& s, const std::string& key) {
  std::atomic<int> running{0}, overlap{0}, a_runs{0}, b_runs{0};
  auto up = [&](std::atomic<int>& runs) {
    return [&] {
      runs++;
      if (++running > 1) overlap++;
    };
  };
  auto down = [&] { running--; };
  auto a = std::make_unique<LeaderElector>(s, Fast("a", key), up(a_runs), down);
  a->Start();
  ASSERT_TRUE(WaitFor([&] { return a->State().leader; }, 5s));
  LeaderElector b(s, Fast("b", key), up(b_runs), down);
  b.Start();
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(b.State().leader);
  auto t0 = std::chrono::steady_clock::now();
  a->Stop();
  EXPECT_FALSE(a->State().leader);
  ASSERT_TRUE(WaitFor([&] { return b.State().leader; }, 5s));
  // Released, not expired: no need to wait out the lease.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 600ms);
  EXPECT_EQ(a_runs.load(), 1);
  // on_started runs just after the state says leader (SetLeader), on the elector's thread.
  EXPECT_TRUE(WaitFor([&] { return b_runs.load() == 1; }, 5s)) << b_runs.load();
  EXPECT_EQ(overlap.load(), 0);
  b.Stop();
  EXPECT_EQ(running.load(), 0);
  auto kv = s.Get(key);
  ASSERT_TRUE(kv);
  EXPECT_FALSE(kv->has_value()) << "the last leader released the lease";
}

// A record that is not ours and not JSON is taken over like an expired one, never trusted.
inline void GarbageRecordIsTakenOverAfterALease(store::Store& s, const std::string& key) {
  ASSERT_TRUE(s.Put(key, "{not json"));
  LeaderElector a(s, Fast("a", key), nullptr, nullptr);
  EXPECT_FALSE(*a.TryAcquireOrRenew());
  std::this_thread::sleep_for(650ms);
  EXPECT_TRUE(*a.TryAcquireOrRenew());
}

}  // namespace berth::controller::contract
