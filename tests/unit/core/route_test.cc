#include "berth/route.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace berth {
namespace {

const char* kKey = "/devnginx/default/test-txcc";
const char* kOriginal =
    R"({"name": "test-txcc", "http_port": 31153, "https_port": 30269, "domain": "test-txcc.ctest.a.com test-txcc.ctest.b.com", "host_ip": "172.21.133.12"})";

TEST(RouteTest, ParsesTheOriginalRecord) {
  auto r = ParseRoute(kKey, kOriginal);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->ns, "default");
  EXPECT_EQ(r->name, "test-txcc");
  EXPECT_EQ(r->http_port, 31153);
  EXPECT_EQ(r->https_port, 30269);
  EXPECT_EQ(r->domains,
            (std::vector<std::string>{"test-txcc.ctest.a.com", "test-txcc.ctest.b.com"}));
  EXPECT_EQ(r->host_ip, "172.21.133.12");
}

TEST(RouteTest, SerializesLikePythonJsonDumps) {
  auto r = ParseRoute(kKey, kOriginal);
  ASSERT_TRUE(r);
  EXPECT_EQ(SerializeRoute(*r), kOriginal);
}

TEST(RouteTest, RoundTrips) {
  Route r{"ns1", "web", 30001, 0, {"web.ctest.localhost"}, "::1"};
  auto back = ParseRoute("/devnginx/ns1/web", SerializeRoute(r));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, r);
}

// The installation that wrote a record rides after the original's fields; a record without
// one (the original's, an earlier release's) reads as "".
TEST(RouteTest, CarriesTheInstallationAfterTheOriginalsFields) {
  Route r{"ns1", "web", 30001, 0, {"web.ctest.localhost"}, "127.0.0.1", "0123456789abcdef"};
  std::string text = SerializeRoute(r);
  EXPECT_EQ(
      text,
      R"({"name": "web", "http_port": 30001, "https_port": 0, "domain": "web.ctest.localhost", "host_ip": "127.0.0.1", "installation": "0123456789abcdef"})");
  auto back = ParseRoute("/devnginx/ns1/web", text);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, r);
  EXPECT_EQ(RouteInstallation(text), "0123456789abcdef");
  EXPECT_EQ(RouteInstallation(kOriginal), "");
  EXPECT_EQ(RouteInstallation("not json"), "");
  EXPECT_FALSE(ParseRoute("/devnginx/ns1/web",
                          R"({"name": "web", "http_port": 1, "https_port": 0, "domain": "a.b", )"
                          R"("host_ip": "127.0.0.1", "installation": 7})"));
}

// A sleeping environment's record gains "sleeping": true after every other field; an awake one
// is byte for byte what it was (no "sleeping": false).
TEST(RouteTest, CarriesTheSleepingFlagOnlyWhileAsleep) {
  Route r{"ns1", "web", 30001, 0, {"web.ctest.localhost"}, "127.0.0.1", "0123456789abcdef"};
  const std::string awake = SerializeRoute(r);
  EXPECT_EQ(awake.find("sleeping"), std::string::npos);
  r.sleeping = true;
  std::string text = SerializeRoute(r);
  EXPECT_EQ(text, awake.substr(0, awake.size() - 1) + R"(, "sleeping": true})");
  auto back = ParseRoute("/devnginx/ns1/web", text);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_TRUE(back->sleeping);
  EXPECT_EQ(*back, r);
  EXPECT_FALSE(ParseRoute("/devnginx/ns1/web",
                          R"({"name": "web", "http_port": 1, "https_port": 0, "domain": "a.b", )"
                          R"("host_ip": "127.0.0.1", "sleeping": "yes"})"));
}

TEST(RouteTest, RouteForUsesPublishedPorts) {
  EnvironmentSpec spec;
  spec.ns = "default";
  spec.name = "demo";
  spec.domains = {"demo.ctest.localhost"};
  Route r = RouteFor(spec, "127.0.0.1", {{"ssh", 30000}, {"http", 30001}, {"https", 30002}});
  EXPECT_EQ(
      SerializeRoute(r),
      R"({"name": "demo", "http_port": 30001, "https_port": 30002, "domain": "demo.ctest.localhost", "host_ip": "127.0.0.1"})");
}

