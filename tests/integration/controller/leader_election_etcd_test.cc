// Leader election on a real etcd: the shared contract, and a leader cut off from etcd stepping
// down before its lease runs out.
#include <gtest/gtest.h>

#include "support/etcd.h"
#include "unit/controller/leader_election_contract.h"

namespace berth::controller {
namespace {

using namespace std::chrono_literals;
using testing::EtcdServer;

class LeaderElectionEtcd : public ::testing::Test {
 protected:
  void SetUp() override {
    if (EtcdServer::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_ETCD=1";
    auto e = EtcdServer::Start();
    ASSERT_TRUE(e) << e.error().message;
    etcd = std::move(*e);
    auto s = store::OpenStore(etcd->url());
    ASSERT_TRUE(s) << s.error().message;
    st = std::move(*s);
  }
  std::unique_ptr<EtcdServer> etcd;
  std::unique_ptr<store::Store> st;
};

TEST_F(LeaderElectionEtcd, OneWinner) {
  contract::OneWinner(*st, "/berth/leader");
}
TEST_F(LeaderElectionEtcd, CrashedLeaderIsReplacedAfterTheLease) {
  contract::CrashedLeaderIsReplacedAfterTheLease(*st, "/berth/leader");
}
TEST_F(LeaderElectionEtcd, GracefulHandOver) {
  contract::GracefulHandOver(*st, "/berth/leader");
}
TEST_F(LeaderElectionEtcd, GarbageRecordIsTakenOverAfterALease) {
  contract::GarbageRecordIsTakenOverAfterALease(*st, "/berth/leader");
}

TEST_F(LeaderElectionEtcd, LeaderCutOffFromEtcdStepsDown) {
  std::atomic<int> started{0}, stopped{0};
  LeaderElector a(
      *st, contract::Fast("a", "/berth/leader"), [&] { started++; }, [&] { stopped++; });
  a.Start();
  ASSERT_TRUE(contract::WaitFor([&] { return a.State().leader; }, 5s));
  etcd->Stop();
  // renew_deadline is 400 ms; allow generously for request timeouts against a dead endpoint.
  ASSERT_TRUE(contract::WaitFor([&] { return !a.State().leader; }, 20s));
  // The callbacks run just after the state changes (SetLeader): wait for them too.
  EXPECT_TRUE(contract::WaitFor([&] { return stopped.load() == 1; }, 5s)) << stopped.load();
  // Back again: the record still names "a", so it simply renews and leads again.
  ASSERT_TRUE(etcd->Restart());
  ASSERT_TRUE(contract::WaitFor([&] { return a.State().leader; }, 20s));
  EXPECT_TRUE(contract::WaitFor([&] { return started.load() == 2; }, 5s)) << started.load();
}

}  // namespace
}  // namespace berth::controller
