// The whole single-host flow through real parts: Podman's Docker API (runc), a real registry
// (so "pull Always" really pulls), `berth serve` as a process with SQLite state and its managed
// nginx, and the `berth` CLI.
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include <functional>
#include <set>
#include <thread>

#include "support/berth_server.h"
#include "support/etcd.h"
#include "support/images.h"
#include "support/nginx.h"
#include "support/podman.h"
#include "support/ports.h"
#include "support/registry.h"
#include "support/test_engine.h"
#include "util/fs.h"

namespace berth::testing {
namespace {

using nlohmann::json;

class EnvironmentFlow : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (PodmanService::SkipRequested()) return;
    auto e = StartTestEngine({"berth-e2e:1", "berth-e2e:2"});
    ASSERT_TRUE(e) << e.error().message;
    engine_ = e->release();
    podman_ = engine_->podman.get();
    registry_ = engine_->registry.get();
    image_ = engine_->images[0];
    image2_ = engine_->images[1];
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
    BerthServerOptions o;
    o.docker_host = podman_->docker_host();
    o.default_image = image_;
    auto s = BerthServer::Start(o);
    ASSERT_TRUE(s) << s.error().message;
    server_ = std::move(*s);
  }
  void TearDown() override {
    if (server_) {
      // Leave nothing for the next test: delete what is left, then stop.
      auto ls = server_->Cli({"list", "-A", "-o", "json"});
      if (ls.exit_code == 0) {
        for (const auto& v : json::parse(ls.out))
          server_->Cli(
              {"delete", v["spec"]["name"], "-n", v["spec"]["namespace"], "--purge", "--wait"});
      }
      server_.reset();
    }
  }

  // `srv`: the server that ran the command, when it is not server_ (for its log on failure).
  json Json(const util::CommandResult& r, const BerthServer* srv = nullptr) {
    if (!srv) srv = server_.get();
    EXPECT_EQ(r.exit_code, 0) << r.err << "\n" << (srv ? srv->LogTail() : "");
    try {
      return json::parse(r.out);
    } catch (...) {
      ADD_FAILURE() << "not JSON: " << r.out;
      return json();
    }
  }

  // Containers Berth owns, as Podman sees them.
  std::vector<std::string> OwnedContainers() {
    auto r = podman_->PodmanOk({"ps", "-a", "--filter", "label=app.kubernetes.io/managed-by=berth",
                                "--format", "{{.Names}}"});
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    std::vector<std::string> out;
    std::string cur;
    for (char c : r.value_or("")) {
      if (c == '\n') {
        if (!cur.empty()) out.push_back(cur);
        cur.clear();
      } else {
        cur += c;
      }
    }
    if (!cur.empty()) out.push_back(cur);
    return out;
  }

  std::string VolumeDir(const std::string& name) {
    return server_->state_dir() + "/volumes/default/" + name;
  }

  static TestEngine* engine_;
  static PodmanService* podman_;
  static Registry* registry_;
  static std::string image_, image2_;
  std::unique_ptr<BerthServer> server_;
};

TestEngine* EnvironmentFlow::engine_ = nullptr;
PodmanService* EnvironmentFlow::podman_ = nullptr;
Registry* EnvironmentFlow::registry_ = nullptr;
std::string EnvironmentFlow::image_;
std::string EnvironmentFlow::image2_;