std::string Rec(const std::string& name, const std::string& http, const std::string& https,
                const std::string& domain, const std::string& ip) {
  return "{\"name\": " + name + ", \"http_port\": " + http + ", \"https_port\": " + https +
         ", \"domain\": " + domain + ", \"host_ip\": " + ip + "}";
}

// Records that must never reach an nginx config: (key, value, why).
std::vector<std::pair<std::string, std::string>> Hostile() {
  const std::string k = "/devnginx/default/x";
  const std::string ok_dom = "\"x.ctest.localhost\"";
  const std::string ok_ip = "\"127.0.0.1\"";
  return {
      {k, Rec("\"x\"", "80", "443", "\"x.ctest.localhost; include /etc/passwd\"", ok_ip)},
      {k, Rec("\"x\"", "80", "443", "\"x.ctest.localhost;\"", ok_ip)},
      {k, Rec("\"x\"", "80", "443", "\"x{.ctest.localhost\"", ok_ip)},
      {k, Rec("\"x\"", "80", "443", "\"x}.ctest.localhost\"", ok_ip)},
      {k, Rec("\"x\"", "80", "443", "\"x.ctest.localhost } server {\"", ok_ip)},
      {k, Rec("\"x\"", "80", "443", "\"x\\\".ctest.localhost\"", ok_ip)},
      {k, Rec("\"x\"", "80", "443", "\"x'.ctest.localhost\"", ok_ip)},
      {k, Rec("\"x\"", "80", "443", "\"$host\"", ok_ip)},
      {k, Rec("\"x\"", "80", "443", "\"x.ctest.localhost\\nserver_name evil\"", ok_ip)},
      {k, Rec("\"x\"", "80", "443", "\"x.ctest.localhost\\tevil\"", ok_ip)},
      {k, Rec("\"x\"", "80", "443", "\"X.CTEST.LOCALHOST\"", ok_ip)},
      {k, Rec("\"x\"", "80", "443", "\"*.ctest.localhost\"", ok_ip)},
      {k, Rec("\"x\"", "80", "443", "\"\"", ok_ip)},
      {k, Rec("\"x\"", "80", "443", "\"   \"", ok_ip)},
      {k, Rec("\"x\"", "80", "443", "\"" + std::string(64, 'a') + ".ctest.localhost\"", ok_ip)},
      {k, Rec("\"x\"", "80", "443", "\"" + std::string(250, 'a') + ".b\"", ok_ip)},
      {k, Rec("\"x\"", "80", "443", "[\"x.ctest.localhost\"]", ok_ip)},
      {k, Rec("\"x;\"", "80", "443", ok_dom, ok_ip)},
      {"/devnginx/default/x y", Rec("\"x y\"", "80", "443", ok_dom, ok_ip)},
      {k, Rec("\"x y\"", "80", "443", ok_dom, ok_ip)},
      {k, Rec("\"y\"", "80", "443", ok_dom, ok_ip)},  // name differs from the key
      {k, Rec("\"x\"", "\"80\"", "443", ok_dom, ok_ip)},
      {k, Rec("\"x\"", "80.5", "443", ok_dom, ok_ip)},
      {k, Rec("\"x\"", "true", "443", ok_dom, ok_ip)},
      {k, Rec("\"x\"", "0", "443", ok_dom, ok_ip)},
      {k, Rec("\"x\"", "-1", "443", ok_dom, ok_ip)},
      {k, Rec("\"x\"", "65536", "443", ok_dom, ok_ip)},
      {k, Rec("\"x\"", "99999999999999999999", "443", ok_dom, ok_ip)},
      {k, Rec("\"x\"", "80", "70000", ok_dom, ok_ip)},
      {k, Rec("\"x\"", "4294967376", "443", ok_dom, ok_ip)},
      {k, Rec("\"x\"", "18446744073709551615", "443", ok_dom, ok_ip)},
      {k, Rec("\"x\"", "80", "18446744073709551615", ok_dom, ok_ip)},
      {k, Rec("\"x\"", "80.0", "443", ok_dom, ok_ip)},
      {k, Rec("\"x\"", "8e1", "443", ok_dom, ok_ip)},
      {k, Rec("\"x\"", "80", "\"443; evil\"", ok_dom, ok_ip)},
      {k, Rec("\"x\"", "80", "443", ok_dom, "\"127.0.0.1; evil\"")},
      {k, Rec("\"x\"", "80", "443", ok_dom, "\"127.0.0.1:80\"")},
      {k, Rec("\"x\"", "80", "443", ok_dom, "\"256.1.1.1\"")},
      {k, Rec("\"x\"", "80", "443", ok_dom, "\"localhost\"")},
      {k, Rec("\"x\"", "80", "443", ok_dom, "\"\"")},
      {k, Rec("\"x\"", "80", "443", ok_dom, "\"[::1]\"")},
      {k, Rec("\"x\"", "80", "443", ok_dom, "1")},
      {"/devnginx/default/" + std::string(41, 'a'),
       Rec("\"" + std::string(41, 'a') + "\"", "80", "443", ok_dom, ok_ip)},
      {"/devnginx/Default/x", Rec("\"x\"", "80", "443", ok_dom, ok_ip)},
      {"/devnginx/x", Rec("\"x\"", "80", "443", ok_dom, ok_ip)},
      {"/devnginx/a/b/x", Rec("\"x\"", "80", "443", ok_dom, ok_ip)},
      {"/other/default/x", Rec("\"x\"", "80", "443", ok_dom, ok_ip)},
      {k, "{\"name\": \"x\", \"http_port\": 80"},
      {k, "[]"},
      {k, "\"x\""},
      {k, "{\"http_port\": 80, \"domain\": \"x.ctest.localhost\", \"host_ip\": \"127.0.0.1\"}"},
      {k, "{\"name\": \"x\", \"domain\": \"x.ctest.localhost\", \"host_ip\": \"127.0.0.1\"}"},
      {k, "{\"name\": \"x\", \"http_port\": 80, \"host_ip\": \"127.0.0.1\"}"},
      {k, "{\"name\": \"x\", \"http_port\": 80, \"domain\": \"x.ctest.localhost\"}"},
      {k, std::string(20000, ' ') + Rec("\"x\"", "80", "443", ok_dom, ok_ip)},
  };
}

