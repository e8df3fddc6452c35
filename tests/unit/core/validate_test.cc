#include "berth/validate.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(ValidateName, AcceptsDns1123Labels) {
  for (const char* n : {"a", "test-java", "beta-tianxiao100-m", "x1", "abc-def-1"})
    EXPECT_TRUE(ValidateName(n)) << n;
}

TEST(ValidateName, RejectsEverythingElse) {
  for (const char* n : {"", "-a", "a-", "A", "a_b", "a.b", "a b", "a;b", "a{b", "1abc", "a\nb",
                        "a$b", "\"a\"", "a/b", "..", "ä"})
    EXPECT_FALSE(ValidateName(n)) << n;
  EXPECT_FALSE(ValidateName(std::string(kMaxNameLength + 1, 'a')));
  EXPECT_TRUE(ValidateName(std::string(kMaxNameLength, 'a')));
}

TEST(ValidateName, ErrorNamesTheProblem) {
  auto s = ValidateName("Bad_Name");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(s.error().message.find("lower-case"), std::string::npos) << s.error().message;
}

TEST(ValidateDomain, Labels) {
  EXPECT_TRUE(ValidateDomain("test-txcc.ctest.example.com"));
  EXPECT_TRUE(ValidateDomain("localhost"));
  EXPECT_FALSE(ValidateDomain("a..b"));
  EXPECT_FALSE(ValidateDomain("a.b."));
  EXPECT_FALSE(ValidateDomain("a b.com"));
  EXPECT_FALSE(ValidateDomain("a;b.com"));
  EXPECT_FALSE(ValidateDomain("*.example.com"));
  EXPECT_FALSE(ValidateDomain(std::string(64, 'a') + ".com"));
  EXPECT_FALSE(ValidateDomain(std::string(250, 'a') + ".com"));
}

TEST(ValidateImageRef, Grammar) {
  for (const char* ok :
       {"busybox", "library/busybox:1.36", "localhost/berth-test:1",
        "127.0.0.1:5000/team/app:v1.2.3", "registry.example.com/a/b/c",
        "app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "my_app__x:latest"})
    EXPECT_TRUE(ValidateImageRef(ok)) << ok;
  for (const char* bad : {"", "upper/CASE", "a b", "app:", "app:tag with space", "app;rm -rf /",
                          "app:$(id)", ":tag", "/app", "app//x", "app@sha256:xyz", "-app"})
    EXPECT_FALSE(ValidateImageRef(bad)) << bad;
}

TEST(ValidatePort, Range) {
  EXPECT_TRUE(ValidatePort(1));
  EXPECT_TRUE(ValidatePort(65535));
  EXPECT_FALSE(ValidatePort(0));
  EXPECT_FALSE(ValidatePort(65536));
  EXPECT_FALSE(ValidatePort(-1));
}

TEST(ValidateHostIp, Literals) {
  EXPECT_TRUE(ValidateHostIp("127.0.0.1"));
  EXPECT_TRUE(ValidateHostIp("::1"));
  EXPECT_FALSE(ValidateHostIp("localhost"));
  EXPECT_FALSE(ValidateHostIp("1.2.3.4; evil"));
  EXPECT_FALSE(ValidateHostIp("256.1.1.1"));
}

TEST(Quantities, Convert) {
  EXPECT_EQ(*CpuToNanoCpus("500m"), 500000000);
  EXPECT_EQ(*CpuToNanoCpus("2"), 2000000000);
  EXPECT_EQ(*CpuToNanoCpus("0.5"), 500000000);
  EXPECT_EQ(*MemoryToBytes("2000Mi"), 2000LL * 1024 * 1024);
  EXPECT_EQ(*MemoryToBytes("100Mi"), 100LL * 1024 * 1024);
  EXPECT_EQ(*MemoryToBytes("1G"), 1000000000);
  EXPECT_FALSE(CpuToNanoCpus("abc"));
  EXPECT_FALSE(CpuToNanoCpus("0"));
  EXPECT_FALSE(MemoryToBytes("12Xi"));
  EXPECT_FALSE(MemoryToBytes("-1"));
}

EnvironmentSpec Valid() {
  EnvironmentSpec s;
  s.name = "test-java";
  s.image = "localhost/app:1";
  ApplyDefaults(s, {"ctest.a.com", "ctest.b.com"});
  return s;
}

TEST(ApplyDefaults, TheOriginalsDefaults) {
  auto s = Valid();
  ASSERT_EQ(s.ports.size(), 3u);
  EXPECT_EQ(s.ports[0].name, "ssh");
  EXPECT_EQ(s.ports[0].container_port, 22);
  EXPECT_EQ(s.ports[1].container_port, 80);
  EXPECT_EQ(s.ports[2].container_port, 443);
  EXPECT_EQ(s.resources.cpu_limit, "500m");
  EXPECT_EQ(s.resources.memory_limit, "2000Mi");
  EXPECT_EQ(s.resources.cpu_request, "10m");
  EXPECT_EQ(s.resources.memory_request, "100Mi");
  EXPECT_EQ(s.pull_policy, PullPolicy::kAlways);
  EXPECT_EQ(s.volume_mount, "/apps");
  ASSERT_EQ(s.domains.size(), 2u);
  EXPECT_EQ(s.domains[0], "test-java.ctest.a.com");
  EXPECT_EQ(s.domains[1], "test-java.ctest.b.com");
  EXPECT_TRUE(ValidateSpec(s));
}

TEST(ValidateSpec, RejectsBadFields) {
  auto check = [](auto mutate, const char* needle) {
    auto s = Valid();
    mutate(s);
    auto r = ValidateSpec(s);
    ASSERT_FALSE(r) << needle;
    EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
  };
  check([](EnvironmentSpec& s) { s.ports[1].container_port = 70000; }, "out of range");
  check([](EnvironmentSpec& s) { s.ports[1].name = "ssh"; }, "used twice");
  check([](EnvironmentSpec& s) { s.ports[1].container_port = 22; }, "used twice");
  check([](EnvironmentSpec& s) { s.env["1BAD"] = "x"; }, "environment variable");
  check([](EnvironmentSpec& s) { s.labels["a b"] = "x"; }, "label key");
  check([](EnvironmentSpec& s) { s.labels["ok"] = "bad value"; }, "label value");
  check([](EnvironmentSpec& s) { s.domains.push_back("x;y.com"); }, "domain");
  check([](EnvironmentSpec& s) { s.resources.cpu_request = "2"; }, "above the CPU limit");
  check([](EnvironmentSpec& s) { s.volume_mount = "relative"; }, "absolute");
  check([](EnvironmentSpec& s) { s.volume_mount = "/a:/b"; }, "invalid characters");
  check([](EnvironmentSpec& s) { s.controller = "statefulset"; }, "controller");
  check([](EnvironmentSpec& s) { s.image = "Bad Image"; }, "image");
}

TEST(EnvironmentJson, RoundTrips) {
  auto s = Valid();
  s.env["A"] = "1";
  s.labels["team"] = "web";
  s.ports[1].host_port = 30879;
  s.generation = 3;
  s.rollback_on_failure = true;
  auto back = ParseSpec(SerializeSpec(s));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->name, s.name);
  EXPECT_EQ(back->ports, s.ports);
  EXPECT_EQ(back->env, s.env);
  EXPECT_EQ(back->labels, s.labels);
  EXPECT_EQ(back->resources, s.resources);
  EXPECT_EQ(back->generation, 3);
  EXPECT_TRUE(back->rollback_on_failure);
  EXPECT_EQ(back->domains, s.domains);
}

TEST(EnvironmentJson, BadJsonIsAnError) {
  EXPECT_FALSE(ParseSpec("{"));
  EXPECT_FALSE(ParseSpec(R"({"name": 5})"));
  EXPECT_FALSE(ParseSpec(R"({"name":"a","pull_policy":"Sometimes"})"));
  auto st = ParseStatus(R"({"phase":"Running","ports":{"http":1}})");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->phase, Phase::kRunning);
}

