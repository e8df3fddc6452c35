// confd-style logging honours -log-level as confd does.
#include "confd/log.h"

#include <gtest/gtest.h>

namespace berth::confd {
namespace {

std::string Logged(const std::string& level) {
  SetLogLevel(level);
  ::testing::internal::CaptureStderr();
  LogInfo("i-line");
  LogWarn("w-line");
  LogError("e-line");
  std::string out = ::testing::internal::GetCapturedStderr();
  SetLogLevel("info");
  return out;
}

TEST(ConfdLog, LevelsFilterAsConfdDoes) {
  auto all = Logged("debug");
  EXPECT_NE(all.find("INFO i-line"), std::string::npos) << all;
  EXPECT_NE(all.find("WARNING w-line"), std::string::npos);
  EXPECT_NE(all.find("ERROR e-line"), std::string::npos);
  EXPECT_NE(all.find("berth-confd["), std::string::npos);
  auto warn = Logged("warn");
  EXPECT_EQ(warn.find("i-line"), std::string::npos) << warn;
  EXPECT_NE(warn.find("w-line"), std::string::npos);
  auto err = Logged("error");
  EXPECT_EQ(err.find("w-line"), std::string::npos) << err;
  EXPECT_NE(err.find("e-line"), std::string::npos);
}

}  // namespace
}  // namespace berth::confd
