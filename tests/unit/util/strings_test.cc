#include "util/strings.h"

#include <gtest/gtest.h>

namespace berth::util {
namespace {

TEST(UrlDecode, DecodesEscapesAndRefusesBrokenOnes) {
  std::string out;
  ASSERT_TRUE(UrlDecode("/v1/a%2Fb%20c+d", out));
  EXPECT_EQ(out, "/v1/a/b c+d");
  ASSERT_TRUE(UrlDecode("demo%00", out));
  EXPECT_EQ(out, std::string("demo\0", 5));  // kept, for the caller to refuse
  for (const char* bad : {"%", "%2", "a%zz", "%g0", "x%"}) EXPECT_FALSE(UrlDecode(bad, out)) << bad;
  EXPECT_TRUE(UrlDecode("", out));
  EXPECT_EQ(out, "");
}

}  // namespace
}  // namespace berth::util
