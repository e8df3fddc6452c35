#include "util/base64.h"

#include <gtest/gtest.h>

#include <string>

namespace berth::util {
namespace {

const Base64DecodeOptions kLenient{.ignore_whitespace = true, .require_padding = false};

std::string AllBytes() {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  return all;
}

TEST(Base64, EncodesRfc4648Vectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode(std::string(1, '\0')), "AA==");
  EXPECT_EQ(Base64Encode("\xfb\xff"), "+/8=");  // the standard alphabet, not the URL-safe one
}

TEST(Base64, RoundTripsAllLengthsAndBytes) {
  std::string all = AllBytes();
  for (size_t n = 0; n <= all.size(); ++n) {
    auto back = Base64Decode(Base64Encode(all.substr(0, n)));
    ASSERT_TRUE(back.has_value()) << n;
    EXPECT_EQ(*back, all.substr(0, n));
    auto lenient = Base64Decode(Base64Encode(all.substr(0, n)), kLenient);
    ASSERT_TRUE(lenient.has_value()) << n;
    EXPECT_EQ(*lenient, all.substr(0, n));
  }
  for (std::string s : {"", "a", "ab", "abc", "abcd", "hello world\n\x01\xff"}) {
    auto d = Base64Decode(Base64Encode(s));
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, s);
  }
}

TEST(Base64, StrictRejectsMalformedInput) {
  EXPECT_FALSE(Base64Decode("Zm9").has_value());       // incomplete group
  EXPECT_FALSE(Base64Decode("Zm9*").has_value());      // outside the alphabet
  EXPECT_FALSE(Base64Decode("Z===").has_value());      // padding after one character
  EXPECT_FALSE(Base64Decode("Zg==Zm9v").has_value());  // data after padding
  EXPECT_FALSE(Base64Decode("Zg=").has_value());       // partial padding
  EXPECT_FALSE(Base64Decode("Zg===").has_value());     // too much padding
  EXPECT_FALSE(Base64Decode("Zm9v=").has_value());     // padding after a complete group
  EXPECT_FALSE(Base64Decode("====").has_value());
  EXPECT_FALSE(Base64Decode("a$b=").has_value());
  EXPECT_FALSE(Base64Decode("Zm9v\n").has_value());    // whitespace only when asked for
  EXPECT_FALSE(Base64Decode("Zm9v_-8=").has_value());  // URL-safe characters
}

TEST(Base64, ErrorNamesTheFirstBadByte) {
  auto d = Base64Decode("Zm9v*m9v");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(d.error().message, "illegal base64 data at input byte 4");
  EXPECT_EQ(Base64Decode("Zg==Zm9v").error().message, "illegal base64 data at input byte 4");
  EXPECT_EQ(Base64Decode("Zm9").error().message, "illegal base64 data at input byte 3");
  EXPECT_TRUE(Base64Decode("aGVs\nbG8=", kLenient));
  EXPECT_EQ(Base64Decode("aGVs\n$G8=", kLenient).error().message,
            "illegal base64 data at input byte 5");
}

TEST(Base64, IgnoresUnusedLowBits) {
  EXPECT_EQ(*Base64Decode("Zh=="), "f");
  EXPECT_EQ(*Base64Decode("Zm9="), "fo");
}

TEST(Base64, LenientSkipsWhitespaceAndAcceptsMissingPadding) {
  EXPECT_EQ(*Base64Decode("aGVs\nbG8=", kLenient), "hello");
  EXPECT_EQ(*Base64Decode(" aGVs\r\n\tbG8=\n", kLenient), "hello");
  EXPECT_EQ(*Base64Decode("Zg=\n=", kLenient), "f");
  EXPECT_EQ(*Base64Decode("Zg", kLenient), "f");
  EXPECT_EQ(*Base64Decode("Zm8", kLenient), "fo");
  EXPECT_EQ(*Base64Decode("Zm9vYg", kLenient), "foob");
  EXPECT_EQ(*Base64Decode("", kLenient), "");
  EXPECT_EQ(*Base64Decode(" \n", kLenient), "");
  EXPECT_FALSE(Base64Decode("a$b=", kLenient));
  EXPECT_FALSE(Base64Decode("Z", kLenient));         // one character carries no byte
  EXPECT_FALSE(Base64Decode("Zg=", kLenient));       // padding, if any, complete
  EXPECT_FALSE(Base64Decode("Zg==Zm9v", kLenient));  // and last
  EXPECT_FALSE(Base64Decode("Z===", kLenient));
}

TEST(Base64, WhitespaceAndPaddingOptionsAreIndependent) {
  EXPECT_FALSE(Base64Decode("Zm9v\nYg==", {.ignore_whitespace = false, .require_padding = false}));
  EXPECT_EQ(*Base64Decode("Zm9vYg", {.ignore_whitespace = false, .require_padding = false}),
            "foob");
  EXPECT_EQ(*Base64Decode("Zm9v\nYg==", {.ignore_whitespace = true, .require_padding = true}),
            "foob");
  EXPECT_FALSE(Base64Decode("Zm9v\nYg", {.ignore_whitespace = true, .require_padding = true}));
}

TEST(Base64, NewlinesOnlyAsGoDoes) {
  // Go's StdEncoding.DecodeString (confd's base64Decode) skips \r and \n, nothing else.
  EXPECT_EQ(*Base64Decode("Zm9v\r\nYg==", {.ignore_newlines = true}), "foob");
  auto space = Base64Decode("Zm9v Yg==", {.ignore_newlines = true});
  ASSERT_FALSE(space);
  EXPECT_NE(space.error().message.find("input byte 4"), std::string::npos) << space.error().message;
}

}  // namespace
}  // namespace berth::util
