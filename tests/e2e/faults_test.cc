// A bad day, through the real binary: the engine goes away (Podman's service stopped, its
// containers still running), `berth serve` is killed or restarted while clients use it, and a
// foreign nginx sits where Berth's pid file points. Real Podman, registry, nginx and serve.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <thread>

#include "net/http_client.h"
#include "support/berth_server.h"
#include "support/images.h"
#include "support/nginx.h"
#include "support/podman.h"
#include "support/ports.h"
#include "support/registry.h"
#include "support/test_engine.h"
#include "util/fs.h"
#include "util/strings.h"

namespace berth::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

class Faults : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (PodmanService::SkipRequested()) return;
    auto e = StartTestEngine({"berth-faults:1"});
    ASSERT_TRUE(e) << e.error().message;
    engine_ = e->release();
    podman_ = engine_->podman.get();
    registry_ = engine_->registry.get();
    image_ = engine_->images[0];
  }
  static void TearDownTestSuite() {
    delete engine_;
    engine_ = nullptr;
    podman_ = nullptr;
    registry_ = nullptr;
  }
  void SetUp() override {
    if (PodmanService::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_PODMAN=1";
    ASSERT_NE(podman_, nullptr);
    ASSERT_TRUE(podman_->StartService()) << podman_->LogTail();  // a test may leave it stopped
    BerthServerOptions o;
    o.docker_host = podman_->docker_host();
    o.default_image = image_;
    auto s = BerthServer::Start(o);
    ASSERT_TRUE(s) << s.error().message;
    server_ = std::move(*s);
  }
  void TearDown() override {
    if (!server_) return;
    if (podman_) (void)podman_->StartService();
    if (auto h = Api("/healthz"); !h || h->status != 200) (void)server_->Run();  // killed by a test
    auto ls = server_->Cli({"list", "-A", "-o", "json"});
    if (ls.exit_code == 0) {
      for (const auto& v : json::parse(ls.out))
        server_->Cli(
            {"delete", v["spec"]["name"], "-n", v["spec"]["namespace"], "--purge", "--wait"});
    }
    server_.reset();
  }

  json Json(const util::CommandResult& r) {
    EXPECT_EQ(r.exit_code, 0) << r.err << "\n" << server_->LogTail();
    try {
      return json::parse(r.out);
    } catch (...) {
      ADD_FAILURE() << "not JSON: " << r.out << "\n" << server_->LogTail();
      return json();
    }
  }

  // GET on serve's unix socket.
  Result<net::HttpResponse> Api(const std::string& path) {
    net::ClientOptions co;
    co.base_url = "http://berth";
    co.unix_socket = server_->socket();
    co.timeout = milliseconds(20000);
    net::HttpClient c(co);
    return c.Send({"GET", path, {}, "", milliseconds(-1)});
  }

  // Polls `view NAME -o json` (bounded: 90 s) until `pred` holds; the last view.
  json ViewUntil(const std::string& name, const std::function<bool(const json&)>& pred) {
    json v;
    for (int i = 0; i < 180; ++i) {
      auto r = server_->Cli({"view", name, "-o", "json"});
      if (r.exit_code == 0) {
        v = json::parse(r.out, nullptr, false);
        if (pred(v)) return v;
      }
      std::this_thread::sleep_for(milliseconds(500));
    }
    ADD_FAILURE() << "condition not reached for " << name << ": " << v.dump() << "\n"
                  << server_->LogTail();
    return v;
  }

  static bool HasEvent(const json& v, const std::string& type, const std::string& reason) {
    for (const auto& e : v["status"].value("events", json::array()))
      if (e.value("type", "") == type && e.value("reason", "") == reason) return true;
    return false;
  }

  std::string NginxPid() {
    return util::Trim(util::ReadFile(server_->state_dir() + "/nginx/logs/nginx.pid").value_or(""));
  }

  static TestEngine* engine_;
  static PodmanService* podman_;
  static Registry* registry_;
  static std::string image_;
  std::unique_ptr<BerthServer> server_;
};

