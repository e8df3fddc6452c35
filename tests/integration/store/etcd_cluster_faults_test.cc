// etcd faults under the whole API: a real 3-member etcd cluster (Debian's etcd, loopback), two
// `berth serve` replicas given all three endpoints, environments on the test's own Podman, and
// the `berth` CLI. A member killed mid-stream fails no request; a lost quorum is a prompt 503
// (exit 6), and once quorum is back everything converges without restarting anything, with a
// store that lists consistent.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "berth/environment.h"
#include "berth/store.h"
#include "net/http_client.h"
#include "support/berth_server.h"
#include "support/etcd.h"
#include "support/images.h"
#include "support/nginx.h"
#include "support/podman.h"
#include "util/fs.h"

namespace berth::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class EtcdClusterFaults : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (PodmanService::SkipRequested() || EtcdServer::SkipRequested()) return;
    auto p = PodmanService::Start();
    ASSERT_TRUE(p) << p.error().message;
    podman_ = p->release();
    auto img = BuildTestImage(*podman_, "berth-etcd-faults:1");
    ASSERT_TRUE(img) << img.error().message;
    image_ = *img;
  }
  static void TearDownTestSuite() {
    delete podman_;
    podman_ = nullptr;
  }

  void SetUp() override {
    if (PodmanService::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_PODMAN=1";
    if (EtcdServer::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_ETCD=1";
    ASSERT_NE(podman_, nullptr);
    auto c = EtcdCluster::Start();
    ASSERT_TRUE(c) << c.error().message;
    cluster_ = std::move(*c);
    shared_ = std::make_unique<util::TempDir>("berth-etcd-faults-shared");
    for (const char* id : {"r1", "r2"}) {
      BerthServerOptions o;
      o.docker_host = podman_->docker_host();
      o.default_image = image_;
      o.pull_policy = "IfNotPresent";
      o.env = {{"BERTH_STORE", cluster_->url()},
               {"BERTH_LEADER_LEASE_SECONDS", "3"},
               {"BERTH_IDENTITY", id},
               {"BERTH_VOLUME_ROOT", shared_->path()}};
      auto s = BerthServer::Start(o);
      ASSERT_TRUE(s) << s.error().message << cluster_->LogTails();
      replicas_.push_back(std::move(*s));
    }
  }

  void TearDown() override {
    if (!replicas_.empty() && cluster_) {
      for (size_t i = 0; i < cluster_->size(); ++i)
        if (!cluster_->member(i).running()) (void)cluster_->Restart(i);
      (void)cluster_->WaitHealthy();
      // Leave no containers for the next test: delete everything, then wait (bounded).
      auto ls = replicas_[0]->Cli({"list", "-A", "-o", "json"});
      if (ls.exit_code == 0)
        for (const auto& v : json::parse(ls.out, nullptr, false))
          replicas_[0]->Cli(
              {"delete", v["spec"]["name"], "-n", v["spec"]["namespace"], "--purge", "--no-wait"});
      for (int i = 0; i < 60 && !Phases(*replicas_[0]).empty(); ++i)
        std::this_thread::sleep_for(1s);
    }
    for (auto& r : replicas_) r->Stop();
    replicas_.clear();
    cluster_.reset();
  }

  BerthServer& r(size_t i) { return *replicas_.at(i); }

  std::string Logs() {
    std::string out;
    for (auto& s : replicas_) out += "--- berth serve:\n" + s->LogTail(3000) + "\n";
    return out + cluster_->LogTails(1500);
  }

  // The environments as a replica lists them: name -> phase.
  std::map<std::string, std::string> Phases(BerthServer& s) {
    std::map<std::string, std::string> out;
    auto ls = s.Cli({"list", "-o", "json"}, 30s);
    if (ls.exit_code != 0) return {{"<list failed>", ls.err}};
    for (const auto& v : json::parse(ls.out, nullptr, false))
      out[v["spec"].value("name", "")] = v.value("status", json::object()).value("phase", "");
    return out;
  }

  // Waits (bounded) until the listing equals `want` (every name Running).
  bool Converges(BerthServer& s, const std::set<std::string>& want,
                 const std::set<std::string>& maybe = {}) {
    std::map<std::string, std::string> got;
    for (int i = 0; i < 90; ++i) {
      got = Phases(s);
      bool ok = true;
      for (const auto& n : want) ok = ok && got.count(n) && got[n] == "Running";
      for (const auto& [n, phase] : got)
        ok = ok && (want.count(n) || (maybe.count(n) && phase == "Running"));
      if (ok) return true;
      std::this_thread::sleep_for(1s);
    }
    std::string seen;
    for (const auto& [n, p] : got) seen += n + "=" + p + " ";
    ADD_FAILURE() << "did not converge; last listing: " << seen << "\n" << Logs();
    return false;
  }

  // The store read directly: every spec has a status and its own port reservations, no host
  // port is held twice, no reservation or status is left without its spec. Retried (bounded):
  // the controller's resync collects leftovers of interrupted deletes.
  void ExpectConsistentStore() {
    auto st = store::OpenStore(cluster_->url());
    ASSERT_TRUE(st) << st.error().message;
    std::string problems;
    for (int attempt = 0; attempt < 30; ++attempt) {
      problems.clear();
      auto specs = (*st)->List(store::keys::kSpecs);
      auto statuses = (*st)->List(store::keys::kStatus);
      auto ports = (*st)->List(store::keys::kPorts);
      ASSERT_TRUE(specs && statuses && ports);
      std::set<std::string> envs, with_status;
      std::map<int, std::string> port_owner;
      for (const auto& kv : statuses->kvs)
        with_status.insert(kv.key.substr(store::keys::kStatus.size()));
      for (const auto& kv : specs->kvs) {
        auto spec = ParseSpec(kv.value);
        if (!spec) {
          problems += "unparsable spec " + kv.key + "; ";
          continue;
        }
        envs.insert(spec->Key());
        if (!with_status.count(spec->Key())) problems += "no status for " + spec->Key() + "; ";
        for (const auto& p : spec->ports) {
          if (p.host_port == 0) continue;
          auto [it, fresh] = port_owner.emplace(p.host_port, spec->Key());
          if (!fresh)
            problems += "port " + std::to_string(p.host_port) + " in " + it->second + " and " +
                        spec->Key() + "; ";
        }
      }
      std::set<int> reserved;
      for (const auto& kv : ports->kvs) {
        int port = std::stoi(kv.key.substr(store::keys::kPorts.size()));
        reserved.insert(port);
        auto it = port_owner.find(port);
        if (it == port_owner.end() || it->second != kv.value)
          problems += "reservation " + kv.key + " -> " + kv.value + " without that spec; ";
      }
      for (const auto& [port, owner] : port_owner)
        if (!reserved.count(port))
          problems += owner + " uses port " + std::to_string(port) + " unreserved; ";
      for (const auto& k : with_status)
        if (!envs.count(k)) problems += "status without spec " + k + "; ";
      if (problems.empty()) return;
      std::this_thread::sleep_for(1s);
    }
    ADD_FAILURE() << "store inconsistent: " << problems << "\n" << Logs();
  }

  static PodmanService* podman_;
  static std::string image_;
  std::unique_ptr<EtcdCluster> cluster_;
  std::unique_ptr<util::TempDir> shared_;
  std::vector<std::unique_ptr<BerthServer>> replicas_;
};

PodmanService* EtcdClusterFaults::podman_ = nullptr;
std::string EtcdClusterFaults::image_;

// A stream of creates and deletes through both replicas while member 0 (every client's first
// endpoint) is killed with -9, and later the raft leader: not one request may fail.
TEST_F(EtcdClusterFaults, MemberKilledMidStreamFailsNoRequest) {
  constexpr int kOps = 15;
  std::atomic<int> done{0};
  std::vector<std::string> failures;
  std::set<std::string> alive;
  std::thread stream([&] {
    for (int i = 0; i < kOps; ++i) {
      std::string name = "s" + std::to_string(i);
      BerthServer& s = r(i % 2);
      auto c = s.Cli({"create", name, "--no-wait", "-o", "json"}, 60s);
      if (c.exit_code != 0)
        failures.push_back("create " + name + ": exit " + std::to_string(c.exit_code) + " " +
                           c.err);
      else
        alive.insert(name);
      if (i % 3 == 2) {  // delete an earlier one through the other replica
        std::string old = "s" + std::to_string(i - 2);
        auto d = r((i + 1) % 2).Cli({"delete", old, "--no-wait"}, 60s);
        if (d.exit_code != 0)
          failures.push_back("delete " + old + ": exit " + std::to_string(d.exit_code) + " " +
                             d.err);
        else
          alive.erase(old);
      }
      done = i + 1;
      std::this_thread::sleep_for(150ms);
    }
  });
  auto wait_done = [&](int n) {
    while (done.load() < n) std::this_thread::sleep_for(20ms);
  };
  // The faults, while the stream runs (no ASSERT before the join).
  size_t leader = 0;
  std::string fault_error = [&]() -> std::string {
    wait_done(3);
    cluster_->Kill9(0);
    wait_done(7);
    if (auto st = cluster_->Restart(0); !st) return st.error().message;
    if (auto st = cluster_->WaitHealthy(); !st) return st.error().message;
    auto l = cluster_->Leader();
    if (!l) return l.error().message;
    leader = *l;
    cluster_->Kill9(leader);
    return "";
  }();
  stream.join();
  ASSERT_EQ(fault_error, "") << cluster_->LogTails();
  EXPECT_TRUE(failures.empty()) << ::testing::PrintToString(failures) << "\n" << Logs();

  ASSERT_TRUE(cluster_->Restart(leader));
  ASSERT_TRUE(cluster_->WaitHealthy()) << cluster_->LogTails();
  Converges(r(0), alive);
  ExpectConsistentStore();
}

// Two members down: the API answers 503 "unavailable" and the CLI exits 6, in bounded time,
// on both replicas; with the members back, the pending creates become Running, new work is
// done and the leader election settles, all without restarting `berth serve`.
TEST_F(EtcdClusterFaults, QuorumLossIs503AndConvergesAfter) {
  auto keep = r(0).Cli({"create", "keep", "--wait", "--timeout", "90", "-o", "json"}, 120s);
  ASSERT_EQ(keep.exit_code, 0) << keep.err << Logs();
  for (const char* n : {"pend1", "pend2"}) {
    auto c = r(1).Cli({"create", n, "--no-wait"}, 60s);
    ASSERT_EQ(c.exit_code, 0) << c.err << Logs();
  }
  cluster_->Kill9(0);
  cluster_->Kill9(1);

  // Bounded by the CLI's own limit here: a hang would show as timed_out.
  for (size_t i = 0; i < 2; ++i) {
    auto c = r(i).Cli({"create", "during" + std::to_string(i), "--no-wait"}, 45s);
    EXPECT_FALSE(c.timed_out);
    EXPECT_EQ(c.exit_code, 6) << c.err;
    EXPECT_NE(c.err.find("etcd unavailable"), std::string::npos) << c.err;
    auto ls = r(i).Cli({"list"}, 45s);
    EXPECT_FALSE(ls.timed_out);
    EXPECT_EQ(ls.exit_code, 6) << ls.err;
    auto v = r(i).Cli({"view", "keep"}, 45s);
    EXPECT_EQ(v.exit_code, 6) << v.err;
  }
  net::ClientOptions co;
  co.base_url = "http://berth";
  co.unix_socket = r(0).socket();
  co.timeout = 45s;
  net::HttpClient api(co);
  auto resp = api.Send({"GET", "/v1/environments", {}, "", std::chrono::milliseconds(-1)});
  ASSERT_TRUE(resp) << resp.error().message;
  EXPECT_EQ(resp->status, 503) << resp->body;
  EXPECT_EQ(json::parse(resp->body, nullptr, false)["error"].value("code", ""), "Unavailable")
      << resp->body;

  ASSERT_TRUE(cluster_->Restart(0));
  ASSERT_TRUE(cluster_->Restart(1));
  ASSERT_TRUE(cluster_->WaitHealthy()) << cluster_->LogTails();

  // A create answered 503 may still have been committed by a leader that had not yet noticed
  // the lost quorum; it must then be whole (and run), never half there.
  Converges(r(1), {"keep", "pend1", "pend2"}, {"during0", "during1"});
  auto after = r(1).Cli({"create", "after", "--wait", "--timeout", "90", "-o", "json"}, 120s);
  EXPECT_EQ(after.exit_code, 0) << after.err << Logs();
  // Both replicas' routers, whose watches lived through the outage, route it.
  ASSERT_TRUE(util::WriteFileAtomic(shared_->path() + "/default/after/index.html", "after\n"));
  for (size_t i = 0; i < 2; ++i) {
    bool ok = false;
    for (int n = 0; n < 100 && !ok; ++n) {
      auto g = GetWithHost(r(i).nginx_port(), "after.ctest.localhost", "/index.html");
      ok = g && g->status == 200 && g->body == "after\n";
      if (!ok) std::this_thread::sleep_for(200ms);
    }
    EXPECT_TRUE(ok) << "not routed by replica " << i << "\n" << Logs();
  }
  // One replica leads, and both say which.
  std::string holder[2];
  int leaders = 0;
  for (int i = 0; i < 2; ++i) {
    auto st = r(i).Cli({"status", "-o", "json"}, 30s);
    ASSERT_EQ(st.exit_code, 0) << st.err;
    auto le = json::parse(st.out)["components"]["leader_election"];
    holder[i] = le.value("holder", "");
    leaders += le.value("leader", false) ? 1 : 0;
  }
  EXPECT_EQ(leaders, 1);
  EXPECT_EQ(holder[0], holder[1]);
  ExpectConsistentStore();
}

}  // namespace
}  // namespace berth::testing
