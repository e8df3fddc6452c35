#include "runtime/kubernetes/exec.h"

#include <gtest/gtest.h>

namespace berth::kube {
namespace {

TEST(ExecStatus, SuccessAndNonZeroExitCodes) {
  auto ok = ExitCodeFromStatus(R"({"metadata":{},"status":"Success"})");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(*ok, 0);
  auto three = ExitCodeFromStatus(R"({"metadata":{},"status":"Failure",
    "message":"command terminated with non-zero exit code: error executing command [/bin/sh -c exit 3], exit code 3",
    "reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}})");
  ASSERT_TRUE(three) << three.error().message;
  EXPECT_EQ(*three, 3);
}

TEST(ExecStatus, OtherFailuresAndNonsenseAreErrorsNotExitCodes) {
  auto missing = ExitCodeFromStatus(
      R"x({"status":"Failure","message":"container not found (\"web\")","reason":"InternalError"})x");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kFailed);
  EXPECT_NE(missing.error().message.find("container not found"), std::string::npos);
  for (
      const char* bad :
      {"", "not json", "[]", R"({"status":"Maybe"})",
       R"({"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"-1"}]}})",
       R"({"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"0"}]}})",
       R"({"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"99999999999"}]}})",
       R"({"status":"Failure","reason":"NonZeroExitCode","details":{"causes":"x"}})",
       R"({"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":3}]}})"}) {
    auto r = ExitCodeFromStatus(bad);
    EXPECT_FALSE(r) << bad;
  }
}

TEST(ExecPath, EveryArgumentIsItsOwnEncodedCommandParameter) {
  EXPECT_EQ(
      ExecPath("berth-team", "web-5d8f", "web", {"/bin/sh", "-c", "kill -HUP 1 && echo a&b=c"}),
      "/api/v1/namespaces/berth-team/pods/web-5d8f/exec?container=web&stdout=true&stderr=true"
      "&command=%2Fbin%2Fsh&command=-c&command=kill%20-HUP%201%20%26%26%20echo%20a%26b%3Dc");
}

}  // namespace
}  // namespace berth::kube