TestEngine* Faults::engine_ = nullptr;
PodmanService* Faults::podman_ = nullptr;
Registry* Faults::registry_ = nullptr;
std::string Faults::image_;

TEST_F(Faults, EngineOutageIsVisibleAndExitsWithTheUnavailableClass) {
  auto v = Json(server_->Cli({"create", "web", "--wait", "-o", "json"}));
  ASSERT_EQ(v["status"]["phase"], "Running") << v.dump();
  auto ready = Api("/readyz");
  ASSERT_TRUE(ready) << ready.error().message;
  EXPECT_EQ(ready->status, 200) << ready->body;

  podman_->StopService();

  // Liveness stays; readiness names the engine and its error.
  auto live = Api("/healthz");
  ASSERT_TRUE(live);
  EXPECT_EQ(live->status, 200);
  ready = Api("/readyz");
  ASSERT_TRUE(ready) << ready.error().message;
  EXPECT_EQ(ready->status, 503) << ready->body;
  auto rj = json::parse(ready->body, nullptr, false);
  EXPECT_EQ(rj["checks"]["engine"]["ok"], false) << ready->body;
  EXPECT_FALSE(rj["checks"]["engine"].value("error", "").empty()) << ready->body;
  EXPECT_EQ(rj["checks"]["store"]["ok"], true) << ready->body;
  EXPECT_EQ(rj["failing"], json::array({"engine"})) << ready->body;

  // `berth status` shows the outage.
  auto st = server_->Cli({"status"});
  EXPECT_EQ(st.exit_code, 0) << st.err;
  EXPECT_NE(st.out.find("unreachable since"), std::string::npos) << st.out;

  // The environment shows it: phase kept, reason RuntimeUnavailable, a Warning event.
  v = ViewUntil(
      "web", [](const json& j) { return j["status"].value("reason", "") == "RuntimeUnavailable"; });
  EXPECT_EQ(v["status"]["phase"], "Running") << v.dump();
  EXPECT_TRUE(HasEvent(v, "Warning", "RuntimeUnavailable")) << v.dump();
  EXPECT_TRUE(util::StartsWith(v["status"].value("last_error", ""), "engine unreachable: "))
      << v.dump();
  auto list = server_->Cli({"list"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("RuntimeUnavailable"), std::string::npos) << list.out;
  auto view = server_->Cli({"view", "web"});
  EXPECT_NE(view.out.find("RuntimeUnavailable"), std::string::npos) << view.out;

  // Exit codes follow the error's class: unavailable is 6 (docs/cli.md).
  auto logs = server_->Cli({"logs", "web"});
  EXPECT_EQ(logs.exit_code, 6) << logs.out << logs.err;
  EXPECT_FALSE(logs.err.empty());
  auto created = server_->Cli({"create", "late", "--wait", "--timeout", "6"});
  EXPECT_EQ(created.exit_code, 6) << created.err << server_->LogTail();
  EXPECT_NE(created.err.find("accepted and stored"), std::string::npos) << created.err;

  // The engine comes back: everything converges and says so.
  ASSERT_TRUE(podman_->StartService()) << podman_->LogTail();
  v = ViewUntil("web", [](const json& j) {
    return j["status"].value("reason", "") == "Running" &&
           HasEvent(j, "Normal", "RuntimeAvailable");
  });
  EXPECT_EQ(v["status"]["phase"], "Running") << v.dump();
  auto w = server_->Cli({"wait", "late", "--timeout", "120"});
  EXPECT_EQ(w.exit_code, 0) << w.err << server_->LogTail();
  ready = Api("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200) << ready->body;
  st = server_->Cli({"status"});
  EXPECT_NE(st.out.find("reachable since"), std::string::npos) << st.out;
  EXPECT_EQ(st.out.find("unreachable"), std::string::npos) << st.out;
}

TEST_F(Faults, ReadinessAndLivenessAnswerGetOnly) {
  net::ClientOptions co;
  co.base_url = "http://berth";
  co.unix_socket = server_->socket();
  net::HttpClient c(co);
  for (const char* path : {"/healthz", "/readyz"}) {
    auto r = c.Send({"POST", path, {}, "{}", milliseconds(-1)});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, 405) << path;
  }
}

TEST_F(Faults, CreateWaitThatLosesServeSaysTheEnvironmentWasStored) {
  // The engine is away, so the create stays Pending while the CLI waits.
  podman_->StopService();
  util::TempDir out("berth-faults-cli");
  util::SpawnOptions so;
  so.env_set["BERTH_CONFIG"] = server_->config_path();
  so.stdout_path = out.path() + "/out";
  so.stderr_path = out.path() + "/err";
  auto cli = util::Subprocess::Spawn(
      {BerthBinary(), "create", "stored", "--wait", "--timeout", "120"}, so);
  ASSERT_TRUE(cli) << cli.error().message;
  bool stored = false;
  for (int i = 0; i < 120 && !stored; ++i) {
    stored = server_->Cli({"view", "stored"}).exit_code == 0;
    if (!stored) std::this_thread::sleep_for(milliseconds(250));
  }
  ASSERT_TRUE(stored) << server_->LogTail();
  std::this_thread::sleep_for(milliseconds(500));  // the CLI is following the watch by now
  server_->Kill9();
  auto rc = cli->Wait(seconds(60));
  ASSERT_TRUE(rc.has_value()) << "the CLI did not end when serve died";
  std::string err = util::ReadFile(out.path() + "/err").value_or("");
  EXPECT_EQ(*rc, 6) << err;
  EXPECT_NE(err.find("accepted and stored"), std::string::npos) << err;
  EXPECT_NE(err.find("went away"), std::string::npos) << err;

  ASSERT_TRUE(server_->Run()) << server_->LogTail();
  auto view = server_->Cli({"view", "stored"});
  EXPECT_EQ(view.exit_code, 0) << view.err;
  ASSERT_TRUE(podman_->StartService()) << podman_->LogTail();
  auto w = server_->Cli({"wait", "stored", "--timeout", "120"});
  EXPECT_EQ(w.exit_code, 0) << w.err << server_->LogTail();
}

TEST_F(Faults, ServeRestartsDropNoRequest) {
  auto v = Json(server_->Cli({"create", "web", "--wait", "-o", "json"}));
  ASSERT_TRUE(v["status"].value("routed", false)) << v.dump();
  ASSERT_TRUE(util::WriteFileAtomic(server_->state_dir() + "/volumes/default/web/index.html",
                                    "still here\n"));
  const std::string master = NginxPid();
  ASSERT_FALSE(master.empty());

  // A client on loopback through nginx, bounded by a count, for the whole test.
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::string first_failure;
  std::thread client([&] {
    for (int i = 0; i < 200000 && !stop; ++i) {
      auto r = GetWithHost(server_->nginx_port(), "web.ctest.localhost", "/index.html");
      if (r && r->status == 200 && r->body == "still here\n") {
        ++ok;
      } else {
        if (failed++ == 0)
          first_failure = r ? std::to_string(r->status) + " " + r->body : r.error().message;
      }
      std::this_thread::sleep_for(milliseconds(2));  // a steady stream, not a load test
    }
  });
  auto served_more = [&](int n) {
    int until = ok + n;
    for (int i = 0; i < 3000 && ok < until && failed == 0; ++i)
      std::this_thread::sleep_for(milliseconds(10));
  };
  served_more(20);
  server_->Kill9();
  served_more(20);  // nginx serves while no serve runs
  ASSERT_TRUE(server_->Run()) << server_->LogTail();
  served_more(50);
  server_->Terminate();  // a graceful restart
  served_more(20);
  ASSERT_TRUE(server_->Run()) << server_->LogTail();
  served_more(50);
  stop = true;
  client.join();

  EXPECT_EQ(failed.load(), 0) << "first failure: " << first_failure << "\n" << server_->LogTail();
  EXPECT_GT(ok.load(), 100);
  EXPECT_EQ(NginxPid(), master) << "the running nginx was replaced, not adopted";
  EXPECT_NE(server_->LogTail(1 << 22).find("adopted nginx master " + master), std::string::npos)
      << server_->LogTail();
  // The adopted nginx still follows the store: a new environment is routed.
  auto n = Json(server_->Cli({"create", "after", "--wait", "-o", "json"}));
  EXPECT_TRUE(n["status"].value("routed", false)) << n.dump();
  ASSERT_TRUE(
      util::WriteFileAtomic(server_->state_dir() + "/volumes/default/after/index.html", "after\n"));
  auto r = GetWithHost(server_->nginx_port(), "after.ctest.localhost", "/index.html");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->body, "after\n");
}

