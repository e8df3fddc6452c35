// Usage as the API serves it: the JSON items, the /metrics families (Prometheus text format,
// label values escaped, counters typed as counters) and the endpoints over a real SQLite store.
#include "api/usage.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/api_server.h"
#include "util/fs.h"

namespace berth::api {
namespace {

using nlohmann::json;

runtime::UsageReport Sample(std::string ns, std::string name) {
  runtime::UsageReport r;
  r.ns = std::move(ns);
  r.name = std::move(name);
  runtime::WorkloadUsage u;
  u.cpu_seconds = 1.5;
  u.memory_bytes = 1048576;
  u.memory_limit_bytes = 2097152000;
  u.network_rx_bytes = 100;
  u.network_tx_bytes = 200;
  u.restarts = 2;
  r.usage = u;
  r.sampled_at_ms = 1700000000123;
  r.cpu_cores = 0.25;
  return r;
}

TEST(UsageTest, EscapesLabelValues) {
  EXPECT_EQ(PromEscapeLabel("plain"), "plain");
  EXPECT_EQ(PromEscapeLabel("a\"b"), "a\\\"b");
  EXPECT_EQ(PromEscapeLabel("a\\b"), "a\\\\b");
  EXPECT_EQ(PromEscapeLabel("a\nb"), "a\\nb");
}

TEST(UsageTest, MetricsTextHasEveryFamilyTypedAndLabelled) {
  auto text = UsageMetricsText({Sample("dev", "web"), Sample("q\"x", "n\\y\n")});
  EXPECT_NE(text.find("# TYPE berth_environment_cpu_seconds_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE berth_environment_memory_bytes gauge\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE berth_environment_memory_limit_bytes gauge\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE berth_environment_network_receive_bytes_total counter\n"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE berth_environment_network_transmit_bytes_total counter\n"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE berth_environment_restarts_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("berth_environment_cpu_seconds_total{namespace=\"dev\",name=\"web\"} 1.5\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("berth_environment_memory_limit_bytes{namespace=\"dev\",name=\"web\"} "
                      "2097152000\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("berth_environment_restarts_total{namespace=\"dev\",name=\"web\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("{namespace=\"q\\\"x\",name=\"n\\\\y\\n\"}"), std::string::npos) << text;
  // Every sample line has exactly one line: no raw newline from a label value.
  for (size_t pos = 0; (pos = text.find('\n', pos)) != std::string::npos; ++pos) {
    if (pos + 1 < text.size()) {
      EXPECT_NE(text[pos + 1], '"');
    }
  }
}

TEST(UsageTest, MissingFiguresAreLeftOutOfMetricsAndNullInJson) {
  runtime::UsageReport r;
  r.ns = "dev";
  r.name = "podman";
  r.usage = runtime::WorkloadUsage{};
  r.usage->cpu_seconds = 3;
  auto text = UsageMetricsText({r});
  EXPECT_NE(text.find("berth_environment_cpu_seconds_total{namespace=\"dev\",name=\"podman\"} 3"),
            std::string::npos);
  EXPECT_EQ(text.find("berth_environment_memory_bytes{"), std::string::npos);
  EXPECT_NE(text.find("berth_environment_restarts_total{namespace=\"dev\",name=\"podman\"} 0"),
            std::string::npos);
  auto j = UsageJson(r);
  EXPECT_TRUE(j["memory_bytes"].is_null());
  EXPECT_TRUE(j["cpu_cores"].is_null());
  EXPECT_EQ(j["cpu_seconds_total"], 3.0);
  EXPECT_EQ(j["restarts"], 0);

  runtime::UsageReport none;
  none.ns = "dev";
  none.name = "x";
  none.error = "metrics unavailable";
  EXPECT_EQ(UsageMetricsText({none}).find("{namespace"), std::string::npos);
  auto nj = UsageJson(none);
  EXPECT_TRUE(nj["sampled_at"].is_null());
  EXPECT_TRUE(nj["restarts"].is_null());
  EXPECT_EQ(nj["error"], "metrics unavailable");
}

TEST(UsageTest, JsonItem) {
  auto j = UsageJson(Sample("dev", "web"));
  EXPECT_EQ(j["namespace"], "dev");
  EXPECT_EQ(j["name"], "web");
  EXPECT_EQ(j["sampled_at"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(j["cpu_cores"], 0.25);
  EXPECT_EQ(j["memory_bytes"], 1048576);
  EXPECT_EQ(j["memory_limit_bytes"], 2097152000);
  EXPECT_EQ(j["network_receive_bytes_total"], 100);
  EXPECT_EQ(j["network_transmit_bytes_total"], 200);
  EXPECT_EQ(j["restarts"], 2);
  EXPECT_TRUE(j["error"].is_null());
}

class UsageEndpointTest : public ::testing::Test {
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
  net::ServerResponse Get(const std::string& path) {
    net::ServerRequest r;
    r.method = "GET";
    auto q = path.find('?');
    r.path = path.substr(0, q);
    if (q != std::string::npos) {
      auto kv = path.substr(q + 1);
      auto eq = kv.find('=');
      r.query[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    r.peer = "unix";
    return server->Handle(r);
  }
  util::TempDir dir{"berth-usage"};
  std::unique_ptr<store::Store> st;
  Config cfg;
  std::unique_ptr<EnvironmentService> service;
  std::unique_ptr<ApiServer> server;
};

TEST_F(UsageEndpointTest, ListOneAndMetrics) {
  EXPECT_EQ(Get("/v1/usage").status, 503);  // no usage source
  EnvironmentSpec web;
  web.ns = "default";
  web.name = "web";
  ASSERT_TRUE(service->Create(web));
  EnvironmentSpec db;
  db.ns = "other";
  db.name = "db";
  ASSERT_TRUE(service->Create(db));
  std::vector<bool> fresh;
  server->SetUsage([&](const EnvironmentSpec& spec, bool sample_if_stale) {
    fresh.push_back(sample_if_stale);
    if (spec.name == "db") {
      runtime::UsageReport r;
      r.ns = spec.ns;
      r.name = spec.name;
      r.error = "metrics unavailable: no metrics-server";
      return r;
    }
    return Sample(spec.ns, spec.name);
  });
  auto all = Get("/v1/usage");
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(json::parse(all.body)["items"].size(), 2u);
  auto dev = Get("/v1/usage?namespace=default");
  ASSERT_EQ(dev.status, 200);
  auto items = json::parse(dev.body)["items"];
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]["name"], "web");
  EXPECT_EQ(Get("/v1/usage?namespace=Bad_NS").status, 400);

  auto one = Get("/v1/environments/default/web/usage");
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(json::parse(one.body)["memory_limit_bytes"], 2097152000);
  auto unavailable = Get("/v1/environments/other/db/usage");
  EXPECT_EQ(unavailable.status, 503);
  EXPECT_NE(unavailable.body.find("metrics unavailable"), std::string::npos);
  EXPECT_EQ(Get("/v1/environments/default/nope/usage").status, 404);

  fresh.clear();
  auto m = Get("/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("berth_environment_memory_bytes{namespace=\"default\",name=\"web\"} "
                        "1048576"),
            std::string::npos)
      << m.body;
  EXPECT_EQ(m.body.find("name=\"db\""), std::string::npos);
  for (bool f : fresh) EXPECT_FALSE(f);  // /metrics reads cached samples only
  EXPECT_FALSE(fresh.empty());
}

}  // namespace
}  // namespace berth::api
