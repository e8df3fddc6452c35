#include "core/ports.h"

#include <gtest/gtest.h>

#include <set>

namespace berth::core {
namespace {

TEST(PickPorts, DistinctAndInRange) {
  auto r = PickPorts({30000, 30009}, {30001, 30002}, 3, 0);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (std::vector<int>{30000, 30003, 30004}));
}

TEST(PickPorts, WrapsAroundFromStart) {
  auto r = PickPorts({100, 104}, {}, 3, 3);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (std::vector<int>{103, 104, 100}));
}

TEST(PickPorts, ExhaustedRangeIsAClearError) {
  auto r = PickPorts({100, 102}, {100, 101}, 2, 0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("100-102"), std::string::npos);
}

TEST(PickPorts, NeverReturnsUsedPorts) {
  std::set<int> used;
  for (int i = 0; i < 500; ++i) {
    auto r = PickPorts({30000, 32767}, used, 3, static_cast<uint64_t>(i) * 7919);
    ASSERT_TRUE(r);
    for (int p : *r) {
      EXPECT_TRUE(used.insert(p).second) << p;
      EXPECT_GE(p, 30000);
      EXPECT_LE(p, 32767);
    }
  }
}

TEST(PickPorts, BadRange) {
  EXPECT_FALSE(PickPorts({5, 1}, {}, 1, 0));
}

}  // namespace
}  // namespace berth::core
