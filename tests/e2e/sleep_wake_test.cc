// Sleep and wake through the real binary: `berth serve` on Podman's Docker API with its Lua
// router (a real nginx) and the CLI. A sleeping environment's container is stopped while its
// ports, /apps and route stay; a GET through nginx wakes it and is answered by it; a POST gets
// the "waking up" page with Retry-After (and wakes it too); `berth wake` does it by hand.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>

#include "net/http_client.h"
#include "support/berth_server.h"
#include "support/podman_suite.h"
#include "util/fs.h"

namespace berth::testing {
namespace {

using nlohmann::json;

class SleepWake : public PodmanSuite {
 protected:
  static void SetUpTestSuite() { StartPodman("berth-sleep:1"); }
  static void TearDownTestSuite() { StopPodman(); }
  void SetUp() override {
    RequirePodman();
    if (IsSkipped() || HasFatalFailure()) return;
    auto s = BerthServer::Start(ServerOptions());
    ASSERT_TRUE(s) << s.error().message;
    server_ = std::move(*s);
  }
  void TearDown() override {
    if (!server_) return;
    server_->Cli({"delete", "web", "--purge", "--wait", "--timeout", "60"});
    server_.reset();
  }

  // A request through the router's nginx for `host`, on a new connection, allowed to wait
  // longer than the router holds a request for a waking environment.
  Result<net::HttpResponse> Through(const std::string& method, const std::string& host,
                                    const std::string& path) {
    net::ClientOptions co;
    co.base_url = "http://127.0.0.1:" + std::to_string(server_->nginx_port());
    co.timeout = std::chrono::seconds(45);
    net::HttpClient c(co);
    return c.Send({method,
                   path,
                   {{"Host", host}, {"Connection", "close"}, {"Content-Type", "text/plain"}},
                   method == "POST" ? "x" : "",
                   std::chrono::milliseconds(-1)});
  }

  std::string ContainerState(const std::string& name) {
    auto r = podman_->PodmanOk({"inspect", "--format", "{{.State.Status}}", name});
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    std::string s = r.value_or("");
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }

