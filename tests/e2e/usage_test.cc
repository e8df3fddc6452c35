// What an environment uses, through the real binary on Podman's Docker API: `berth top -o json`
// (a CPU rate from two samples, memory under the spec's limit), the "Usage:" line of `berth
// view`, and the berth_environment_* families of /metrics over the API socket.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include <nlohmann/json.hpp>

#include "berth/validate.h"
#include "net/http_client.h"
#include "support/berth_server.h"
#include "support/nginx.h"
#include "support/podman_suite.h"
#include "util/fs.h"

namespace berth::testing {
namespace {

using nlohmann::json;

class Usage : public PodmanSuite {
 protected:
  static void SetUpTestSuite() { StartPodman("berth-usage:1"); }
  static void TearDownTestSuite() { StopPodman(); }
  void SetUp() override {
    RequirePodman();
    if (IsSkipped() || HasFatalFailure()) return;
    BerthServerOptions o = ServerOptions();
    o.server_toml = "usage_sample_seconds = 2\n";
    auto s = BerthServer::Start(o);
    ASSERT_TRUE(s) << s.error().message;
    server_ = std::move(*s);
  }
  void TearDown() override {
    if (server_) server_->Cli({"delete", "meter", "--purge", "--wait", "--timeout", "60"});
    server_.reset();
  }

  std::string Metrics() { return ApiGet("/metrics"); }

  std::string ApiGet(const std::string& path, int want_status = 200) {
    net::ClientOptions o;
    o.base_url = "http://berth";
    o.unix_socket = server_->socket();
    o.timeout = std::chrono::milliseconds(10000);
    net::HttpClient http(o);
    net::HttpRequest req;
    req.path = path;
    auto r = http.Send(req);
    EXPECT_TRUE(r) << r.error().message;
    if (!r) return "";
    EXPECT_EQ(r->status, want_status) << path << ": " << r->body;
    return r->body;
  }

  std::unique_ptr<BerthServer> server_;
};

TEST_F(Usage, TopViewAndMetricsShowWhatARunningEnvironmentUses) {
  auto c = server_->Cli({"create", "meter", "--memory-limit", "300Mi", "--wait", "-o", "json"});
  ASSERT_EQ(c.exit_code, 0) << c.err << server_->LogTail();

  auto top = server_->Cli({"top", "-o", "json"});
  ASSERT_EQ(top.exit_code, 0) << top.err;
  auto items = json::parse(top.out);
  ASSERT_EQ(items.size(), 1u) << top.out;
  const auto& i = items[0];
  EXPECT_EQ(i["namespace"], "default");
  EXPECT_EQ(i["name"], "meter");
  EXPECT_TRUE(i["error"].is_null()) << i.dump();
  ASSERT_TRUE(i["memory_bytes"].is_number()) << i.dump();
  EXPECT_GT(i["memory_bytes"].get<int64_t>(), 0);
  EXPECT_EQ(i["memory_limit_bytes"], *MemoryToBytes("300Mi")) << i.dump();
  EXPECT_TRUE(i["cpu_cores"].is_number()) << i.dump();  // two samples ~1 s apart
  EXPECT_GE(i["cpu_cores"].get<double>(), 0.0);
  EXPECT_TRUE(i["network_receive_bytes_total"].is_number()) << i.dump();
  EXPECT_EQ(i["restarts"], 0);

  auto table = server_->Cli({"top", "--sort", "memory"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("CPU(cores)"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("300Mi"), std::string::npos) << table.out;
  EXPECT_EQ(server_->Cli({"top", "--sort", "bogus"}).exit_code == 0, false);

  auto view = server_->Cli({"view", "meter"});
  ASSERT_EQ(view.exit_code, 0) << view.err;
  EXPECT_NE(view.out.find("Usage:       CPU "), std::string::npos) << view.out;
  EXPECT_NE(view.out.find("/ 300Mi"), std::string::npos) << view.out;

  auto m = Metrics();
  const std::string labels = "{namespace=\"default\",name=\"meter\"}";
  for (const char* family :
       {"berth_environment_cpu_seconds_total", "berth_environment_memory_bytes",
        "berth_environment_memory_limit_bytes", "berth_environment_network_receive_bytes_total",
        "berth_environment_network_transmit_bytes_total", "berth_environment_restarts_total"})
    EXPECT_NE(m.find(std::string(family) + labels + " "), std::string::npos) << family << "\n" << m;
  EXPECT_NE(m.find("berth_environment_memory_limit_bytes" + labels + " " +
                   std::to_string(*MemoryToBytes("300Mi")) + "\n"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("# TYPE berth_environment_cpu_seconds_total counter"), std::string::npos);

  // The history behind the dashboard's charts, with the requests sent through the router.
  ASSERT_TRUE(util::WriteFileAtomic(server_->state_dir() + "/volumes/default/meter/index.html",
                                    "metered\n"));
  for (int i = 0; i < 12; ++i) {
    auto r = GetWithHost(server_->nginx_port(), "meter.ctest.localhost");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, 200);
  }
  json h;
  double peak = 0;
  for (int i = 0; i < 30 && peak <= 0; ++i) {  // samples every 2 s
    std::this_thread::sleep_for(std::chrono::seconds(1));
    h = json::parse(ApiGet("/v1/environments/default/meter/usage/history"));
    for (const auto& p : h["points"])
      if (p["requests_per_minute"].is_number())
        peak = std::max(peak, p["requests_per_minute"].get<double>());
  }
  EXPECT_GT(peak, 0.0) << h.dump();
  EXPECT_EQ(h["interval_seconds"], 2.0);
  ASSERT_GE(h["points"].size(), 2u) << h.dump();
  const auto& last = h["points"].back();
  EXPECT_GT(last["memory_bytes"].get<int64_t>(), 0) << last.dump();
  EXPECT_EQ(last["memory_limit_bytes"], *MemoryToBytes("300Mi"));
  EXPECT_TRUE(last["cpu_cores"].is_number()) << last.dump();
  EXPECT_TRUE(last["network_receive_bytes_per_second"].is_number()) << last.dump();
  EXPECT_TRUE(h["points"][0]["requests_per_minute"].is_null());  // no point before the first
  EXPECT_NE(ApiGet("/v1/environments/default/nosuch/usage/history", 404).find("NotFound"),
            std::string::npos);
}

}  // namespace
}  // namespace berth::testing