TEST(EnvStatus, EventsAreBounded) {
  EnvStatus st;
  for (int i = 0; i < 100; ++i) st.AddEvent("Normal", "R", std::to_string(i));
  EXPECT_EQ(st.events.size(), 20u);
  EXPECT_EQ(st.events.back().message, "99");
}

// A retry loop (Creating, ApplyFailed, Creating, ...) folds into two counted events and the
// history before it stays.
TEST(EnvStatus, RepeatedEventsAreFoldedWithACount) {
  EnvStatus st;
  st.AddEvent("Normal", "Accepted", "environment accepted");
  for (int i = 0; i < 50; ++i) {
    st.AddEvent("Normal", "Creating", "creating workload for generation 1");
    st.AddEvent("Warning", "ApplyError", "host port 31329 (ssh) on 127.0.0.1 is in use");
  }
  ASSERT_EQ(st.events.size(), 3u);
  EXPECT_EQ(st.events[0].reason, "Accepted");
  EXPECT_EQ(st.events[0].count, 1);
  EXPECT_EQ(st.events[1].reason, "Creating");
  EXPECT_EQ(st.events[1].count, 50);
  EXPECT_EQ(st.events[2].reason, "ApplyError");
  EXPECT_EQ(st.events[2].count, 50);
  // Same reason, other message: a different event. The count survives the JSON round trip.
  st.AddEvent("Warning", "ApplyError", "image not found");
  EXPECT_EQ(st.events.size(), 4u);
  auto back = ParseStatus(SerializeStatus(st));
  ASSERT_TRUE(back);
  ASSERT_EQ(back->events.size(), 4u);
  EXPECT_EQ(back->events[2].count, 50);
  EXPECT_EQ(back->events[3].count, 1);
  auto old = ParseStatus(R"({"events":[{"time":"t","type":"Normal","reason":"R","message":"m"}]})");
  ASSERT_TRUE(old);  // stored before counts existed
  EXPECT_EQ(old->events.at(0).count, 1);
}

}  // namespace
}  // namespace berth
