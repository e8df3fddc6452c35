#include "core/duration.h"

#include <gtest/gtest.h>

#include <string>

namespace berth::core {
namespace {

TEST(Duration, TakesSecondsAndUnitsAsPeopleTypeThem) {
  EXPECT_EQ(ParseDuration("0").value(), 0);
  EXPECT_EQ(ParseDuration("3600").value(), 3600);
  EXPECT_EQ(ParseDuration("90m").value(), 5400);
  EXPECT_EQ(ParseDuration("8h").value(), 28800);
  EXPECT_EQ(ParseDuration("3d").value(), 259200);
  EXPECT_EQ(ParseDuration("1w").value(), 604800);
  EXPECT_EQ(ParseDuration("1h30m").value(), 5400);
  EXPECT_EQ(ParseDuration("1d2h3m4s").value(), 93784);
  EXPECT_EQ(ParseDuration("0h").value(), 0);
}

TEST(Duration, RefusesAnythingElseNamingTheField) {
  for (const char* bad : {"", "h", "5x", "-1", "+5", "1.5h", "1h5", " 5", "5 ", "3 days", "1H",
                          "5s5", "m5", "\xff"}) {
    auto d = ParseDuration(bad, "--ttl");
    ASSERT_FALSE(d) << bad;
    EXPECT_EQ(d.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(d.error().message.find("--ttl"), std::string::npos) << d.error().message;
  }
}

TEST(Duration, IsBoundedAndNeverOverflows) {
  EXPECT_EQ(ParseDuration(std::to_string(kMaxTtlSeconds)).value(), kMaxTtlSeconds);
  EXPECT_FALSE(ParseDuration(std::to_string(kMaxTtlSeconds + 1)));
  EXPECT_FALSE(ParseDuration("3661d"));
  EXPECT_FALSE(ParseDuration("99999999999999999999999999d"));
  EXPECT_FALSE(ParseDuration("9223372036854775807s"));
  // Many parts that each fit but sum past the cap.
  std::string many;
  for (int i = 0; i < 6; ++i) many += "500w";
  EXPECT_FALSE(ParseDuration(many));
  // Long input is refused at once, not scanned.
  EXPECT_FALSE(ParseDuration(std::string(100000, '1')));
}

TEST(Duration, FormatsTheTwoLargestAdjacentUnits) {
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_EQ(FormatDuration(45), "45s");
  EXPECT_EQ(FormatDuration(90), "1m30s");
  EXPECT_EQ(FormatDuration(3600), "1h");
  EXPECT_EQ(FormatDuration(5400), "1h30m");
  EXPECT_EQ(FormatDuration(93784), "1d2h");
  EXPECT_EQ(FormatDuration(86405), "1d");
  EXPECT_EQ(ParseDuration(FormatDuration(5400)).value(), 5400);
}

TEST(Rfc3339, RoundTripsAndRefusesOtherForms) {
  auto t = ParseRfc3339Utc("2026-11-30T10:05:06Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, 1796033106);
  EXPECT_EQ(FormatRfc3339Utc(*t), "2026-11-30T10:05:06Z");
  for (const char* bad : {"", "2026-11-30", "2026-11-30T10:05:06", "2026-11-30T10:05:06+01:00",
                          "2026-13-30T10:05:06Z", "2026-11-30T25:05:06Z", "2026-11-30x10:05:06Z",
                          "20261-11-30T10:05:06Z"})
    EXPECT_FALSE(ParseRfc3339Utc(bad)) << bad;
  EXPECT_LE(ParseRfc3339Utc(FormatRfc3339Utc(NowEpochSeconds())).value(), NowEpochSeconds());
}

}  // namespace
}  // namespace berth::core
