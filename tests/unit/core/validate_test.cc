#include "berth/validate.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "util/fs.h"

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

// The grammar in validate.cc, case by case: what the old regular expression accepted and
// refused (checked against it on random inputs before it was removed).
TEST(ValidateImageRef, GrammarCases) {
  for (const char* ok : {"a",
                         "0",
                         "a0",
                         "a.b",
                         "a_b",
                         "a__b",
                         "a-b",
                         "a---b",
                         "a.b_c__d-e--f",
                         "a/b/c/d",
                         "a-b/c.d/e__f",
                         "a:tag",
                         "a:TAG_1.2-x",
                         "a:_",
                         "a:0",
                         "ho_st/a" /* a path, not a domain */,
                         "Host/a",
                         "HOST.Example-1.com/a",
                         "host:1/a",
                         "host:0123456789/a:v",
                         "localhost:5000/a/b:v@sha256:0123456789abcdef0123456789abcdef",
                         "a@sha256:0123456789ABCDEF0123456789abcdef",
                         "a@x-y_z+w.v:0123456789abcdef0123456789abcdef",
                         "a@A1:0123456789abcdef0123456789abcdef0123",
                         "a:t@sha256:0123456789abcdef0123456789abcdef",
                         "1.2.3.4:5000/x",
                         "a-b.c/d"})
    EXPECT_TRUE(ValidateImageRef(ok)) << ok;
  std::string tag128 = "a:" + std::string(128, 't');
  EXPECT_TRUE(ValidateImageRef(tag128));
  for (const std::string& bad :
       std::vector<std::string>{"A",
                                "a.",
                                ".a",
                                "a..b",
                                "a._b",
                                "a___b",
                                "a-",
                                "-a",
                                "a_",
                                "a/",
                                "/a",
                                "a//b",
                                "a:",
                                "a:.t",
                                "a:-t",
                                "a:t:u",
                                "a:t/b",
                                "host:/a",
                                "host:x/a",
                                "-host/a",
                                "host-/a",
                                "host..x/a",
                                "host:5000/",
                                "a@",
                                "a@sha256",
                                "a@sha256:0123",
                                "a@sha256:0123456789abcdef0123456789abcdeg",
                                "a@1x:0123456789abcdef0123456789abcdef",
                                "a@x-:0123456789abcdef0123456789abcdef",
                                "a@x--y:0123456789abcdef0123456789abcdef",
                                "a@@sha256:0123456789abcdef0123456789abcdef",
                                "a@sha256:0123456789abcdef0123456789abcdef@x",
                                "a b",
                                "a\nb",
                                std::string("a\0b", 3),
                                "\xc3\xa4",
                                "a:t\xc3\xa4",
                                "a!",
                                "a*",
                                "a?",
                                "a%20"})
    EXPECT_FALSE(ValidateImageRef(bad)) << bad;
  EXPECT_TRUE(ValidateImageRef("host:5000"));  // "host" tagged "5000"
  EXPECT_FALSE(ValidateImageRef("a:" + std::string(129, 't')));
  EXPECT_TRUE(ValidateImageRef(std::string(512, 'a')));
  EXPECT_FALSE(ValidateImageRef(std::string(513, 'a')));
}

TEST(ValidateLabels, KeysAndValues) {
  for (const std::string& ok :
       std::vector<std::string>{"a", "A", "0", "a.b-c_d", "team", "app.kubernetes.io/name",
                                "example.com/x", std::string(63, 'a'), "a/" + std::string(63, 'B')})
    EXPECT_TRUE(ValidateLabelKey(ok)) << ok;
  for (const std::string& bad :
       std::vector<std::string>{"", "-a", "a-", ".a", "a.", "a b", "a/b/c", "/a", "a/", "A_B.com/x",
                                "a;b", std::string(64, 'a'), "\xc3\xa4"})
    EXPECT_FALSE(ValidateLabelKey(bad)) << bad;
  for (const std::string& ok :
       std::vector<std::string>{"", "a", "v1.2", "A-b_c.D", std::string(63, 'z')})
    EXPECT_TRUE(ValidateLabelValue(ok)) << ok;
  for (const std::string& bad :
       std::vector<std::string>{"-", "a-", "_a", "a b", "a/b", std::string(64, 'z')})
    EXPECT_FALSE(ValidateLabelValue(bad)) << bad;
}