TEST_F(EnvironmentFlow, CreateServeRebuildDelete) {
  auto v = Json(server_->Cli({"create", "web", "--image", image_, "--wait", "-o", "json"}));
  ASSERT_EQ(v["status"]["phase"], "Running") << v.dump();
  int http = v["status"]["ports"]["http"];
  int ssh = v["status"]["ports"]["ssh"];
  int https = v["status"]["ports"]["https"];
  EXPECT_GE(http, 30000);
  EXPECT_LE(http, 32767);
  EXPECT_EQ(std::set<int>({http, ssh, https}).size(), 3u);
  EXPECT_EQ(v["status"]["host_ip"], "127.0.0.1");
  EXPECT_TRUE(v["status"]["routed"].get<bool>());
  std::string first_id = v["status"]["workload_id"];

  // The content written to /apps is what the container serves, directly and through nginx.
  ASSERT_TRUE(util::WriteFileAtomic(VolumeDir("web") + "/index.html", "hello from apps\n"));
  auto direct = GetWithHost(http, "127.0.0.1", "/index.html");
  ASSERT_TRUE(direct) << direct.error().message;
  EXPECT_EQ(direct->status, 200);
  EXPECT_EQ(direct->body, "hello from apps\n");
  auto routed = GetWithHost(server_->nginx_port(), "web.ctest.localhost", "/index.html");
  ASSERT_TRUE(routed) << routed.error().message;
  EXPECT_EQ(routed->status, 200) << routed->body;
  EXPECT_EQ(routed->body, "hello from apps\n");
  auto unknown = GetWithHost(server_->nginx_port(), "nobody.ctest.localhost", "/");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);

  // The original's output formats.
  auto view = server_->Cli({"re_view", "--name=web"});
  ASSERT_EQ(view.exit_code, 0) << view.err;
  EXPECT_EQ(view.out, "{\"status\": \"sucess\", \"http_port\": " + std::to_string(http) +
                          ", \"https_port\": " + std::to_string(https) +
                          ", \"ssh_port\": " + std::to_string(ssh) +
                          ", \"host_ip\": \"127.0.0.1\", \"phase\": \"Running\"}\n");
  auto list = server_->Cli({"list"});
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_NE(list.out.find("web"), std::string::npos);
  EXPECT_NE(list.out.find("Running"), std::string::npos);

  // Rebuild: a new container from the other image, same ports, same data.
  auto r = Json(server_->Cli({"rebuild", "web", "--image", image2_, "--wait", "-o", "json"}));
  EXPECT_EQ(r["status"]["phase"], "Running");
  EXPECT_EQ(r["status"]["observed_generation"], 2);
  EXPECT_NE(r["status"]["workload_id"], first_id);
  EXPECT_EQ(r["status"]["ports"]["http"], http);
  auto after = GetWithHost(server_->nginx_port(), "web.ctest.localhost", "/index.html");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->body, "hello from apps\n");
  EXPECT_EQ(OwnedContainers().size(), 1u);

  auto logs = server_->Cli({"logs", "web"});
  EXPECT_EQ(logs.exit_code, 0) << logs.err;

  // Delete: route gone (404), container gone, data kept without --purge.
  auto d = server_->Cli({"delete", "web", "--wait"});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  auto gone = GetWithHost(server_->nginx_port(), "web.ctest.localhost", "/index.html");
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 404);
  EXPECT_TRUE(OwnedContainers().empty());
  EXPECT_TRUE(util::PathExists(VolumeDir("web") + "/index.html"));
  EXPECT_EQ(server_->Cli({"view", "web"}).exit_code, 3);
}

TEST_F(EnvironmentFlow, OriginalCommandsWork) {
  auto c = server_->Cli({"re_create", "--name=test-java"});
  ASSERT_EQ(c.exit_code, 0) << c.err << server_->LogTail();
  // host_IP=...\nphase=Running\nssh_port=N,http_port=N,https_port=N
  EXPECT_EQ(c.out.rfind("host_IP=127.0.0.1\nphase=Running\nssh_port=", 0), 0u) << c.out;
  EXPECT_NE(c.out.find(",http_port="), std::string::npos);
  EXPECT_NE(c.out.find(",https_port="), std::string::npos);
  auto lp = server_->Cli({"list_pod"});
  EXPECT_EQ(lp.exit_code, 0);
  EXPECT_NE(lp.out.find("test-java"), std::string::npos);
  auto rb = server_->Cli({"re_rebuild", "--name=test-java"});
  EXPECT_EQ(rb.exit_code, 0) << rb.err;
  EXPECT_EQ(rb.out.rfind("host_IP=127.0.0.1\nphase=Running\n", 0), 0u) << rb.out;
  auto rd = server_->Cli({"re_delete", "--name=test-java"});
  EXPECT_EQ(rd.exit_code, 0) << rd.err;
  EXPECT_TRUE(OwnedContainers().empty());
}