  std::unique_ptr<BerthServer> server_;
};

TEST_F(SleepWake, SleepKeepsPortsAndRouteAndARequestWakesIt) {
  auto v = Json(server_->Cli({"create", "web", "--wait", "-o", "json"}));
  ASSERT_EQ(v["status"]["phase"], "Running") << v.dump();
  const json ports = v["status"]["ports"];
  const std::string id = v["status"]["workload_id"];
  ASSERT_TRUE(util::WriteFileAtomic(server_->state_dir() + "/volumes/default/web/index.html",
                                    "awake and serving /apps\n"));
  auto before = Through("GET", "web.ctest.localhost", "/index.html");
  ASSERT_TRUE(before) << before.error().message;
  ASSERT_EQ(before->status, 200) << before->body;

  // Sleep: the container is stopped, not removed; ports, volume and route stay.
  auto s = Json(server_->Cli({"sleep", "web", "--wait", "-o", "json"}));
  EXPECT_EQ(s["status"]["phase"], "Sleeping") << s.dump();
  EXPECT_TRUE(s["spec"]["sleeping"].get<bool>());
  EXPECT_EQ(s["status"]["ports"], ports);
  EXPECT_EQ(s["status"]["workload_id"], id);
  EXPECT_EQ(ContainerState("berth-default.web"), "exited");
  EXPECT_TRUE(util::PathExists(server_->state_dir() + "/volumes/default/web/index.html"));
  auto list = server_->Cli({"list"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("Sleeping"), std::string::npos) << list.out;
  auto viewed = server_->Cli({"view", "web", "-o", "json"});
  EXPECT_EQ(Json(viewed)["status"]["phase"], "Sleeping");

  // A GET through nginx wakes it and is answered by it, once its http port answers.
  auto t0 = std::chrono::steady_clock::now();
  auto woke = Through("GET", "web.ctest.localhost", "/index.html");
  auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(woke) << woke.error().message << "\n" << server_->LogTail();
  EXPECT_EQ(woke->status, 200) << woke->body << "\n" << server_->LogTail();
  EXPECT_EQ(woke->body, "awake and serving /apps\n");
  RecordProperty("wake_seconds", std::to_string(took));
  auto w = Json(server_->Cli({"wake", "web", "--wait", "--timeout", "60", "-o", "json"}));
  EXPECT_EQ(w["status"]["phase"], "Running") << w.dump();
  EXPECT_FALSE(w["spec"]["sleeping"].get<bool>());
  EXPECT_EQ(w["status"]["workload_id"], id);  // the same container, started again
  EXPECT_EQ(w["status"]["ports"], ports);
  EXPECT_TRUE(w["status"]["routed"].get<bool>());
  EXPECT_EQ(ContainerState("berth-default.web"), "running");

  // Asleep again: a POST is not held but answered with the waking page, and wakes it.
  ASSERT_EQ(Json(server_->Cli({"sleep", "web", "--wait", "-o", "json"}))["status"]["phase"],
            "Sleeping");
  auto post = Through("POST", "web.ctest.localhost", "/form");
  ASSERT_TRUE(post) << post.error().message;
  EXPECT_EQ(post->status, 503);
  EXPECT_EQ(post->headers["retry-after"], "5");
  EXPECT_NE(post->body.find("Waking up"), std::string::npos) << post->body;
  w = Json(server_->Cli({"wake", "web", "--wait", "--timeout", "60", "-o", "json"}));
  EXPECT_EQ(w["status"]["phase"], "Running") << w.dump();
  auto after = Through("GET", "web.ctest.localhost", "/index.html");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
}

TEST_F(SleepWake, WakeByHandAndInputErrors) {
  ASSERT_EQ(Json(server_->Cli({"create", "web", "--wait", "-o", "json"}))["status"]["phase"],
            "Running");
  auto s = server_->Cli({"sleep", "web", "--wait"});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_NE(s.out.find("is sleeping"), std::string::npos) << s.out;
  EXPECT_EQ(ContainerState("berth-default.web"), "exited");
  auto w = Json(server_->Cli({"wake", "web", "--wait", "--timeout", "60", "-o", "json"}));
  EXPECT_EQ(w["status"]["phase"], "Running") << w.dump();
  EXPECT_EQ(ContainerState("berth-default.web"), "running");
  // Waking an awake environment changes nothing; an unknown one is exit 3.
  EXPECT_EQ(server_->Cli({"wake", "web"}).exit_code, 0);
  EXPECT_EQ(server_->Cli({"sleep", "nosuch"}).exit_code, 3);
  EXPECT_EQ(server_->Cli({"wake", "nosuch"}).exit_code, 3);
}

TEST_F(SleepWake, AnEnvironmentWithoutRequestsFallsAsleepAndARequestWakesIt) {
  // Again with environments.idle_sleep set.
  server_.reset();
  BerthServerOptions o = ServerOptions();
  o.environments_toml = "idle_sleep = \"4s\"\n";
  auto started = BerthServer::Start(o);
  ASSERT_TRUE(started) << started.error().message;
  server_ = std::move(*started);

  ASSERT_EQ(Json(server_->Cli({"create", "web", "--wait", "-o", "json"}))["status"]["phase"],
            "Running");
  auto keep = Json(server_->Cli({"create", "keep", "--idle-sleep", "off", "--wait", "-o", "json"}));
  EXPECT_EQ(keep["spec"]["idle_sleep_seconds"], -1);
  ASSERT_TRUE(util::WriteFileAtomic(server_->state_dir() + "/volumes/default/web/index.html",
                                    "still here\n"));
  auto phase = [&](const std::string& name) {
    auto r = server_->Cli({"view", name, "-o", "json"});
    return r.exit_code == 0 ? json::parse(r.out)["status"].value("phase", "") : "";
  };
  // Requests every second for twice the idle time keep it awake.
  for (int i = 0; i < 8; ++i) {
    auto r = Through("GET", "web.ctest.localhost", "/index.html");
    ASSERT_TRUE(r && r->status == 200) << (r ? r->body : r.error().message);
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  EXPECT_EQ(phase("web"), "Running") << server_->LogTail();
  // Then none: it falls asleep; the one that said off does not.
  bool asleep = false;
  for (int i = 0; i < 300 && !asleep; ++i) {
    asleep = phase("web") == "Sleeping";
    if (!asleep) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(asleep) << server_->LogTail();
  EXPECT_EQ(ContainerState("berth-default.web"), "exited");
  EXPECT_NE(server_->LogTail(20000).find("default/web: no request for 4s: putting it to sleep"),
            std::string::npos);
  EXPECT_EQ(phase("keep"), "Running");
  // A request brings it back with its content.
  auto woke = Through("GET", "web.ctest.localhost", "/index.html");
  ASSERT_TRUE(woke) << woke.error().message;
  EXPECT_EQ(woke->status, 200) << woke->body;
  EXPECT_EQ(woke->body, "still here\n");
  EXPECT_EQ(server_->Cli({"create", "bad", "--idle-sleep", "soon", "--no-wait"}).exit_code, 2);
  EXPECT_EQ(server_->Cli({"create", "bad", "--idle-sleep", "0", "--no-wait"}).exit_code, 2);
  server_->Cli({"delete", "keep", "--purge", "--wait", "--timeout", "60"});
}

}  // namespace
}  // namespace berth::testing
