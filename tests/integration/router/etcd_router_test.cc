// Routes from a real etcd, and the embedded store mirrored to etcd.
#include "router/etcd_publisher.h"
#include "router_fixture.h"
#include "support/etcd.h"

namespace berth::router {
namespace {

class EtcdRouterTest : public RouterFixture {
 protected:
  void SetUp() override {
    RouterFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    if (testing::EtcdServer::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_ETCD=1";
    auto e = testing::EtcdServer::Start();
    ASSERT_TRUE(e) << e.error().message;
    etcd_ = std::move(*e);
    auto s = store::OpenStore(etcd_->url());
    ASSERT_TRUE(s) << s.error().message;
    etcd_store_ = std::move(*s);
  }
  void TearDown() override {
    RouterFixture::TearDown();
    etcd_store_.reset();
    etcd_.reset();
  }
  std::unique_ptr<testing::EtcdServer> etcd_;
  std::unique_ptr<store::Store> etcd_store_;
};

TEST_F(EtcdRouterTest, RouterFollowsEtcd) {
  opts_.mode = "lua";
  sync_ = std::make_unique<RouteSync>(*etcd_store_, opts_);
  ASSERT_TRUE(sync_->Start());
  Route r{"default", "e", upstream_->port(), 0, {"e.ctest.localhost"}, "127.0.0.1"};
  auto rev = etcd_store_->Put(store::keys::Route("default", "e"), SerializeRoute(r));
  ASSERT_TRUE(rev) << rev.error().message;
  ASSERT_TRUE(sync_->WaitApplied(*rev, kApplyTimeout)) << sync_->LastError();
  EXPECT_EQ(Get("e.ctest.localhost").status, 200);
  auto del = etcd_store_->Delete(store::keys::Route("default", "e"));
  ASSERT_TRUE(del);
  ASSERT_TRUE(sync_->WaitApplied(*del, kApplyTimeout));
  EXPECT_EQ(Get("e.ctest.localhost").status, 404);
}

TEST_F(EtcdRouterTest, PublisherMirrorsTheEmbeddedStore) {
  // Before start: one record to copy, one stale etcd key to remove.
  ASSERT_TRUE(store_->Put("/devnginx/default/one", "v1"));
  ASSERT_TRUE(store_->Put("/berth/envs/default/one", "not a route"));
  ASSERT_TRUE(etcd_store_->Put("/devnginx/default/stale", "old"));
  auto target = store::OpenStore(etcd_->url());
  ASSERT_TRUE(target);
  EtcdRoutePublisher pub(*store_, std::move(*target));
  pub.Start();
  auto rev = store_->Put("/devnginx/default/two", "v2");
  ASSERT_TRUE(rev);
  ASSERT_TRUE(pub.WaitMirrored(*rev, std::chrono::seconds(20))) << pub.Stats().last_error;
  auto del = store_->Delete("/devnginx/default/one");
  ASSERT_TRUE(del);
  ASSERT_TRUE(pub.WaitMirrored(*del, std::chrono::seconds(20))) << pub.Stats().last_error;

  auto list = etcd_store_->List("/");
  ASSERT_TRUE(list);
  std::map<std::string, std::string> got;
  for (const auto& kv : list->kvs) got[kv.key] = kv.value;
  EXPECT_EQ(got, (std::map<std::string, std::string>{{"/devnginx/default/two", "v2"}}));
  pub.Stop();
}

// Two installations publishing to one etcd (and records of other tools there): a publisher
// neither overwrites nor deletes a record carrying another installation's id, nor deletes an
// unlabelled one; it keeps its own in step.
TEST_F(EtcdRouterTest, PublisherLeavesAnotherInstallationsRecords) {
  const std::string mine = "1111111111111111", theirs = "2222222222222222";
  auto record = [](const std::string& name, const std::string& inst) {
    return SerializeRoute(
        Route{"default", name, 30001, 0, {name + ".ctest.localhost"}, "127.0.0.1", inst});
  };
  ASSERT_TRUE(etcd_store_->Put("/devnginx/default/theirs", record("theirs", theirs)));
  ASSERT_TRUE(etcd_store_->Put("/devnginx/default/clash", record("clash", theirs)));
  ASSERT_TRUE(etcd_store_->Put("/devnginx/default/confd", record("confd", "")));
  ASSERT_TRUE(store_->Put("/devnginx/default/mine", record("mine", mine)));
  ASSERT_TRUE(store_->Put("/devnginx/default/clash", record("clash", mine)));
  auto target = store::OpenStore(etcd_->url());
  ASSERT_TRUE(target);
  EtcdRoutePublisher pub(*store_, std::move(*target));
  pub.SetInstallation(mine);
  pub.Start();
  auto rev = store_->Put("/devnginx/default/later", record("later", mine));
  ASSERT_TRUE(rev);
  ASSERT_TRUE(pub.WaitMirrored(*rev, std::chrono::seconds(20))) << pub.Stats().last_error;
  auto value = [&](const std::string& key) {
    auto g = etcd_store_->Get(key);
    return g && *g ? (*g)->value : std::string("(none)");
  };
  EXPECT_EQ(value("/devnginx/default/theirs"), record("theirs", theirs));
  EXPECT_EQ(value("/devnginx/default/clash"), record("clash", theirs));
  EXPECT_EQ(value("/devnginx/default/confd"), record("confd", ""));
  EXPECT_EQ(value("/devnginx/default/mine"), record("mine", mine));
  EXPECT_EQ(value("/devnginx/default/later"), record("later", mine));

  // Deletes: its own go; the clashing name stays the other's.
  ASSERT_TRUE(store_->Delete("/devnginx/default/mine"));
  auto del = store_->Delete("/devnginx/default/clash");
  ASSERT_TRUE(del);
  ASSERT_TRUE(pub.WaitMirrored(*del, std::chrono::seconds(20))) << pub.Stats().last_error;
  EXPECT_EQ(value("/devnginx/default/mine"), "(none)");
  EXPECT_EQ(value("/devnginx/default/clash"), record("clash", theirs));
  EXPECT_EQ(value("/devnginx/default/theirs"), record("theirs", theirs));
  pub.Stop();
}

TEST_F(EtcdRouterTest, PublisherResyncsAfterEtcdRestart) {
  auto target = store::OpenStore(etcd_->url());
  ASSERT_TRUE(target);
  EtcdRoutePublisher pub(*store_, std::move(*target));
  pub.Start();
  etcd_->Stop();
  auto rev = store_->Put("/devnginx/default/late", "v");
  ASSERT_TRUE(rev);
  ASSERT_TRUE(etcd_->Restart());
  ASSERT_TRUE(pub.WaitMirrored(*rev, std::chrono::seconds(60))) << pub.Stats().last_error;
  auto got = etcd_store_->Get("/devnginx/default/late");
  ASSERT_TRUE(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->value, "v");
}

}  // namespace
}  // namespace berth::router
