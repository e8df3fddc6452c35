// The REST layer over a real SQLite store, without a socket (ApiServer::Handle), plus one
// round trip through the real libmicrohttpd server on a unix socket.
#include "api/api_server.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "net/http_client.h"
#include "store/env_cache.h"
#include "store/informer.h"
#include "util/fs.h"

namespace berth::api {
namespace {

using nlohmann::json;

class ApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::OpenStore("sqlite://" + dir.path() + "/b.db");
    ASSERT_TRUE(s) << s.error().message;
    st = std::move(*s);
    cfg = DefaultConfig();
    cfg.socket = dir.path() + "/api.sock";
    cfg.default_image = "localhost/app:1";
    cfg.api_token = "s3cret";
    service = std::make_unique<EnvironmentService>(*st, cfg);
    server = std::make_unique<ApiServer>(*service, cfg, nullptr, nullptr);
  }
  net::ServerResponse Do(const std::string& method, const std::string& path,
                         const std::string& body = "", std::string peer = "unix") {
    net::ServerRequest r;
    r.method = method;
    auto q = path.find('?');
    r.path = path.substr(0, q);
    for (size_t at = q; at != std::string::npos;) {
      auto next = path.find('&', at + 1);
      auto kv = path.substr(at + 1, next == std::string::npos ? std::string::npos : next - at - 1);
      auto eq = kv.find('=');
      r.query[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
      at = next;
    }
    r.body = body;
    if (!body.empty()) r.headers["content-type"] = "application/json";
    r.peer = peer;
    return server->Handle(r);
  }
  util::TempDir dir{"berth-api"};
  std::unique_ptr<store::Store> st;
  Config cfg;
  std::unique_ptr<EnvironmentService> service;
  std::unique_ptr<ApiServer> server;
};

TEST_F(ApiServerTest, CreateGetListDelete) {
  auto c = Do("POST", "/v1/environments", R"({"name":"web","env":{"A":"1"}})");
  ASSERT_EQ(c.status, 201) << c.body;
  auto v = json::parse(c.body);
  EXPECT_EQ(v["spec"]["image"], "localhost/app:1");  // the configured default
  EXPECT_EQ(v["spec"]["pull_policy"], "Always");
  EXPECT_EQ(v["status"]["phase"], "Pending");
  auto g = Do("GET", "/v1/environments/default/web");
  ASSERT_EQ(g.status, 200);
  auto l = Do("GET", "/v1/environments?namespace=default");
  EXPECT_EQ(json::parse(l.body)["items"].size(), 1u);
  EXPECT_EQ(json::parse(l.body)["items"][0]["spec"]["env"]["A"], "1");
  // The summary a list table reads: names, image, phase; not the env or events.
  auto sum = Do("GET", "/v1/environments?namespace=default&view=summary");
  ASSERT_EQ(sum.status, 200) << sum.body;
  auto item = json::parse(sum.body)["items"][0];
  EXPECT_EQ(item["spec"]["name"], "web");
  EXPECT_EQ(item["spec"]["image"], "localhost/app:1");
  EXPECT_EQ(item["status"]["phase"], "Pending");
  EXPECT_FALSE(item["spec"].contains("env"));
  EXPECT_FALSE(item["status"].contains("events"));
  EXPECT_LT(sum.body.size(), l.body.size());
  // The table `berth list` prints, made here: columns, then one row of strings per item.
  auto tab = Do("GET", "/v1/environments?namespace=default&view=table");
  ASSERT_EQ(tab.status, 200) << tab.body;
  auto t = json::parse(tab.body);
  EXPECT_EQ(t["columns"], json::parse(R"(["NAMESPACE","NAME","PHASE","HOST","SSH","HTTP","HTTPS",)"
                                      R"("DOMAIN","IMAGE","AGE","EXPIRES"])"));
  ASSERT_EQ(t["rows"].size(), 1u);
  EXPECT_EQ(t["rows"][0][1], "web");
  EXPECT_EQ(t["rows"][0][2], "Pending");
  EXPECT_EQ(t["rows"][0][8], "localhost/app:1");
  EXPECT_EQ(t["rows"][0][10], "-");  // no ttl
  EXPECT_EQ(
      Do("GET", "/v1/environments?namespace=nope&view=table").body,
      R"({"columns":["NAMESPACE","NAME","PHASE","HOST","SSH","HTTP","HTTPS","DOMAIN","IMAGE","AGE","EXPIRES"],"rows":[]})");
  EXPECT_EQ(Do("GET", "/v1/environments?view=tiny").status, 400);
  auto d = Do("DELETE", "/v1/environments/default/web?purge=true");
  ASSERT_EQ(d.status, 202);
  EXPECT_TRUE(json::parse(d.body)["spec"]["deleting"].get<bool>());
  EXPECT_TRUE(json::parse(d.body)["spec"]["purge"].get<bool>());
}

TEST_F(ApiServerTest, StrictBodies) {
  EXPECT_EQ(Do("POST", "/v1/environments", "{").status, 400);
  EXPECT_EQ(Do("POST", "/v1/environments", "[]").status, 400);
  auto typo = Do("POST", "/v1/environments", R"({"name":"web","imgae":"x"})");
  EXPECT_EQ(typo.status, 400);
  EXPECT_NE(typo.body.find("imgae"), std::string::npos);
  EXPECT_EQ(Do("POST", "/v1/environments", R"({"name":5})").status, 400);
  EXPECT_EQ(Do("POST", "/v1/environments", R"({"name":"a;b"})").status, 400);
  EXPECT_EQ(Do("POST", "/v1/environments", R"({"name":"ok","pull_policy":"Sometimes"})").status,
            400);
  EXPECT_TRUE(st->List("/")->kvs.empty());
}

TEST_F(ApiServerTest, ErrorsCarryCodes) {
  auto nf = Do("GET", "/v1/environments/default/nope");
  EXPECT_EQ(nf.status, 404);
  EXPECT_EQ(json::parse(nf.body)["error"]["code"], "NotFound");
  EXPECT_EQ(Do("GET", "/v1/environments/default/BAD").status, 400);
  EXPECT_EQ(Do("GET", "/v1/environments/..%2f/x").status, 400);
  EXPECT_EQ(Do("GET", "/v2/whatever").status, 404);
  ASSERT_EQ(Do("POST", "/v1/environments", R"({"name":"dup"})").status, 201);
  auto dup = Do("POST", "/v1/environments", R"({"name":"dup"})");
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(json::parse(dup.body)["error"]["code"], "AlreadyExists");
  auto rb = Do("POST", "/v1/environments/default/dup/rebuild", R"({"image":"NOT VALID"})");
  EXPECT_EQ(rb.status, 400);
  auto rb2 = Do("POST", "/v1/environments/default/dup/rebuild", R"({"img":"x"})");
  EXPECT_EQ(rb2.status, 400);
}

TEST_F(ApiServerTest, TcpNeedsTheToken) {
  EXPECT_EQ(Do("GET", "/v1/environments", "", "127.0.0.1").status, 403);
  net::ServerRequest r;
  r.method = "GET";
  r.path = "/v1/environments";
  r.peer = "127.0.0.1";
  r.headers["authorization"] = "Bearer s3cret";
  EXPECT_EQ(server->Handle(r).status, 200);
  EXPECT_EQ(Do("GET", "/healthz", "", "127.0.0.1").status, 200);
  // The dashboard page holds no data and must load to ask for the token; /metrics does not.
  EXPECT_EQ(Do("GET", "/", "", "127.0.0.1").status, 200);
  EXPECT_EQ(Do("GET", "/ui", "", "127.0.0.1").status, 200);
  EXPECT_EQ(Do("GET", "/metrics", "", "127.0.0.1").status, 403);
  EXPECT_EQ(Do("GET", "/v1/info", "", "127.0.0.1").status, 403);
}

TEST_F(ApiServerTest, MetricsAndDashboard) {
  ASSERT_EQ(Do("POST", "/v1/environments", R"({"name":"m1"})").status, 201);
  auto m = Do("GET", "/metrics");
  EXPECT_NE(m.body.find("berth_environments{phase=\"Pending\"} 1"), std::string::npos) << m.body;
  auto d = Do("GET", "/");
  EXPECT_EQ(d.status, 200);
  EXPECT_NE(d.body.find("<title>Berth</title>"), std::string::npos);
}

// Served from the informer's cache (as berth serve does): the list table, the brief views
// that /metrics, idle sleep and the usage sampler read, and the full views all agree with what
// the store holds.
TEST_F(ApiServerTest, ReadsFromTheCacheAgreeWithTheStore) {
  ASSERT_EQ(Do("POST", "/v1/environments", R"({"name":"c1","ttl_seconds":7200})").status, 201);
  ASSERT_EQ(Do("POST", "/v1/environments", R"({"name":"c2","replicas":2})").status, 201);
  ASSERT_EQ(Do("POST", "/v1/environments/default/c2/sleep", "").status, 202);
  EnvStatus running;
  running.phase = Phase::kRunning;
  running.routed = true;
  ASSERT_TRUE(st->Put(store::keys::Status("default", "c1"), SerializeStatus(running)));
  const auto uncached_list = Do("GET", "/v1/environments").body;
  const auto uncached_table = Do("GET", "/v1/environments?view=table").body;
  const auto uncached_metrics = Do("GET", "/metrics").body;
  auto direct = service->List("");
  ASSERT_TRUE(direct);

  store::Informer informer(*st,
                           {{std::string(store::keys::kSpecs), std::string(store::keys::kStatus)}});
  store::EnvCache cache;
  auto reg = informer.AddHandlers(cache.Handlers());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(5)));
  service->ReadFrom(&informer, &cache);
  EXPECT_EQ(Do("GET", "/v1/environments").body, uncached_list);
  // AGE and EXPIRES are as of each request, which may fall in different seconds.
  auto without_times = [](const std::string& body) {
    auto j = nlohmann::json::parse(body);
    for (auto& row : j["rows"]) row[9] = row[10] = "*";
    return j;
  };
  EXPECT_EQ(without_times(Do("GET", "/v1/environments?view=table").body),
            without_times(uncached_table));
  EXPECT_EQ(Do("GET", "/metrics").body, uncached_metrics);
  auto brief = service->ListBrief("");
  ASSERT_TRUE(brief);
  ASSERT_EQ(brief->size(), direct->size());
  for (size_t i = 0; i < brief->size(); ++i) {
    const auto& b = (*brief)[i];
    const auto& d = (*direct)[i];
    EXPECT_EQ(b.spec.Key(), d.spec.Key());
    EXPECT_EQ(b.spec.replicas, d.spec.replicas);
    EXPECT_EQ(b.spec.resources.memory_limit, d.spec.resources.memory_limit);
    EXPECT_EQ(b.spec.idle_sleep_seconds, d.spec.idle_sleep_seconds);
    EXPECT_EQ(b.spec.sleeping, d.spec.sleeping);
    EXPECT_EQ(b.spec.deleting, d.spec.deleting);
    ASSERT_TRUE(b.status && d.status);
    EXPECT_EQ(b.status->phase, d.status->phase);
    EXPECT_EQ(b.status->routed, d.status->routed);
    EXPECT_EQ(b.revision, d.revision);
  }
  EXPECT_TRUE((*brief)[1].spec.sleeping);
  EXPECT_EQ((*brief)[0].status->phase, Phase::kRunning);
  service->ReadFrom(nullptr, nullptr);
}

TEST_F(ApiServerTest, RealSocketRoundTrip) {
  ASSERT_TRUE(server->Start());
  net::ClientOptions o;
  o.base_url = "http://berth";
  o.unix_socket = cfg.socket;
  net::HttpClient c(o);
  net::HttpRequest req;
  req.method = "POST";
  req.path = "/v1/environments";
  req.body = R"({"name":"sock"})";
  auto r = c.Send(req);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 201) << r->body;
  // The watch stream sends the current state at once.
  std::string first;
  net::HttpRequest w;
  w.path = "/v1/environments/default/sock/watch?timeout=1";
  auto s = c.Stream(w, [&](std::string_view chunk) {
    first.append(chunk);
    return first.find('\n') == std::string::npos;
  });
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_NE(first.find("\"type\":\"update\""), std::string::npos) << first;
  // A second server on the same live socket is refused, not silently stolen.
  ApiServer other(*service, cfg, nullptr, nullptr);
  auto again = other.Start();
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  server->Stop();
}

}  // namespace
}  // namespace berth::api
