#include "core/domains.h"

#include <gtest/gtest.h>

namespace berth::core {
namespace {

TEST(NormalizeDomain, LowerCaseWithoutTheTrailingDot) {
  EXPECT_EQ(NormalizeDomain("Demo.CTEST.localhost."), "demo.ctest.localhost");
  EXPECT_EQ(NormalizeDomain("demo.ctest.localhost"), "demo.ctest.localhost");
  EXPECT_EQ(NormalizeDomain("."), "");
  EXPECT_EQ(NormalizeDomain("a..").size(), 2u);  // one dot only: "a." stays invalid
}

TEST(IsIpLiteral, ANumericTopLabelIsAnAddress) {
  for (const char* ip : {"10.0.0.1", "127.1", "1", "192.168.0.300"})
    EXPECT_TRUE(IsIpLiteral(ip)) << ip;
  for (const char* d : {"1.2.3.4.ctest.localhost", "a1", "x.1a", "localhost"})
    EXPECT_FALSE(IsIpLiteral(d)) << d;
}

TEST(CheckDomainAllowed, UnderABaseDomainOrTheAllowList) {
  const std::vector<std::string> base{"ctest.localhost", "ctest.b.com"};
  EXPECT_TRUE(CheckDomainAllowed("demo.ctest.localhost", base, {}));
  EXPECT_TRUE(CheckDomainAllowed("a.b.ctest.b.com", base, {}));
  // The base itself, a look-alike and a suffix that is not on a label boundary are not under it.
  for (const char* d : {"ctest.localhost", "xctest.localhost", "demo.ctest.localhost.evil.net",
                        "www.example.com"}) {
    auto s = CheckDomainAllowed(d, base, {});
    ASSERT_FALSE(s) << d;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(s.error().message.find(std::string("domain ") + d + " is not under"),
              std::string::npos)
        << s.error().message;
    EXPECT_NE(s.error().message.find("*.ctest.localhost, *.ctest.b.com"), std::string::npos);
    EXPECT_NE(s.error().message.find("environments.allowed_domains"), std::string::npos);
  }
  const std::vector<std::string> allowed{"example.com"};
  EXPECT_TRUE(CheckDomainAllowed("example.com", base, allowed));
  EXPECT_TRUE(CheckDomainAllowed("www.example.com", base, allowed));
  EXPECT_FALSE(CheckDomainAllowed("notexample.com", base, allowed));
  EXPECT_FALSE(CheckDomainAllowed("example.com.evil.net", base, allowed));
}

TEST(CheckDomainAllowed, BareIpsNever) {
  for (const char* ip : {"10.0.0.1", "127.0.0.1", "8.8.8.8"}) {
    auto s = CheckDomainAllowed(ip, {"ctest.localhost"}, {"0.0.1", "1"});
    ASSERT_FALSE(s) << ip;
    EXPECT_NE(s.error().message.find("is an IP address"), std::string::npos);
  }
}

}  // namespace
}  // namespace berth::core
