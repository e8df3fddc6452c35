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

namespace berth::core {
namespace {

TEST(PickPorts, SkipsPortsOtherProcessesHold) {
  std::set<int> probed;
  auto busy = [&](int p) {
    probed.insert(p);
    return p % 2 == 0;
  };
  auto r = PickPorts({100, 105}, {101}, 2, 0, busy);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (std::vector<int>{103, 105}));
  EXPECT_EQ(probed.count(101), 0u);  // a reserved port is never probed
  auto none = PickPorts({100, 105}, {101, 103}, 2, 0, busy);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(none.error().message.find("(3 held by other processes)"), std::string::npos)
      << none.error().message;
}

TEST(CheckExplicitHostPort, InTheRangeOrOnTheExtraList) {
  const PortRange range{30000, 32767};
  EXPECT_TRUE(CheckExplicitHostPort(range, {}, "http", 30000));
  EXPECT_TRUE(CheckExplicitHostPort(range, {}, "http", 32767));
  EXPECT_TRUE(CheckExplicitHostPort(range, {8080}, "http", 8080));
  for (int p : {5, 8880, 29999, 32768, 40000}) {
    auto s = CheckExplicitHostPort(range, {8080}, "web", p);
    ASSERT_FALSE(s) << p;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(s.error().message,
              "port web: host port " + std::to_string(p) +
                  " is outside the host port range 30000-32767 (environments.port_range; an admin "
                  "may allow it in environments.extra_host_ports)");
  }
}

}  // namespace
}  // namespace berth::core