TEST(RouteTest, RejectsHostileRecordsWithAReason) {
  for (const auto& [key, value] : Hostile()) {
    auto r = ParseRoute(key, value);
    EXPECT_FALSE(r) << "accepted " << key << " = " << value;
    if (!r) {
      EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
      EXPECT_NE(r.error().message.find("route \""), std::string::npos) << r.error().message;
    }
  }
}

TEST(RouteTest, HttpsPortMayBeAbsentOrZero) {
  auto r = ParseRoute(
      "/devnginx/default/x",
      R"({"name": "x", "http_port": 80, "domain": "x.ctest.localhost", "host_ip": "10.0.0.1"})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->https_port, 0);
}

TEST(RouteTest, DuplicateDomainsCollapse) {
  auto r = ParseRoute(
      "/devnginx/default/x",
      R"({"name": "x", "http_port": 80, "https_port": 443, "domain": "a.b  a.b c.d", "host_ip": "10.0.0.1"})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->domains, (std::vector<std::string>{"a.b", "c.d"}));
}

// A port is reported as written: get<int64_t>() wrapped 18446744073709551615 to -1. And a key
// that is not UTF-8 is an error like any other (quoting it for the message used to throw).
TEST(RouteTest, ErrorsShowTheValueAsWrittenAndNeverThrow) {
  auto r = ParseRoute("/devnginx/default/x",
                      R"({"name": "x", "http_port": 18446744073709551615, "https_port": 0, )"
                      R"("domain": "x.ctest.localhost", "host_ip": "127.0.0.1"})");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("http_port: 18446744073709551615 is out of range"),
            std::string::npos)
      << r.error().message;
  auto bad_key = ParseRoute("/devnginx/default/\xff\xfe", "{}");
  ASSERT_FALSE(bad_key);
  EXPECT_EQ(bad_key.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace berth
