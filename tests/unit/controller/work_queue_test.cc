#include "controller/work_queue.h"

#include <gtest/gtest.h>

#include <thread>

namespace berth::controller {
namespace {

TEST(WorkQueue, DeduplicatesQueuedKeys) {
  WorkQueue q;
  q.Add("a");
  q.Add("a");
  q.Add("b");
  EXPECT_EQ(*q.Get(), "a");
  EXPECT_EQ(*q.Get(), "b");
  EXPECT_EQ(q.Pending(), 2u);  // both processing
}

TEST(WorkQueue, ReAddWhileProcessingRunsAgainAfterDone) {
  WorkQueue q;
  q.Add("a");
  auto k = q.Get();
  q.Add("a");  // dirty, not handed to a second worker
  q.Add("b");
  EXPECT_EQ(*q.Get(), "b");
  q.Done("b");
  q.Done(*k);
  EXPECT_EQ(*q.Get(), "a");
}

TEST(WorkQueue, ShutDownWakesWorkers) {
  WorkQueue q;
  std::thread t([&] { EXPECT_FALSE(q.Get().has_value()); });
  q.ShutDown();
  t.join();
}

TEST(WorkQueue, DelayedKeysBecomeReady) {
  WorkQueue q;
  q.AddAfter("later", std::chrono::milliseconds(30));
  q.Add("now");
  EXPECT_EQ(*q.Get(), "now");
  EXPECT_EQ(*q.Get(), "later");
}

TEST(WorkQueue, AKeyWaitsOnceAtItsEarliestTime) {
  WorkQueue q;
  // A thousand periodic requeues of one key leave one timer, not a thousand.
  for (int i = 0; i < 1000; ++i) q.AddAfter("k", std::chrono::hours(1));
  EXPECT_EQ(q.Pending(), 1u);
  // An earlier time replaces the later one; a later one never postpones it.
  q.AddAfter("k", std::chrono::milliseconds(20));
  q.AddAfter("k", std::chrono::hours(2));
  EXPECT_EQ(q.Pending(), 1u);
  EXPECT_EQ(*q.Get(), "k");
  q.Done("k");
  EXPECT_EQ(q.Pending(), 0u);
  // Once promoted, the key may wait again.
  q.AddAfter("k", std::chrono::milliseconds(10));
  EXPECT_EQ(*q.Get(), "k");
}

TEST(WorkQueue, BackoffGrowsAndResets) {
  WorkQueue q;
  auto a = q.NextBackoff("k");
  auto b = q.NextBackoff("k");
  EXPECT_LT(a, b);
  for (int i = 0; i < 20; ++i) q.NextBackoff("k");
  EXPECT_EQ(q.NextBackoff("k"), std::chrono::milliseconds(30000));
  q.Forget("k");
  EXPECT_EQ(q.NextBackoff("k"), a);
}

}  // namespace
}  // namespace berth::controller
