// Every domain and every host port belongs to whoever claimed it first, through the real binary:
// `berth serve` on Podman's Docker API with its nginx, and the CLI. A second claim of a domain
// is refused (exit 4 naming the owner) and the owner keeps its traffic; domains outside the base
// domains and IPs are refused; explicit host ports stay in the range; allocation skips ports
// other processes hold, and a port taken later moves. Each server gets its own small port
// range, below the ranges other installations on this host use, and the test itself plays the
// "other process" with plain loopback listeners.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <functional>
#include <set>
#include <thread>

#include "berth/environment.h"
#include "berth/store.h"
#include "store/sqlite_store.h"
#include "support/berth_server.h"
#include "support/images.h"
#include "support/nginx.h"
#include "support/podman.h"
#include "support/ports.h"
#include "util/fs.h"

namespace berth::testing {
namespace {

using nlohmann::json;

class Ownership : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (PodmanService::SkipRequested()) return;
    auto p = PodmanService::Start();
    ASSERT_TRUE(p) << p.error().message;
    podman_ = p->release();
    auto img = BuildTestImage(*podman_, "berth-own:1");
    ASSERT_TRUE(img) << img.error().message;
    image_ = *img;
  }
  static void TearDownTestSuite() {
    delete podman_;
    podman_ = nullptr;
  }
  void SetUp() override {
    if (PodmanService::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_PODMAN=1";
    ASSERT_NE(podman_, nullptr);
    base_ = FreeLoopbackPortBlock(kRange);
    ASSERT_GT(base_, 0) << "no free block of loopback ports";
  }
  void TearDown() override {
    if (server_) {
      auto ls = server_->Cli({"list", "-A", "-o", "json"});
      if (ls.exit_code == 0)
        for (const auto& v : json::parse(ls.out))
          server_->Cli({"delete", v["spec"]["name"], "-n", v["spec"]["namespace"], "--purge",
                        "--wait", "--timeout", "60"});
      server_.reset();
    }
  }

  // A server whose port range is [base_, base_ + range - 1].
  void StartServer(int range = kRange, std::string environments_toml = "",
                   std::function<Status(const std::string&)> prepare = nullptr) {
    BerthServerOptions o;
    o.docker_host = podman_->docker_host();
    o.default_image = image_;
    o.pull_policy = "IfNotPresent";  // the image is built into this Podman; no registry
    o.port_min = base_;
    o.port_max = base_ + range - 1;
    o.environments_toml = std::move(environments_toml);
    o.prepare_state = std::move(prepare);
    auto s = BerthServer::Start(o);
    ASSERT_TRUE(s) << s.error().message;
    server_ = std::move(*s);
  }

  json Json(const util::CommandResult& r) {
    EXPECT_EQ(r.exit_code, 0) << r.err;
    try {
      return json::parse(r.out);
    } catch (...) {
      ADD_FAILURE() << "not JSON: " << r.out << r.err;
      return json();
    }
  }

  // The environment's view once `pred` holds (up to 120 s), or the last one seen.
  json Until(const std::string& name, const std::function<bool(const json&)>& pred) {
    json last;
    for (int i = 0; i < 1200; ++i) {
      auto r = server_->Cli({"view", name, "-o", "json"});
      if (r.exit_code == 0) {
        last = json::parse(r.out);
        if (pred(last)) return last;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << name << " never got there: " << last.dump();
    return last;
  }

  std::string Serve(const std::string& host) {
    auto r = GetWithHost(server_->nginx_port(), host, "/index.html");
    if (!r) return "error: " + r.error().message;
    return std::to_string(r->status) + " " + r->body;
  }

  void WriteIndex(const std::string& name, const std::string& body) {
    ASSERT_TRUE(util::WriteFileAtomic(
        server_->state_dir() + "/volumes/default/" + name + "/index.html", body));
  }

  static constexpr int kRange = 12;
  static PodmanService* podman_;
  static std::string image_;
  int base_ = 0;
  std::unique_ptr<BerthServer> server_;
};

PodmanService* Ownership::podman_ = nullptr;
std::string Ownership::image_;

TEST_F(Ownership, ADomainBelongsToWhoeverClaimedItFirst) {
  StartServer();
  auto demo = Json(server_->Cli({"create", "demo", "--wait", "-o", "json"}));
  ASSERT_EQ(demo["status"]["phase"], "Running") << demo.dump();
  EXPECT_TRUE(demo["status"]["routed"].get<bool>());
  WriteIndex("demo", "demo\n");
  ASSERT_EQ(Serve("demo.ctest.localhost"), "200 demo\n");

  const std::string taken = "domain demo.ctest.localhost is taken by default/demo";
  struct Case {
    std::vector<std::string> args;
    int exit;
    std::string needle;
  } cases[] = {
      // The takeover of the issue: a lower key used to win the contested domain.
      {{"create", "aa-x", "--domain", "demo.ctest.localhost"}, 4, taken},
      // The same domain spelled differently is the same claim.
      {{"create", "aa-y", "--domain", "Demo.CTEST.localhost."}, 4, taken},
      {{"create", "aa-z", "-n", "other", "--domain", "demo.ctest.localhost"}, 4, taken},
      {{"create", "aa-w", "--domain", "www.example.com"},
       2,
       "domain www.example.com is not under a configured base domain"},
      {{"create", "aa-v", "--domain", "ctest.localhost"}, 2, "not under a configured base domain"},
      {{"create", "aa-u", "--domain", "10.0.0.1"}, 2, "is an IP address"},
      {{"create", "aa-t", "--domain", "127.0.0.1."}, 2, "is an IP address"},
  };
  for (const auto& c : cases) {
    auto args = c.args;
    args.push_back("--no-wait");
    auto r = server_->Cli(args);
    EXPECT_EQ(r.exit_code, c.exit) << c.args[1] << ": " << r.err;
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << c.args[1] << ": " << r.err;
    EXPECT_EQ(server_->Cli({"view", c.args[1]}).exit_code, 3) << c.args[1] << " was stored";
  }
  // The owner kept its traffic and says so truthfully.
  EXPECT_EQ(Serve("demo.ctest.localhost"), "200 demo\n");
  auto after = Json(server_->Cli({"view", "demo", "-o", "json"}));
  EXPECT_TRUE(after["status"]["routed"].get<bool>()) << after.dump();

  // Deleting the owner releases the claim with it; then the domain is free to claim.
  ASSERT_EQ(server_->Cli({"delete", "demo", "--wait"}).exit_code, 0);
  auto next = Json(
      server_->Cli({"create", "aa-x", "--domain", "DEMO.ctest.localhost", "--wait", "-o", "json"}));
  EXPECT_EQ(next["spec"]["domains"], json::array({"demo.ctest.localhost"})) << next.dump();
  WriteIndex("aa-x", "aa-x\n");
  EXPECT_EQ(Serve("demo.ctest.localhost"), "200 aa-x\n");
}

TEST_F(Ownership, AllowedDomainsLetTheAdminOpenOtherSuffixes) {
  StartServer(kRange, "allowed_domains = [\"example.com\"]\n");
  auto shop = Json(server_->Cli({"create", "shop", "--domain", "www.example.com", "--domain",
                                 "example.com", "--wait", "-o", "json"}));
  ASSERT_EQ(shop["status"]["phase"], "Running") << shop.dump();
  WriteIndex("shop", "shop\n");
  EXPECT_EQ(Serve("www.example.com"), "200 shop\n");
  EXPECT_EQ(Serve("example.com"), "200 shop\n");
  for (const char* d : {"notexample.com", "example.org", "www.example.com.evil.net"}) {
    auto r = server_->Cli({"create", "other", "--domain", d, "--no-wait"});
    EXPECT_EQ(r.exit_code, 2) << d << ": " << r.err;
    EXPECT_NE(r.err.find("not under a configured base domain"), std::string::npos) << r.err;
  }
  auto again = server_->Cli({"create", "copy", "--domain", "www.example.com", "--no-wait"});
  EXPECT_EQ(again.exit_code, 4) << again.err;
  EXPECT_NE(again.err.find("domain www.example.com is taken by default/shop"), std::string::npos)
      << again.err;
}

TEST_F(Ownership, ExplicitHostPortsStayInTheRangeOrTheAdminsList) {
  // The range is the block but its last port, which goes on the admin's list instead.
  const int extra = base_ + kRange - 1;
  StartServer(kRange - 1, "extra_host_ports = [" + std::to_string(extra) + "]\n");
  const std::string range = std::to_string(base_) + "-" + std::to_string(extra - 1);
  for (int port : {5, 40000, server_->nginx_port(), base_ - 1, extra + 1}) {
    auto r = server_->Cli(
        {"create", "pinned", "--port", "http:80:" + std::to_string(port), "--no-wait"});
    EXPECT_EQ(r.exit_code, 2) << port << ": " << r.err;
    EXPECT_NE(r.err.find("host port " + std::to_string(port) + " is outside the host port range " +
                         range),
              std::string::npos)
        << r.err;
    EXPECT_EQ(server_->Cli({"view", "pinned"}).exit_code, 3);
  }
  // Inside the range, and on the admin's list: accepted and served on exactly that port.
  auto in = Json(server_->Cli({"create", "inside", "--port", "http:80:" + std::to_string(base_ + 1),
                               "--wait", "-o", "json"}));
  EXPECT_EQ(in["status"]["ports"]["http"], base_ + 1) << in.dump();
  EXPECT_FALSE(in["spec"]["ports"][0]["auto_assigned"].get<bool>());
  auto ex = Json(server_->Cli(
      {"create", "listed", "--port", "http:80:" + std::to_string(extra), "--wait", "-o", "json"}));
  EXPECT_EQ(ex["status"]["ports"]["http"], extra) << ex.dump();
}

TEST_F(Ownership, AllocationSkipsPortsOtherProcessesHold) {
  // Six ports, every other one held: whatever port the allocator starts from, the one after it
  // is held, so only skipping held ports can give an environment its three ports.
  std::vector<std::unique_ptr<PortHolder>> held;
  for (int p = base_; p < base_ + 6; p += 2) {
    held.push_back(std::make_unique<PortHolder>(p));
    ASSERT_TRUE(held.back()->ok()) << p;
  }
  StartServer(6);
  auto v = Json(server_->Cli({"create", "skipper", "--wait", "--timeout", "120", "-o", "json"}));
  ASSERT_EQ(v["status"]["phase"], "Running") << v.dump();
  std::set<int> got;
  for (const auto& [name, port] : v["status"]["ports"].items()) got.insert(port.get<int>());
  EXPECT_EQ(got, (std::set<int>{base_ + 1, base_ + 3, base_ + 5}));
  // Nothing is left: a clear refusal that counts the held ports, not a wait for ever.
  auto full = server_->Cli({"create", "nomore", "--no-wait"});
  EXPECT_EQ(full.exit_code, 6) << full.err;
  EXPECT_NE(full.err.find("(3 held by other processes)"), std::string::npos) << full.err;
}

TEST_F(Ownership, APortTakenAfterAllocationMovesAndTheRouteFollows) {
  StartServer();
  auto v = Json(server_->Cli({"create", "mover", "--wait", "-o", "json"}));
  ASSERT_EQ(v["status"]["phase"], "Running") << v.dump();
  const int http = v["status"]["ports"]["http"];
  WriteIndex("mover", "moved\n");
  // While Berth is down its container goes away and another process takes the http port:
  // the next start must not wait on it for ever.
  server_->Kill9();
  ASSERT_TRUE(podman_->PodmanOk({"rm", "-f", "berth-default.mover"}));
  PortHolder h(http);
  ASSERT_TRUE(h.ok()) << http;
  ASSERT_TRUE(server_->Run());
  auto back = Until("mover", [&](const json& j) {
    return j["status"].value("phase", "") == "Running" &&
           j["status"]["ports"].value("http", 0) != http && j["status"].value("routed", false);
  });
  const int now = back["status"]["ports"].value("http", 0);
  EXPECT_NE(now, http);
  EXPECT_GE(now, base_);
  EXPECT_LT(now, base_ + kRange);
  EXPECT_EQ(back["status"]["ports"]["ssh"], v["status"]["ports"]["ssh"]);  // only the held one
  for (const auto& p : back["spec"]["ports"]) {
    if (p["name"] == "http") {
      EXPECT_EQ(p["host_port"], now);
    }
  }
  bool event = false;
  for (const auto& e : back["status"]["events"])
    event =
        event || (e["reason"] == "PortReallocated" &&
                  e["message"].get<std::string>().find(std::to_string(http) + " (http) -> " +
                                                       std::to_string(now)) != std::string::npos);
  EXPECT_TRUE(event) << back["status"]["events"].dump();
  EXPECT_EQ(Serve("mover.ctest.localhost"), "200 moved\n");
}

TEST_F(Ownership, AHeldPinnedPortFailsWithAClearReason) {
  PortHolder h(base_ + 2);
  ASSERT_TRUE(h.ok()) << base_ + 2;
  StartServer();
  ASSERT_EQ(
      server_->Cli({"create", "pin", "--port", "http:80:" + std::to_string(base_ + 2), "--no-wait"})
          .exit_code,
      0);
  // last_error, not reason: each retry shows "Creating" while it waits for the port again.
  auto v = Until("pin", [](const json& j) {
    return j["status"].value("last_error", "").find("was pinned") != std::string::npos;
  });
  EXPECT_NE(v["status"]
                .value("last_error", "")
                .find("host port " + std::to_string(base_ + 2) + " (http) was pinned"),
            std::string::npos)
      << v.dump();
  EXPECT_EQ(v["spec"]["ports"][0]["host_port"], base_ + 2);  // a pinned port is never moved
  // Freed, the port is taken at the next retry; then the environment deletes like any other.
  h.Release();
  auto up = Until("pin", [](const json& j) { return j["status"].value("phase", "") == "Running"; });
  EXPECT_EQ(up["status"]["ports"]["http"], base_ + 2);
  EXPECT_EQ(server_->Cli({"delete", "pin", "--wait"}).exit_code, 0);
}

// A store written by the previous release has no domain claims, and two environments naming
// one domain. On first start the one created first gets the claim and the traffic; the other
// gets a DomainTaken event and is not reported as routed (the lower key used to win).
TEST_F(Ownership, ExistingEnvironmentsGetTheirClaimsFirstComeFirstServed) {
  auto prepare = [&](const std::string& state_dir) -> Status {
    auto st = store::SqliteStore::Open({state_dir + "/berth.db"});
    if (!st) return Fail(st.error());
    auto write = [&](const std::string& name, const std::string& created_at,
                     int first_port) -> Status {
      EnvironmentSpec s;
      s.name = name;
      s.image = image_;
      s.pull_policy = PullPolicy::kIfNotPresent;
      s.ports = DefaultPorts();
      for (size_t i = 0; i < s.ports.size(); ++i)
        s.ports[i].host_port = first_port + static_cast<int>(i);
      s.domains = {"demo.ctest.localhost"};
      s.created_at = created_at;
      EnvStatus status;
      status.reason = "Accepted";
      store::Txn txn;
      txn.ops.push_back(store::Op::Put(store::keys::Spec("default", name), SerializeSpec(s)));
      txn.ops.push_back(
          store::Op::Put(store::keys::Status("default", name), SerializeStatus(status)));
      for (const auto& p : s.ports)
        txn.ops.push_back(store::Op::Put(store::keys::Port(p.host_port), "default/" + name));
      auto r = (*st)->Commit(txn);
      if (!r) return Fail(r.error());
      return {};
    };
    // "demo" first, "aa-x" (the lower key) a day later.
    if (auto s = write("demo", "2026-01-01T00:00:00Z", base_); !s) return s;
    return write("aa-x", "2026-01-02T00:00:00Z", base_ + 3);
  };
  StartServer(kRange, "", prepare);
  auto running = [](const json& j) { return j["status"].value("phase", "") == "Running"; };
  auto demo = Until(
      "demo", [&](const json& j) { return running(j) && j["status"].value("routed", false); });
  auto aax = Until("aa-x", running);
  WriteIndex("demo", "demo\n");
  WriteIndex("aa-x", "aa-x\n");
  EXPECT_EQ(Serve("demo.ctest.localhost"), "200 demo\n");
  EXPECT_TRUE(demo["status"]["routed"].get<bool>());
  // Running is written by the pass that published (or withheld) the route, so `routed` is final.
  EXPECT_FALSE(aax["status"]["routed"].get<bool>()) << aax.dump();
  bool event = false;
  for (const auto& e : aax["status"]["events"])
    event =
        event || (e["reason"] == "DomainTaken" &&
                  e["message"].get<std::string>().find(
                      "domain demo.ctest.localhost is taken by default/demo") != std::string::npos);
  EXPECT_TRUE(event) << aax["status"]["events"].dump();
  EXPECT_EQ(Serve("demo.ctest.localhost"), "200 demo\n");
  // A new claim of that domain is refused like any other.
  auto r = server_->Cli({"create", "late", "--domain", "demo.ctest.localhost", "--no-wait"});
  EXPECT_EQ(r.exit_code, 4) << r.err;
}

}  // namespace
}  // namespace berth::testing