TEST(ValidateEnvName, CIdentifiers) {
  for (const std::string& ok :
       std::vector<std::string>{"A", "_", "a_b", "PATH", "_9", std::string(255, 'X')})
    EXPECT_TRUE(ValidateEnvName(ok)) << ok;
  for (const std::string& bad : std::vector<std::string>{"", "9A", "A-B", "A B", "A=B", "A.B",
                                                         std::string(256, 'X'), "\xc3\xa4"})
    EXPECT_FALSE(ValidateEnvName(bad)) << bad;
}

// Adversarial inputs of the maximum length each validator allows (and past it), built from the
// patterns that made the old std::regex validators backtrack: runs of one class followed by a
// character that fails the match at the very end. There is no timed assertion: the old image
// regex needed seconds for 27 characters and twice as long per added one, so on 512 it never
// finishes and ctest's time-out (--timeout 900 in scripts/test.sh) fails this test; the
// scanners finish each input in one pass.
TEST(LinearTime, AdversarialInputsOfTheMaximumLength) {
  const char* units[] = {"a",  "a-", "a.", "a_", "a__", "a--", "a-.", "a._", "a/",   "a:",
                         "a@", ":",  "@",  "/",  "._-", "0",   "A",   "A-",  "a.a-", "1."};
  const char* ends[] = {"", "!", "-", ".", "_", ":", "@", "/", "A", "\xff"};
  auto fill = [](std::string_view unit, size_t n) {
    std::string s;
    while (s.size() < n) s += unit;
    s.resize(n);
    return s;
  };
  size_t checked = 0;
  for (const char* unit : units) {
    for (const char* end : ends) {
      for (size_t max : {size_t{27}, size_t{63}, size_t{253}, size_t{255}, size_t{512}}) {
        std::string s = fill(unit, max - std::string_view(end).size()) + end;
        (void)ValidateImageRef(s);
        (void)ValidateImageRef("host.example.com:5000/" + s);
        (void)ValidateImageRef(s + "@sha256:" + std::string(64, 'a'));
        (void)ValidateLabelKey(s);
        (void)ValidateLabelKey(fill(unit, 253) + "/" + s);
        (void)ValidateLabelValue(s);
        (void)ValidateEnvName(s);
        (void)ValidateDomain(s);
        (void)ValidateName(s);
        (void)ValidateNamespace(s);
        (void)ValidateVolumeMount("/" + s);
        (void)ValidateQuantity(s.substr(0, 20), true);
        (void)ValidateQuantity(s.substr(0, 20), false);
        checked += 13;
      }
    }
  }
  EXPECT_EQ(checked, 20u * 10u * 5u * 13u);
  // The reported case and its longest form.
  for (size_t n : {size_t{27}, size_t{511}})
    EXPECT_FALSE(ValidateImageRef(std::string(n, 'a') + "!"));
  EXPECT_TRUE(ValidateImageRef(fill("a-", 511)));
  EXPECT_FALSE(ValidateImageRef(fill("a-", 510) + "-!"));
  EXPECT_FALSE(ValidateImageRef(fill("::::", 512)));
  EXPECT_FALSE(ValidateImageRef(fill("@@@", 512)));
  EXPECT_FALSE(ValidateLabelKey(std::string(62, 'a') + "!"));
  EXPECT_FALSE(ValidateEnvName(std::string(254, 'a') + "!"));
  // Far past every limit: refused by length before any scan.
  const std::string huge(1 << 20, 'a');
  EXPECT_FALSE(ValidateImageRef(huge));
  EXPECT_FALSE(ValidateLabelKey(huge));
  EXPECT_FALSE(ValidateEnvName(huge));
  EXPECT_FALSE(ValidateDomain(huge));
  EXPECT_FALSE(ValidateVolumeMount("/" + huge));
  EXPECT_FALSE(ValidateQuantity(huge, true));
  EXPECT_FALSE(ValidateQuantity(huge, false));
}

