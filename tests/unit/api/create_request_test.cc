// Strict decoding at the REST edge (issue 11, item 7): the create and rebuild bodies, directly
// and through ApiServer::Handle over a real SQLite store. Every bad body is a 400 naming the
// field's path; none is coerced, none is a 500, none leaves a record.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/api_server.h"
#include "util/fs.h"

namespace berth::api {
namespace {

using nlohmann::json;

struct BadBody {
  std::string body;
  std::string message;  // a substring of the error
};

// The reported bodies first, then their class at every nesting level.
std::vector<BadBody> BadBodies() {
  const std::string n = R"("name":"web",)";
  return {
      {"{" + n + R"("ports":[{"name":"http","container_port":4294967376}]})",
       "ports[0].container_port: 4294967376 is out of range (must be in 1..65535)"},
      {"{" + n + R"("replicas":4294967297})",
       "replicas: 4294967297 is out of range (must be in 0..100)"},
      {"{" + n + R"("ports":[{"name":"http","container_port":80.5}]})",
       "ports[0].container_port: must be an integer in 1..65535, got 80.5"},
      {"{" + n + R"("resources":"big"})", R"(resources: must be a JSON object, got "big")"},
      {"{" + n + R"("ports":[{"name":"http","container_port":80,"hostport":1}]})",
       R"(ports[0]: unknown field "hostport")"},
      {"{" + n + R"("resources":{"limits":{"cpu":"1","gpu":"1"}}})",
       R"(resources.limits: unknown field "gpu")"},
      {"{" + n + R"("resources":{"limit":{"cpu":"1"}}})", R"(resources: unknown field "limit")"},
      {"{" + n + R"("resources":{"limits":{"memory":"99999999999999999999"}}})",
       R"(resources.limits.memory: memory quantity "99999999999999999999" is out of range)"},
      {"{" + n + R"("resources":{"limits":{"memory":99999999999999999999}}})",
       "resources.limits.memory: must be a string, got 1e+20"},
      {"{" + n + R"("resources":{"requests":[]}})",
       "resources.requests: must be a JSON object, got []"},
      {"{" + n + R"("resources":{"limits":["1"]}})",
       "resources.limits: must be a JSON object, got an array"},
      {"{" + n + R"("env":{"A":1}})", "env.A: must be a string, got 1"},
      {"{" + n + R"("env":{"A B":null}})", R"(env["A B"]: must be a string, got null)"},
      {"{" + n + R"("env":["A=1"]})", "env: must be an object of strings"},
      {"{" + n + R"("labels":{"team":true}})", "labels.team: must be a string, got true"},
      {"{" + n + R"("command":["sh",1]})", "command[1]: must be a string, got 1"},
      {"{" + n + R"("command":"sh -c x"})", "command: must be an array of strings"},
      {"{" + n + R"("domains":"web.example.com"})", "domains: must be an array of strings"},
      {"{" + n + R"("domains":[{"name":"x"}]})", "domains[0]: must be a string"},
      {"{" + n + R"("replicas":-1})", "replicas: -1 is out of range (must be in 0..100)"},
      {"{" + n + R"("replicas":"2"})", R"(replicas: must be an integer in 0..100, got "2")"},
      {"{" + n + R"("replicas":1.0})", "replicas: must be an integer in 0..100, got 1.0"},
      {"{" + n + R"("replicas":1e0})", "replicas: must be an integer in 0..100"},
      {"{" + n + R"("replicas":true})", "replicas: must be an integer in 0..100, got true"},
      {"{" + n + R"("ttl_seconds":-5})",
       "ttl_seconds: -5 is out of range (must be in 0..316224000)"},
      {"{" + n + R"("ttl_seconds":316224001})",
       "ttl_seconds: 316224001 is out of range (must be in 0..316224000)"},
      {"{" + n + R"("ttl_seconds":18446744073709551615})",
       "ttl_seconds: 18446744073709551615 is out of range (must be in 0..316224000)"},
      {"{" + n + R"("ttl_seconds":"8h"})", "ttl_seconds: must be an integer"},
      {"{" + n + R"("purge_on_expiry":"yes"})", "purge_on_expiry: must be true or false"},
      {"{" + n + R"("expires_at":"2030-01-01T00:00:00Z"})", "expires_at"},
      {"{" + n + R"("ports":[{"name":"http","container_port":80,"host_port":-1}]})",
       "ports[0].host_port: -1 is out of range (must be in 0..65535)"},
      {"{" + n + R"("ports":[{"name":"http","container_port":0}]})",
       "ports[0].container_port: 0 is out of range (must be in 1..65535)"},
      {"{" + n + R"("ports":[{"name":"a","container_port":1},{"container_port":80}]})",
       "ports[1].name: is required"},
      {"{" + n + R"("ports":[{"name":"http"}]})", "ports[0].container_port: is required"},
      {"{" + n + R"("ports":[{"name":5,"container_port":80}]})",
       "ports[0].name: must be a string, got 5"},
      {"{" + n + R"("ports":{"http":80}})", "ports: must be an array of ports"},
      {"{" + n + R"("ports":["http:80"]})", R"(ports[0]: must be a JSON object, got "http:80")"},
      {"{" + n + R"("pull_policy":5})", "pull_policy: must be a string, got 5"},
      {"{" + n + R"("release_mode":"binary"})", "release_mode: release mode must be image or code"},
      {"{" + n + R"("volume_mount":false})", "volume_mount: must be a string, got false"},
      {R"({"name":null})", "name: must be a string, got null"},
      {"{" + n + R"("name":"other"})", R"(field "name" is given twice)"},
      {"{" + n + R"("env":{"A":"1","A":"2"}})", R"(field "A" is given twice)"},
      {"{" + n + R"("imgae":"x"})", R"(unknown field "imgae")"},
      {"[]", "request body: must be a JSON object, got []"},
      {"{", "request body is not valid JSON"},
      {"{\"name\":\"\xff\"}", "request body is not valid JSON"},
  };
}

TEST(ParseCreateRequest, RefusesEveryCoercionNamingTheField) {
  for (const auto& c : BadBodies()) {
    if (c.message.find("memory quantity") != std::string::npos) continue;  // ValidateSpec's
    auto r = ParseCreateRequest(c.body);
    ASSERT_FALSE(r) << c.body;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find(c.message), std::string::npos)
        << c.body << "\n  got: " << r.error().message << "\n want: " << c.message;
  }
}

// Deep nesting inside a field is a wrong type like any other, not a crash (the body limit is
// 1 MiB; nlohmann parses and destroys without recursion).
TEST(ParseCreateRequest, DeepNestingIsAnError) {
  const size_t depth = 400000;
  auto r = ParseCreateRequest(R"({"name":"x","env":)" + std::string(depth, '[') +
                              std::string(depth, ']') + "}");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("env: must be an object of strings"), std::string::npos)
      << r.error().message;
}

