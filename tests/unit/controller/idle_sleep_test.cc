#include "controller/idle_sleep.h"

#include <gtest/gtest.h>

#include <atomic>

namespace berth::controller {
namespace {

using std::chrono::seconds;

TEST(IdleTracker, SleepsOnlyWhatHadNoRequestForItsIdleTime) {
  IdleTracker t;
  auto t0 = IdleTracker::Clock::now();
  std::vector<IdleCandidate> envs = {
      {"d/busy", 60, true}, {"d/quiet", 60, true}, {"d/never", 0, true}, {"d/asleep", 60, false}};
  std::map<std::string, int64_t> hits = {{"d/busy", 5}, {"d/quiet", 2}};
  EXPECT_TRUE(t.Observe(t0, hits, envs).empty());  // first sight: active now
  hits["d/busy"] = 9;
  EXPECT_TRUE(t.Observe(t0 + seconds(59), hits, envs).empty());
  hits["d/busy"] = 12;
  auto idle = t.Observe(t0 + seconds(61), hits, envs);
  EXPECT_EQ(idle, (std::vector<std::string>{"d/quiet"}));
  // Woken up (by a request or by hand): counts from the wake, not from before the sleep.
  // (busy keeps getting requests all along.)
  envs[1].awake = false;
  hits["d/busy"]++;
  EXPECT_TRUE(t.Observe(t0 + seconds(70), hits, envs).empty());
  envs[1].awake = true;
  hits["d/busy"]++;
  EXPECT_TRUE(t.Observe(t0 + seconds(80), hits, envs).empty());
  hits["d/busy"]++;
  EXPECT_TRUE(t.Observe(t0 + seconds(139), hits, envs).empty());
  hits["d/busy"]++;
  EXPECT_EQ(t.Observe(t0 + seconds(140), hits, envs), (std::vector<std::string>{"d/quiet"}));
  // nginx restarted: the counters reset, which is activity, never idleness.
  hits.clear();
  EXPECT_TRUE(t.Observe(t0 + seconds(141), hits, envs).empty());
}

TEST(IdleSleeper, PutsIdleEnvironmentsToSleepAndSkipsRoundsWithoutCounters) {
  std::atomic<int> round{0};
  std::atomic<int> slept{0};
  IdleSleeper s(
      [&]() -> Result<std::map<std::string, int64_t>> {
        if (++round % 2 == 0) return Fail(ErrorCode::kUnavailable, "nginx restarting");
        return std::map<std::string, int64_t>{};
      },
      [&]() -> Result<std::vector<IdleCandidate>> {
        return std::vector<IdleCandidate>{{"d/x", 1, slept == 0}};
      },
      [&](const std::string& key, int64_t idle) {
        EXPECT_EQ(key, "d/x");
        EXPECT_EQ(idle, 1);
        slept++;
      },
      std::chrono::milliseconds(100));
  s.Start();
  for (int i = 0; i < 100 && slept == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  s.Stop();
  EXPECT_EQ(slept, 1);
  EXPECT_GE(round, 2);
}

TEST(IdleCheckInterval, IsAQuarterBounded) {
  EXPECT_EQ(IdleCheckInterval(2), std::chrono::milliseconds(1000));
  EXPECT_EQ(IdleCheckInterval(60), std::chrono::milliseconds(15000));
  EXPECT_EQ(IdleCheckInterval(3600), std::chrono::milliseconds(30000));
}

}  // namespace
}  // namespace berth::controller
