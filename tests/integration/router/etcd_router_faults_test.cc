// `berth router` (the binary, lua mode) on a real 3-member etcd cluster while members die and
// routes change: nginx keeps serving the last good table through a lost quorum and picks up
// the changes made once etcd is back.
#include <signal.h>

#include "router_fixture.h"
#include "support/berth_server.h"
#include "support/etcd.h"
#include "util/process.h"
#include "util/strings.h"

namespace berth::router {
namespace {

using namespace std::chrono_literals;

class EtcdRouterFaults : public RouterFixture {
 protected:
  void SetUp() override {
    RouterFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    if (testing::EtcdServer::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_ETCD=1";
    auto c = testing::EtcdCluster::Start();
    ASSERT_TRUE(c) << c.error().message;
    cluster_ = std::move(*c);
    auto s = store::OpenStore(cluster_->url());
    ASSERT_TRUE(s) << s.error().message;
    writer_ = std::move(*s);
  }
  void TearDown() override {
    StopRouter();
    RouterFixture::TearDown();
    writer_.reset();
    cluster_.reset();
  }

  // The router binary, on all three endpoints, with its own nginx under dir_.
  void StartRouter() {
    std::vector<std::string> hosts;
    for (size_t i = 0; i < cluster_->size(); ++i)
      hosts.push_back("127.0.0.1:" + std::to_string(cluster_->member(i).client_port()));
    ASSERT_TRUE(util::WriteFileAtomic(dir_->path() + "/berth.toml", ""));
    util::SpawnOptions so;
    so.env_set = {{"BERTH_CONFIG", dir_->path() + "/berth.toml"},
                  {"BERTH_STATE_DIR", dir_->path() + "/state"}};
    so.stdout_path = dir_->path() + "/router.log";
    so.stderr_path = "=stdout";
    auto p =
        util::Subprocess::Spawn({testing::BerthBinary(), "router", "--etcd", util::Join(hosts, ","),
                                 "--mode", "lua", "--nginx", opts_.nginx_binary, "--prefix",
                                 opts_.prefix, "--listen-http", opts_.http_listen},
                                so);
    ASSERT_TRUE(p) << p.error().message;
    router_ = std::move(*p);
  }
  void StopRouter() {
    if (router_.pid() > 0) router_.Stop(10s);
    router_ = util::Subprocess();
    // Whatever happened to the router, its nginx goes too.
    if (auto pid = util::ReadFile(opts_.prefix + "/logs/nginx.pid")) {
      try {
        ::kill(std::stoi(*pid), SIGQUIT);
      } catch (...) {
      }
    }
  }
  std::string Logs() {
    return "--- router:\n" + util::ReadFile(dir_->path() + "/router.log").value_or("") + "\n" +
           cluster_->LogTails(1500);
  }

  Status PutRoute(const std::string& name) {
    Route r{"default", name, upstream_->port(), 0, {name + ".ctest.localhost"}, "127.0.0.1"};
    auto rev = writer_->Put(store::keys::Route("default", name), SerializeRoute(r));
    if (!rev) return Fail(rev.error());
    return {};
  }
  Status DeleteRoute(const std::string& name) {
    auto rev = writer_->Delete(store::keys::Route("default", name));
    if (!rev) return Fail(rev.error());
    return {};
  }
  // Polls (bounded) until `host` answers `status` through nginx.
  bool Answers(const std::string& name, int status) {
    int last = 0;
    for (int i = 0; i < 300; ++i) {
      auto r = testing::GetWithHost(http_port_, name + ".ctest.localhost", "/");
      last = r ? r->status : 0;
      if (last == status) return true;
      std::this_thread::sleep_for(100ms);
    }
    ADD_FAILURE() << name << " answers " << last << ", not " << status << "\n" << Logs();
    return false;
  }

  std::unique_ptr<testing::EtcdCluster> cluster_;
  std::unique_ptr<store::Store> writer_;
  util::Subprocess router_;
};

TEST_F(EtcdRouterFaults, NginxKeepsTheLastGoodTableThroughMemberLoss) {
  ASSERT_TRUE(PutRoute("a"));
  ASSERT_TRUE(PutRoute("b"));
  StartRouter();
  ASSERT_TRUE(Answers("a", 200));
  ASSERT_TRUE(Answers("b", 200));

  // kill -9 of the member every client tries first: the router's watch moves on.
  cluster_->Kill9(0);
  ASSERT_TRUE(PutRoute("c"));
  ASSERT_TRUE(DeleteRoute("a"));
  EXPECT_TRUE(Answers("c", 200));
  EXPECT_TRUE(Answers("a", 404));

  // Quorum lost: writes are refused as unavailable, and every route nginx had keeps answering
  // for longer than a store call may take (etcd holds a request 7 s; the router relists).
  cluster_->Kill9(1);
  auto refused = writer_->Put(store::keys::Route("default", "d"), "x");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable) << refused.error().message;
  for (int i = 0; i < 30; ++i) {
    for (const char* name : {"b", "c"}) {
      auto r = testing::GetWithHost(http_port_, std::string(name) + ".ctest.localhost", "/");
      ASSERT_TRUE(r) << r.error().message;
      ASSERT_EQ(r->status, 200) << name << " during the outage\n" << Logs();
    }
    std::this_thread::sleep_for(500ms);
  }

  // Quorum back: changes made now reach nginx, with the router never restarted.
  ASSERT_TRUE(cluster_->Restart(0));
  ASSERT_TRUE(cluster_->Restart(1));
  ASSERT_TRUE(cluster_->WaitHealthy()) << cluster_->LogTails();
  ASSERT_TRUE(PutRoute("d"));
  ASSERT_TRUE(DeleteRoute("b"));
  EXPECT_TRUE(Answers("d", 200));
  EXPECT_TRUE(Answers("b", 404));
  EXPECT_TRUE(Answers("c", 200));
  EXPECT_TRUE(router_.running()) << Logs();
}

// The member the router watches hangs: no error, only silence. Route changes made through the
// other members still reach nginx.
TEST_F(EtcdRouterFaults, FrozenMemberDoesNotStallRoutes) {
  ASSERT_TRUE(PutRoute("a"));
  StartRouter();
  ASSERT_TRUE(Answers("a", 200));
  cluster_->member(0).Pause();
  ASSERT_TRUE(PutRoute("b"));
  ASSERT_TRUE(DeleteRoute("a"));
  EXPECT_TRUE(Answers("b", 200));
  EXPECT_TRUE(Answers("a", 404));
  cluster_->member(0).Resume();
}

}  // namespace
}  // namespace berth::router
