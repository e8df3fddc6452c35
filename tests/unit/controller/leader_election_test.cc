// Leader election on the embedded SQLite store (the etcd run is in tests/integration).
#include "controller/leader_election.h"

#include <gtest/gtest.h>

#include "berth/config.h"
#include "unit/controller/leader_election_contract.h"
#include "util/fs.h"

namespace berth::controller {
namespace {

class LeaderElectionSqlite : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::OpenStore("sqlite://" + dir.path() + "/b.db");
    ASSERT_TRUE(s) << s.error().message;
    st = std::move(*s);
  }
  util::TempDir dir{"berth-le"};
  std::unique_ptr<store::Store> st;
};

TEST_F(LeaderElectionSqlite, OneWinner) {
  contract::OneWinner(*st, "/berth/leader");
}
TEST_F(LeaderElectionSqlite, CrashedLeaderIsReplacedAfterTheLease) {
  contract::CrashedLeaderIsReplacedAfterTheLease(*st, "/berth/leader");
}
TEST_F(LeaderElectionSqlite, GracefulHandOver) {
  contract::GracefulHandOver(*st, "/berth/leader");
}
TEST_F(LeaderElectionSqlite, GarbageRecordIsTakenOverAfterALease) {
  contract::GarbageRecordIsTakenOverAfterALease(*st, "/berth/leader");
}

TEST(LeaderElectionConfig, AutoMeansOnForEtcdOnly) {
  Config c;
  c.store_url = "sqlite:///x/b.db";
  EXPECT_FALSE(c.LeaderElectionEnabled());
  c.store_url = "etcd://127.0.0.1:2379";
  EXPECT_TRUE(c.LeaderElectionEnabled());
  c.leader_election = "off";
  EXPECT_FALSE(c.LeaderElectionEnabled());
  c.store_url = "sqlite:///x/b.db";
  c.leader_election = "on";
  EXPECT_TRUE(c.LeaderElectionEnabled());
}

}  // namespace
}  // namespace berth::controller