// The product has no backtracking matcher to fall back into: no source under src/ or include/
// includes <regex> (validate.cc says why).
TEST(LinearTime, NoStdRegexInTheProduct) {
  size_t files = 0;
  for (const char* dir : {"/src", "/include"}) {
    for (const auto& e :
         std::filesystem::recursive_directory_iterator(std::string(BERTH_SOURCE_DIR) + dir)) {
      if (!e.is_regular_file()) continue;
      auto text = util::ReadFile(e.path().string());
      ASSERT_TRUE(text) << e.path();
      EXPECT_EQ(text->find("#include <regex>"), std::string::npos) << e.path();
      ++files;
    }
  }
  EXPECT_GT(files, 100u);
}

// Messages quote user input as ASCII: a quote cut at 80 bytes through a UTF-8 sequence made the
// API's JSON error body unserializable (a 500 instead of the 400).
TEST(ValidateName, MessagesAreAsciiWhateverTheInput) {
  std::string name = "a";
  for (int i = 0; i < 60; ++i) name += "\xc3\xa4";
  auto s = ValidateName(name);
  ASSERT_FALSE(s);
  for (char c : s.error().message) EXPECT_LT(static_cast<unsigned char>(c), 0x80);
  EXPECT_NE(s.error().message.find("\\xc3\\xa4"), std::string::npos) << s.error().message;
}

