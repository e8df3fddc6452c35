#include "router/coalescer.h"

#include <gtest/gtest.h>

namespace berth::router {
namespace {

using std::chrono::milliseconds;

class CoalescerTest : public ::testing::Test {
 protected:
  Coalescer::TimePoint t0 = Coalescer::TimePoint() + std::chrono::hours(1);  // a fake clock
  Coalescer c{milliseconds(50), milliseconds(1000)};
};

TEST_F(CoalescerTest, NothingPendingIsNeverDue) {
  EXPECT_FALSE(c.Pending());
  EXPECT_EQ(c.Deadline(), Coalescer::TimePoint::max());
  EXPECT_FALSE(c.Due(t0 + std::chrono::hours(10)));
}

TEST_F(CoalescerTest, SingleChangeWaitsMinWait) {
  c.Notify(t0);
  EXPECT_FALSE(c.Due(t0 + milliseconds(49)));
  EXPECT_TRUE(c.Due(t0 + milliseconds(50)));
}

TEST_F(CoalescerTest, EachChangeExtendsTheQuietPeriod) {
  c.Notify(t0);
  c.Notify(t0 + milliseconds(40));
  EXPECT_FALSE(c.Due(t0 + milliseconds(60)));
  EXPECT_TRUE(c.Due(t0 + milliseconds(90)));
}

TEST_F(CoalescerTest, AStreamOfChangesIsCutAtMaxWait) {
  // A change every 10ms never leaves a 50ms gap: max_wait forces the batch out at 1s.
  for (int i = 0; i < 200; ++i) {
    auto now = t0 + milliseconds(10 * i);
    if (c.Due(now)) {
      EXPECT_EQ(now, t0 + milliseconds(1000));
      c.Take();
      break;
    }
    c.Notify(now);
  }
  EXPECT_FALSE(c.Pending());
}

TEST_F(CoalescerTest, TakeStartsANewBatch) {
  c.Notify(t0);
  c.Take();
  EXPECT_FALSE(c.Pending());
  c.Notify(t0 + milliseconds(900));
  // The new batch's max_wait counts from its own first change.
  EXPECT_EQ(c.Deadline(), t0 + milliseconds(950));
}

TEST(CoalescerZeroTest, ZeroWaitsAreDueAtOnce) {
  Coalescer c(milliseconds(0), milliseconds(0));
  auto t = Coalescer::TimePoint() + std::chrono::hours(1);
  c.Notify(t);
  EXPECT_TRUE(c.Due(t));
}

}  // namespace
}  // namespace berth::router
