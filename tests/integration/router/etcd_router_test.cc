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