TEST_F(EnvironmentFlow, BadInputGetsAClearErrorAndLeavesNothing) {
  struct Case {
    std::vector<std::string> args;
    int exit;
    const char* needle;
  } cases[] = {
      {{"create", "Bad_Name", "--no-wait"}, 2, "lower-case"},
      {{"create", "x;rm", "--no-wait"}, 2, "name"},
      {{"create", std::string(41, 'a'), "--no-wait"}, 2, "longer than 40"},
      {{"create", "okname", "--image", "Not A Ref", "--no-wait"}, 2, "image"},
      {{"create", "okname", "--port", "http:99999", "--no-wait"}, 2, "out of range"},
      {{"create", "okname", "--port", "http:abc", "--no-wait"}, 2, "numbers"},
      {{"create", "okname", "--env", "1X=2", "--no-wait"}, 2, "environment variable"},
      {{"view", "missing"}, 3, "not found"},
      {{"delete", "missing", "--no-wait"}, 3, "not found"},
      {{"rebuild", "missing", "--no-wait"}, 3, "not found"},
      {{"view", "../../etc"}, 2, "name"},
  };
  for (const auto& c : cases) {
    auto r = server_->Cli(c.args);
    EXPECT_EQ(r.exit_code, c.exit) << c.args[0] << " " << c.args[1] << ": " << r.err;
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  // An image that does not exist: a clear failure, then nothing left behind.
  auto missing =
      server_->Cli({"create", "ghost", "--image", registry_->address() + "/nope:1", "--wait"});
  EXPECT_EQ(missing.exit_code, 8) << missing.err << server_->LogTail();
  EXPECT_NE(missing.err.find("nope"), std::string::npos) << missing.err;
  EXPECT_EQ(server_->Cli({"view", "ghost"}).exit_code, 3);
  EXPECT_TRUE(OwnedContainers().empty());
  EXPECT_FALSE(util::PathExists(VolumeDir("ghost")));
  // A duplicate create is refused and the first keeps running.
  ASSERT_EQ(server_->Cli({"create", "dup", "--wait"}).exit_code, 0);
  auto dup = server_->Cli({"create", "dup", "--wait"});
  EXPECT_EQ(dup.exit_code, 4);
  EXPECT_NE(dup.err.find("already exists"), std::string::npos);
  EXPECT_EQ(OwnedContainers().size(), 1u);
}

TEST_F(EnvironmentFlow, FiftyConcurrentCreatesAllRunWithDistinctPorts) {
  constexpr int kN = 50;
  std::vector<std::thread> threads;
  std::vector<int> codes(kN, -1);
  std::vector<std::string> errs(kN);
  for (int i = 0; i < kN; ++i)
    threads.emplace_back([&, i] {
      auto r = server_->Cli({"create", "c" + std::to_string(i), "--wait", "--timeout", "600"},
                            std::chrono::seconds(700));
      codes[i] = r.exit_code;
      errs[i] = r.err;
    });
  for (auto& t : threads) t.join();
  for (int i = 0; i < kN; ++i) EXPECT_EQ(codes[i], 0) << "c" << i << ": " << errs[i];
  auto all = Json(server_->Cli({"list", "-o", "json"}));
  ASSERT_EQ(all.size(), static_cast<size_t>(kN));
  std::set<int> ports;
  for (const auto& v : all) {
    EXPECT_EQ(v["status"]["phase"], "Running");
    for (const auto& [name, port] : v["status"]["ports"].items())
      EXPECT_TRUE(ports.insert(port.get<int>()).second) << "port used twice: " << port;
  }
  EXPECT_EQ(ports.size(), static_cast<size_t>(3 * kN));
  EXPECT_EQ(OwnedContainers().size(), static_cast<size_t>(kN));
}

// HTTPS: nginx terminates TLS with the configured certificate (a test CA's wildcard) and
// proxies to the environment; rebuild keeps it reachable; delete makes it a 404.
TEST_F(EnvironmentFlow, HttpsThroughNginxWithATestCa) {
  server_.reset();
  util::TempDir certs("berth-e2e-ca");
  ASSERT_TRUE(MakeTestCa(certs.path(), {"*.ctest.localhost"}));
  int https_port = FreeLoopbackPort();
  BerthServerOptions o;
  o.docker_host = podman_->docker_host();
  o.default_image = image_;
  o.extra_toml = "tls_cert = \"" + certs.path() + "/server.pem\"\ntls_key = \"" + certs.path() +
                 "/server.key\"\nhttps_listen = \"127.0.0.1:" + std::to_string(https_port) + "\"\n";
  auto s = BerthServer::Start(o);
  ASSERT_TRUE(s) << s.error().message;
  server_ = std::move(*s);
  ASSERT_EQ(server_->Cli({"create", "secure", "--wait"}).exit_code, 0) << server_->LogTail();
  ASSERT_TRUE(util::WriteFileAtomic(VolumeDir("secure") + "/index.html", "over tls\n"));
  auto r = GetTls(https_port, "secure.ctest.localhost", certs.path() + "/ca.pem", "/index.html");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200) << server_->LogTail() << "\n"
                            << server_->Cli({"view", "secure", "-o", "json"}).out;
  EXPECT_EQ(r->body, "over tls\n");
  ASSERT_EQ(server_->Cli({"rebuild", "secure", "--wait"}).exit_code, 0);
  r = GetTls(https_port, "secure.ctest.localhost", certs.path() + "/ca.pem", "/index.html");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "over tls\n");
  ASSERT_EQ(server_->Cli({"delete", "secure", "--wait"}).exit_code, 0);
  r = GetTls(https_port, "secure.ctest.localhost", certs.path() + "/ca.pem", "/index.html");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 404);
}