TEST(ParseCreateRequest, AcceptsTheDocumentedBody) {
  bool pull_given = false, ttl_given = false;
  auto r = ParseCreateRequest(R"({"namespace": "default", "name": "test-java",
    "image": "registry.local/app:1", "ports": [{"name": "http", "container_port": 8080},
    {"name": "ssh", "container_port": 22, "host_port": 30022}], "env": {"A": "1"},
    "labels": {"team": "web"}, "resources": {"limits": {"cpu": "500m", "memory": "2000Mi"},
    "requests": {"cpu": "10m", "memory": "100Mi"}}, "pull_policy": "IfNotPresent",
    "release_mode": "code", "volume_mount": "/apps", "command": ["sh", "-c", "x"], "domains": [],
    "replicas": 100, "controller": "deployment", "ttl_seconds": 316224000,
    "purge_on_expiry": true})",
                              &pull_given, &ttl_given);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(pull_given);
  EXPECT_EQ(r->name, "test-java");
  ASSERT_EQ(r->ports.size(), 2u);
  EXPECT_EQ(r->ports[0], (PortSpec{"http", 8080, 0}));
  EXPECT_EQ(r->ports[1], (PortSpec{"ssh", 22, 30022}));
  EXPECT_EQ(r->env.at("A"), "1");
  EXPECT_EQ(r->resources.cpu_limit, "500m");
  EXPECT_EQ(r->pull_policy, PullPolicy::kIfNotPresent);
  EXPECT_EQ(r->release_mode, ReleaseMode::kCode);
  EXPECT_EQ(r->command, (std::vector<std::string>{"sh", "-c", "x"}));
  EXPECT_EQ(r->replicas, 100);
  EXPECT_EQ(r->ttl_seconds, 316224000);
  EXPECT_TRUE(ttl_given);
  EXPECT_TRUE(r->purge_on_expiry);

  // Absent fields keep the request defaults.
  auto d = ParseCreateRequest(R"({"name":"x","resources":{"limits":{"cpu":"1"}}})", &pull_given,
                              &ttl_given);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_FALSE(pull_given);
  EXPECT_FALSE(ttl_given);  // the namespace's default TTL then applies
  EXPECT_FALSE(d->purge_on_expiry);
  EXPECT_EQ(d->ns, "default");
  EXPECT_EQ(d->volume_mount, "/apps");
  EXPECT_EQ(d->replicas, 1);
  EXPECT_TRUE(d->ports.empty());
  EXPECT_EQ(d->resources.cpu_limit, "1");
  EXPECT_EQ(d->resources.memory_limit, "2000Mi");
  EXPECT_EQ(d->pull_policy, PullPolicy::kAlways);
}