TEST(ValidateVolumeMount, AbsoluteNormalizedAndNotASystemDirectory) {
  for (const std::string& ok :
       std::vector<std::string>{"/apps", "/home/dev", "/srv/data", "/opt/app", "/var/www",
                                "/usr/local/app", "/etc/myapp", "/var/lib/mysql", "/data/a..b",
                                "/a/.hidden", "/tmp", "/" + std::string(254, 'a')})
    EXPECT_TRUE(ValidateVolumeMount(ok)) << ok;
  struct Case {
    std::string path;
    const char* needle;
  } bad[] = {
      {"", "absolute"},
      {"apps", "absolute"},
      {"./apps", "absolute"},
      {"/", "root directory"},
      {"//", "empty"},
      {"/proc", "system directory"},
      {"/sys", "system directory"},
      {"/dev", "system directory"},
      {"/etc", "system directory"},
      {"/bin", "system directory"},
      {"/sbin", "system directory"},
      {"/usr", "system directory"},
      {"/usr/bin", "system directory"},
      {"/usr/lib", "system directory"},
      {"/lib", "system directory"},
      {"/lib64", "system directory"},
      {"/boot", "system directory"},
      {"/run", "system directory"},
      {"/var", "system directory"},
      {"/var/lib", "system directory"},
      {"/proc/", "trailing"},
      {"/apps/", "trailing"},
      {"/apps//x", "empty"},
      {"/apps/.", "'.'"},
      {"/apps/./x", "'.'"},
      {"/apps/..", "'..'"},
      {"/x/../proc", "'..'"},
      {"/..", "'..'"},
      {"/proc/self", "inside /proc"},
      {"/proc/sys/kernel", "inside /proc"},
      {"/sys/fs/cgroup", "inside /sys"},
      {"/dev/shm", "inside /dev"},
      {std::string("/apps\0x", 7), "invalid characters"},
      {"/apps\n", "invalid characters"},
      {"/a:/b", "invalid characters"},
      {"/a,b", "invalid characters"},
      {"/" + std::string(255, 'a'), "longer than 255"},
  };
  for (const auto& c : bad) {
    auto s = ValidateVolumeMount(c.path);
    ASSERT_FALSE(s) << c.path;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(s.error().message.find(c.needle), std::string::npos) << s.error().message;
    EXPECT_NE(s.error().message.find("volume mount"), std::string::npos) << s.error().message;
  }
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
  // A NUL would end the C string inet_pton reads: what follows must not slip through.
  EXPECT_FALSE(
      ValidateHostIp(std::string("172.21.133.1\0"
                                 "2",
                                 14)));
  EXPECT_FALSE(ValidateHostIp(std::string("::1\0", 4)));
  EXPECT_FALSE(ValidateHostIp(std::string(46, '1')));
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

// std::stoll threw out_of_range for a 20-digit memory quantity: an exception through the API,
// a 500. Now every quantity is parsed with overflow checks and converted exactly.
TEST(Quantities, OverflowAndPrecision) {
  for (const char* q : {"99999999999999999999", "9999999999999999999", "18446744073709551616",
                        "1125899906842625", "1025Ti", "1048577Gi", "00000000000000000000"}) {
    EXPECT_FALSE(MemoryToBytes(q)) << q;
    auto s = ValidateQuantity(q, false);
    ASSERT_FALSE(s) << q;
    EXPECT_NE(s.error().message.find("out of range"), std::string::npos) << s.error().message;
  }
  EXPECT_EQ(*MemoryToBytes("1125899906842624"), int64_t{1} << 50);
  EXPECT_EQ(*MemoryToBytes("1024Ti"), int64_t{1} << 50);
  EXPECT_EQ(*MemoryToBytes("0001Ki"), 1024);
  EXPECT_EQ(*MemoryToBytes("7k"), 7000);
  for (const char* q : {"", "Mi", "1Mi ", " 1", "1.5Gi", "1e3", "1Pi", "1KiB", "+1", "1ki"})
    EXPECT_FALSE(MemoryToBytes(q)) << q;
  for (const char* q :
       {"99999999999999999999", "4097", "4096.000000001", "4096.0000000001", "4096001m",
        "0.0000000001", "0.0000001m", "0", "0m", "0.0", "0000000000000000000m"}) {
    EXPECT_FALSE(CpuToNanoCpus(q)) << q;
    auto s = ValidateQuantity(q, true);
    ASSERT_FALSE(s) << q;
    EXPECT_NE(s.error().message.find("out of range"), std::string::npos) << s.error().message;
  }
  EXPECT_EQ(*CpuToNanoCpus("4096"), 4096LL * 1000000000);
  EXPECT_EQ(*CpuToNanoCpus("4096.000000000000"), 4096LL * 1000000000);
  EXPECT_EQ(*CpuToNanoCpus("4096000m"), 4096LL * 1000000000);
  EXPECT_EQ(*CpuToNanoCpus("0.3"), 300000000);
  EXPECT_EQ(*CpuToNanoCpus("0.000000001"), 1);
  EXPECT_EQ(*CpuToNanoCpus("0.000001m"), 1);
  EXPECT_EQ(*CpuToNanoCpus("0.0001m"), 100);
  EXPECT_EQ(*CpuToNanoCpus("1.5m"), 1500000);
  EXPECT_EQ(*CpuToNanoCpus("10m"), 10000000);
  EXPECT_EQ(*CpuToNanoCpus("0000000000000000002"), 2000000000);
  for (const char* q :
       {"", "m", ".5", "5.", "1.2.3", "1mm", "1M", "-1", "1e3", " 1", "123456789012345678901"})
    EXPECT_FALSE(CpuToNanoCpus(q)) << q;
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
  check([](EnvironmentSpec& s) { s.volume_mount = "/"; }, "volume mount");
  check([](EnvironmentSpec& s) { s.volume_mount = "/proc"; }, "system directory");
  check([](EnvironmentSpec& s) { s.volume_mount = "/apps/../etc"; }, "'..'");
  check([](EnvironmentSpec& s) { s.resources.memory_limit = "99999999999999999999"; },
        "resources.limits.memory: memory quantity \"99999999999999999999\" is out of range");
  check([](EnvironmentSpec& s) { s.resources.cpu_request = "lots"; }, "resources.requests.cpu");
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

// The store's parser stays tolerant: a record as the previous release wrote it (no
// rollback_on_failure, an event without a count, a field since dropped) still loads. Strictness
// is at the API edge (DecodeCreateRequest).
TEST(EnvironmentJson, RecordsOfThePreviousReleaseLoad) {
  auto s = ParseSpec(R"({"namespace":"default","name":"web","image":"localhost/app:1",
    "release_mode":"image","replicas":1,
    "ports":[{"name":"ssh","container_port":22,"host_port":30022},{"name":"http","container_port":80,"host_port":0}],
    "resources":{"limits":{"cpu":"500m","memory":"2000Mi"},"requests":{"cpu":"10m","memory":"100Mi"}},
    "env":{"A":"1"},"labels":{},"command":[],"domains":["web.ctest.localhost"],"pull_policy":"Always",
    "volume_mount":"/apps","controller":"","ttl_seconds":0,"generation":2,"deleting":false,
    "purge":false,"created_at":"2026-01-01T00:00:00Z","old_field":{"x":1}})");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->ports.size(), 2u);
  EXPECT_EQ(s->ports[0].host_port, 30022);
  EXPECT_EQ(s->generation, 2);
  EXPECT_FALSE(s->rollback_on_failure);
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