// Changes made behind Berth's back arrive through the engine's event stream, not the resync
// (set to an hour here): a paused container shows as Paused, a removed one is re-created.
TEST_F(EnvironmentFlow, RuntimeEventsReconcileWithoutWaitingForTheResync) {
  server_.reset();  // one Berth per Podman: another one's orphan GC would remove our container
  BerthServerOptions o;
  o.docker_host = podman_->docker_host();
  o.default_image = image_;
  o.env = {{"BERTH_RESYNC_SECONDS", "3600"}};
  auto s = BerthServer::Start(o);
  ASSERT_TRUE(s) << s.error().message;
  auto& srv = **s;
  auto v = Json(srv.Cli({"create", "evt", "--wait", "-o", "json"}), &srv);
  ASSERT_EQ(v["status"]["phase"], "Running") << v.dump();
  std::string first_id = v["status"]["workload_id"];
  auto until = [&](const std::function<bool(const json&)>& pred) {
    json last;
    for (int i = 0; i < 300; ++i) {  // up to 30 s; the resync would take an hour
      auto r = srv.Cli({"view", "evt", "-o", "json"});
      if (r.exit_code == 0) {
        last = json::parse(r.out);
        if (pred(last)) return last;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "no change seen: " << last.dump() << "\n" << srv.LogTail();
    return last;
  };
  ASSERT_TRUE(podman_->PodmanOk({"pause", "berth-default.evt"}));
  auto paused = until([](const json& j) { return j["status"].value("reason", "") == "Paused"; });
  EXPECT_EQ(paused["status"]["phase"], "Pending");
  auto up = podman_->PodmanOk({"unpause", "berth-default.evt"});
  ASSERT_TRUE(up) << up.error().message;
  // Removed behind our back: re-created at once, same ports, new container.
  ASSERT_TRUE(podman_->PodmanOk({"rm", "-f", "berth-default.evt"}));
  auto back = until([&](const json& j) {
    return j["status"].value("phase", "") == "Running" &&
           j["status"].value("workload_id", "") != first_id;
  });
  EXPECT_EQ(back["status"]["ports"], v["status"]["ports"]);
  EXPECT_EQ(srv.Cli({"delete", "evt", "--wait"}).exit_code, 0);
}

// Two `berth serve` replicas on one etcd: both serve the API and route, one runs the controller
// (leader election); kill -9 of the leader hands the controller to the other within a lease.
TEST_F(EnvironmentFlow, TwoReplicasOnEtcdFailOverTheController) {
  server_.reset();  // only the two replicas may own containers on this Podman
  if (EtcdServer::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_ETCD=1";
  auto etcd = EtcdServer::Start();
  ASSERT_TRUE(etcd) << etcd.error().message;
  util::TempDir shared("berth-e2e-shared");  // the volumes both replicas see (GlusterFS in life)
  auto replica = [&](const std::string& id) {
    BerthServerOptions o;
    o.docker_host = podman_->docker_host();
    o.default_image = image_;
    o.env = {{"BERTH_STORE", (*etcd)->url()},
             {"BERTH_LEADER_LEASE_SECONDS", "3"},
             {"BERTH_IDENTITY", id},
             {"BERTH_VOLUME_ROOT", shared.path()}};
    return BerthServer::Start(o);
  };
  auto leader_of = [&](BerthServer& s) -> json {
    auto r = s.Cli({"status", "-o", "json"});
    if (r.exit_code != 0) return json();
    return json::parse(r.out)["components"]["leader_election"];
  };
  auto a = replica("r1");
  ASSERT_TRUE(a) << a.error().message;
  for (int i = 0; i < 100 && !leader_of(**a).value("leader", false); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(leader_of(**a).value("leader", false)) << (*a)->LogTail();
  auto b = replica("r2");
  ASSERT_TRUE(b) << b.error().message;
  auto lb = leader_of(**b);
  EXPECT_FALSE(lb.value("leader", true)) << lb.dump();
  EXPECT_EQ(lb.value("holder", ""), "r1");
  auto human = (*b)->Cli({"status"});
  EXPECT_NE(human.out.find("on r1 (this replica follows)"), std::string::npos) << human.out;

  // The follower takes the request; the leader's controller runs it; both routers serve it.
  auto v1 = Json((*b)->Cli({"create", "ha1", "--wait", "-o", "json"}), b->get());
  ASSERT_EQ(v1["status"]["phase"], "Running") << v1.dump() << (*a)->LogTail();
  ASSERT_TRUE(util::WriteFileAtomic(shared.path() + "/default/ha1/index.html", "ha\n"));
  for (auto* s : {a->get(), b->get()}) {
    bool ok = false;
    for (int i = 0; i < 50 && !ok; ++i) {
      auto g = GetWithHost(s->nginx_port(), "ha1.ctest.localhost", "/index.html");
      ok = g && g->status == 200 && g->body == "ha\n";
      if (!ok) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_TRUE(ok) << "not routed by the replica on nginx port " << s->nginx_port();
  }

  // kill -9 the leader: r2 takes the lease after at most one lease and converges new work.
  (*a)->Kill9();
  auto v2 =
      Json((*b)->Cli({"create", "ha2", "--wait", "--timeout", "120", "-o", "json"}), b->get());
  EXPECT_EQ(v2["status"]["phase"], "Running") << v2.dump() << (*b)->LogTail();
  EXPECT_TRUE(leader_of(**b).value("leader", false));

  // The old leader comes back as a follower; deletes through it are carried out by r2.
  ASSERT_TRUE((*a)->Run()) << (*a)->LogTail();
  auto la = leader_of(**a);
  EXPECT_FALSE(la.value("leader", true)) << la.dump();
  EXPECT_EQ(la.value("holder", ""), "r2");
  for (const char* n : {"ha1", "ha2"}) {
    auto d = (*a)->Cli({"delete", n, "--wait"});
    EXPECT_EQ(d.exit_code, 0) << d.err << (*b)->LogTail();
  }
  EXPECT_TRUE(OwnedContainers().empty());
  (*a)->Stop();
  (*b)->Stop();
}

// kill -9 of `berth serve` in the middle of create, rebuild and delete, at several points:
// after a restart everything converges, with no orphaned or duplicated container.
TEST_F(EnvironmentFlow, KillNineAtAnyPointConverges) {
  const std::vector<int> delays_ms = {0, 30, 120, 400};
  int round = 0;
  for (int delay : delays_ms) {
    ++round;
    std::string keep = "keep" + std::to_string(round);
    std::string gone = "gone" + std::to_string(round);
    std::string rebuilt = "rb" + std::to_string(round);
    ASSERT_EQ(server_->Cli({"create", gone, "--wait"}).exit_code, 0) << server_->LogTail();
    ASSERT_EQ(server_->Cli({"create", rebuilt, "--wait"}).exit_code, 0);
    // Three operations in flight, then the crash.
    ASSERT_EQ(server_->Cli({"create", keep, "--no-wait"}).exit_code, 0);
    ASSERT_EQ(server_->Cli({"rebuild", rebuilt, "--no-wait"}).exit_code, 0);
    ASSERT_EQ(server_->Cli({"delete", gone, "--no-wait"}).exit_code, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    server_->Kill9();
    ASSERT_TRUE(server_->Run()) << server_->LogTail();

    auto wait_keep = server_->Cli({"wait", keep});
    EXPECT_EQ(wait_keep.exit_code, 0) << wait_keep.err << server_->LogTail();
    auto wait_rb = server_->Cli({"wait", rebuilt});
    EXPECT_EQ(wait_rb.exit_code, 0) << wait_rb.err << server_->LogTail();
    auto rv = Json(server_->Cli({"view", rebuilt, "-o", "json"}));
    EXPECT_EQ(rv["status"]["observed_generation"], 2) << rv.dump();
    EXPECT_EQ(rv["status"]["phase"], "Running");
    auto d = server_->Cli({"wait", gone, "--for", "deleted"});
    EXPECT_EQ(d.exit_code, 0) << d.err;
    EXPECT_EQ(server_->Cli({"view", gone}).exit_code, 3);

    auto names = OwnedContainers();
    std::multiset<std::string> set(names.begin(), names.end());
    EXPECT_EQ(set.count("berth-default." + keep), 1u);
    EXPECT_EQ(set.count("berth-default." + rebuilt), 1u);
    EXPECT_EQ(set.count("berth-default." + gone), 0u);
  }
  // Exactly the environments the store holds, one container each.
  auto all = Json(server_->Cli({"list", "-o", "json"}));
  EXPECT_EQ(OwnedContainers().size(), all.size());
}

}  // namespace
}  // namespace berth::testing