TEST(ParseRebuildRequest, StrictToo) {
  EXPECT_EQ(*ParseRebuildRequest(""), "");
  EXPECT_EQ(*ParseRebuildRequest("{}"), "");
  EXPECT_EQ(*ParseRebuildRequest(R"({"image":"localhost/app:2"})"), "localhost/app:2");
  const std::pair<const char*, const char*> bad[] = {
      {R"({"image":5})", "image: must be a string, got 5"},
      {R"({"image":null})", "image: must be a string, got null"},
      {R"({"img":"x"})", R"(unknown field "img")"},
      {R"({"image":"a","image":"b"})", R"(field "image" is given twice)"},
      {"[]", "must be a JSON object"},
      {"{", "rebuild body is not valid JSON"},
  };
  for (const auto& [body, message] : bad) {
    auto r = ParseRebuildRequest(body);
    ASSERT_FALSE(r) << body;
    EXPECT_NE(r.error().message.find(message), std::string::npos) << r.error().message;
  }
}

class StrictApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::OpenStore("sqlite://" + dir.path() + "/b.db");
    ASSERT_TRUE(s) << s.error().message;
    st = std::move(*s);
    cfg = DefaultConfig();
    cfg.socket = dir.path() + "/api.sock";
    cfg.default_image = "localhost/app:1";
    service = std::make_unique<EnvironmentService>(*st, cfg);
    server = std::make_unique<ApiServer>(*service, cfg, nullptr, nullptr);
  }
  net::ServerResponse Post(const std::string& path, const std::string& body) {
    net::ServerRequest r;
    r.method = "POST";
    r.path = path;
    r.body = body;
    r.peer = "unix";
    r.headers["content-type"] = "application/json";  // else 415, before any decoding
    return server->Handle(r);
  }
  util::TempDir dir{"berth-strict"};
  std::unique_ptr<store::Store> st;
  Config cfg;
  std::unique_ptr<EnvironmentService> service;
  std::unique_ptr<ApiServer> server;
};

// Through the request handler: 400 InvalidArgument with the field's path for every bad body
// (memory 99999999999999999999 was an exception out of the validator, a 500; a body that is
// not UTF-8 made the error itself unserializable), and no record stored.
TEST_F(StrictApiTest, BadBodiesAre400sNamingTheFieldAndStoreNothing) {
  int i = 0;
  for (const auto& c : BadBodies()) {
    // A name per case: on a server that coerces, one stored case must not hide the next.
    std::string body = c.body;
    if (auto at = body.find("\"web\""); at != std::string::npos)
      body.replace(at, 5, "\"bad" + std::to_string(i++) + "\"");
    auto r = Post("/v1/environments", body);
    EXPECT_EQ(r.status, 400) << c.body << " -> " << r.body;
    auto j = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.body;
    auto error = j.value("error", json::object());
    EXPECT_EQ(error.value("code", ""), "InvalidArgument") << r.body;
    EXPECT_NE(error.value("message", "").find(c.message), std::string::npos)
        << c.body << "\n  got: " << r.body << "\n want: " << c.message;
  }
  EXPECT_TRUE(st->List("/")->kvs.empty());
}

// Item 10: a volume over "/" or a system directory is refused at create.
TEST_F(StrictApiTest, VolumeMountsOverSystemDirectoriesAreRefused) {
  for (const char* mount : {"/", "/proc", "/sys", "/dev", "/etc", "/usr", "/proc/self",
                            "/apps/../etc", "/apps/", "apps"}) {
    auto r = Post("/v1/environments", json{{"name", "web"}, {"volume_mount", mount}}.dump());
    EXPECT_EQ(r.status, 400) << mount << " -> " << r.body;
    EXPECT_NE(r.body.find("volume mount"), std::string::npos) << r.body;
  }
  EXPECT_TRUE(st->List("/")->kvs.empty());
  auto ok = Post("/v1/environments", R"({"name":"web","volume_mount":"/srv/data"})");
  EXPECT_EQ(ok.status, 201) << ok.body;
  auto none = Post("/v1/environments", R"({"name":"web2","volume_mount":""})");
  EXPECT_EQ(none.status, 201) << none.body;
}

TEST_F(StrictApiTest, RebuildBodiesAreStrict) {
  ASSERT_EQ(Post("/v1/environments", R"({"name":"web"})").status, 201);
  auto bad = Post("/v1/environments/default/web/rebuild", R"({"image":5})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("image: must be a string, got 5"), std::string::npos) << bad.body;
  auto ok = Post("/v1/environments/default/web/rebuild", R"({"image":"localhost/app:2"})");
  EXPECT_EQ(ok.status, 202) << ok.body;
}

}  // namespace
TEST(ParseExtendRequest, TakesOnlyABoundedTtl) {
  EXPECT_EQ(ParseExtendRequest(R"({"ttl_seconds": 3600})").value(), 3600);
  EXPECT_EQ(ParseExtendRequest(R"({"ttl_seconds": 0})").value(), 0);
  for (const char* bad : {"", "{}", R"({"ttl_seconds": -1})", R"({"ttl_seconds": "1h"})",
                          R"({"ttl_seconds": 1.5})", R"({"ttl_seconds": 316224001})",
                          R"({"ttl_seconds": 1, "ttl_seconds": 2})", R"({"ttl": 5})", "[]"}) {
    auto r = ParseExtendRequest(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << bad;
  }
}

}  // namespace berth::api