TEST_F(Faults, AForeignNginxIsNeverAdoptedNorSignalled) {
  // A foreign nginx whose prefix merely begins with Berth's, named by Berth's pid file.
  const std::string own_pid = NginxPid();
  server_->Stop();
  for (int i = 0; i < 200 && !own_pid.empty() && ::kill(std::stoi(own_pid), 0) == 0; ++i)
    std::this_thread::sleep_for(milliseconds(50));
  const std::string foreign = server_->state_dir() + "/nginx-foreign";
  ASSERT_TRUE(util::MakeDirs(foreign + "/conf"));
  ASSERT_TRUE(util::MakeDirs(foreign + "/logs"));
  const int port = FreeLoopbackPort();
  ASSERT_TRUE(util::WriteFileAtomic(
      foreign + "/conf/nginx.conf",
      "pid " + foreign + "/logs/nginx.pid;\nevents {}\nhttp {\n  server {\n    listen 127.0.0.1:" +
          std::to_string(port) + ";\n    return 200 \"foreign\\n\";\n  }\n}\n"));
  util::SpawnOptions so;
  so.stdout_path = foreign + "/logs/out";
  so.stderr_path = "=stdout";
  auto nginx = util::Subprocess::Spawn(
      {NginxBinary(), "-p", foreign + "/", "-e", foreign + "/logs/error.log", "-c",
       foreign + "/conf/nginx.conf", "-g", "daemon off;"},
      so);
  ASSERT_TRUE(nginx) << nginx.error().message;
  bool up = false;
  for (int i = 0; i < 200 && !up; ++i) {
    auto r = GetWithHost(port, "x", "/");
    up = r && r->status == 200;
    if (!up) std::this_thread::sleep_for(milliseconds(50));
  }
  ASSERT_TRUE(up) << util::ReadFile(foreign + "/logs/out").value_or("");
  ASSERT_TRUE(util::WriteFileAtomic(server_->state_dir() + "/nginx/logs/nginx.pid",
                                    std::to_string(nginx->pid()) + "\n"));

  ASSERT_TRUE(server_->Run()) << server_->LogTail();
  EXPECT_TRUE(nginx->running()) << "berth serve signalled a foreign nginx";
  auto r = GetWithHost(port, "x", "/");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "foreign\n");
  EXPECT_NE(NginxPid(), std::to_string(nginx->pid())) << "serve did not start its own nginx";
  EXPECT_EQ(server_->LogTail(1 << 22).find("adopted nginx master " + std::to_string(nginx->pid())),
            std::string::npos);
  auto own = GetWithHost(server_->nginx_port(), "nobody.ctest.localhost", "/");
  ASSERT_TRUE(own) << own.error().message;
  EXPECT_EQ(own->status, 404);
}

}  // namespace
}  // namespace berth::testing
