// Classic mode against a real nginx: server blocks, safe apply, reloads.
#include <atomic>
#include <cstdio>

#include "router/nginx_conf.h"
#include "router_fixture.h"
#include "util/fs.h"

namespace berth::router {
namespace {

class ClassicRouterTest : public RouterFixture {
 protected:
  void SetUp() override {
    RouterFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    opts_.mode = "classic";
    opts_.min_wait = std::chrono::milliseconds(20);
    opts_.max_wait = std::chrono::milliseconds(200);
    snippet_ = dir_->path() + "/snippet.conf";
    ASSERT_TRUE(util::WriteFileAtomic(snippet_, "    # operator settings\n"));
    opts_.http_snippet_file = snippet_;
  }
  std::string snippet_;
};

TEST_F(ClassicRouterTest, RoutesAreRenderedAndReloaded) {
  StartSync();
  EXPECT_EQ(Get("c.ctest.localhost").status, 404);
  int64_t rev = PutRoute("c", upstream_->port());
  ASSERT_TRUE(sync_->WaitApplied(rev, kApplyTimeout)) << sync_->LastError();
  EXPECT_EQ(Get("c.ctest.localhost", "/q").body, "upstream a /q\n");
  auto live = util::ReadFile(NginxPaths(opts_.prefix).conf_file);
  ASSERT_TRUE(live);
  EXPECT_NE(live->find("server_name c.ctest.localhost;"), std::string::npos);
  EXPECT_GE(sync_->Stats().reloads, 1);

  auto del = store_->Delete(store::keys::Route("default", "c"));
  ASSERT_TRUE(del);
  ASSERT_TRUE(sync_->WaitApplied(*del, kApplyTimeout));
  EXPECT_EQ(Get("c.ctest.localhost").status, 404);
}

TEST_F(ClassicRouterTest, BurstIsCoalescedIntoFewReloads) {
  StartSync();
  int64_t rev = 0;
  for (int i = 0; i < 50; ++i) rev = PutRoute("b" + std::to_string(i), upstream_->port());
  ASSERT_TRUE(sync_->WaitApplied(rev, kApplyTimeout)) << sync_->LastError();
  for (int i = 0; i < 50; i += 7)
    EXPECT_EQ(Get("b" + std::to_string(i) + ".ctest.localhost").status, 200);
  // 50 puts: without coalescing there would be 50 reloads.
  EXPECT_LT(sync_->Stats().reloads, 50);
}

TEST_F(ClassicRouterTest, FailedCheckKeepsTheLastGoodConfigServing) {
  StartSync();
  int64_t rev = PutRoute("a", upstream_->port());
  ASSERT_TRUE(sync_->WaitApplied(rev, kApplyTimeout)) << sync_->LastError();
  auto good = util::ReadFile(NginxPaths(opts_.prefix).conf_file);
  ASSERT_TRUE(good);

  // Load through the failed apply: every request must succeed.
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::thread load([&] {
    for (int i = 0; i < 100000 && !stop; ++i) {
      auto r = testing::GetWithHost(http_port_, "a.ctest.localhost");
      (r && r->status == 200 ? ok : failed)++;
      if (!(r && r->status == 200))
        std::fprintf(stderr, "load: failed request %ld %s\n", r ? r->status : -1L,
                     r ? "" : r.error().message.c_str());
    }
  });

  // The operator breaks the template; the next change must not reach nginx.
  ASSERT_TRUE(util::WriteFileAtomic(snippet_, "    this_is_not_a_directive on;\n"));
  int64_t failed_before = sync_->Stats().failed_applies;
  int64_t bad_rev = PutRoute("b", upstream_->port());
  for (int i = 0; i < 400 && sync_->Stats().failed_applies == failed_before; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto st = sync_->Stats();
  EXPECT_GT(st.failed_applies, failed_before);
  EXPECT_NE(st.last_error.find("nginx -t"), std::string::npos) << st.last_error;
  EXPECT_LT(sync_->AppliedRevision(), bad_rev);
  EXPECT_EQ(*util::ReadFile(NginxPaths(opts_.prefix).conf_file), *good);  // disk kept too
  EXPECT_EQ(Get("a.ctest.localhost").status, 200);
  EXPECT_EQ(Get("b.ctest.localhost").status, 404);

  // Fixed: the next change applies everything pending.
  ASSERT_TRUE(util::WriteFileAtomic(snippet_, "    # fixed\n"));
  rev = PutRoute("c", upstream_->port());
  ASSERT_TRUE(sync_->WaitApplied(rev, kApplyTimeout)) << sync_->LastError();
  EXPECT_EQ(Get("b.ctest.localhost").status, 200);
  EXPECT_EQ(Get("c.ctest.localhost").status, 200);
  EXPECT_EQ(sync_->LastError(), "");

  stop = true;
  load.join();
  EXPECT_GT(ok.load(), 0);
  EXPECT_EQ(failed.load(), 0);
}

TEST_F(ClassicRouterTest, ReloadThatNginxRefusesIsRolledBack) {
  // nginx -t passes but the reload fails: a listener's port is taken by someone else.
  StartSync();
  int64_t rev = PutRoute("r", upstream_->port());
  ASSERT_TRUE(sync_->WaitApplied(rev, kApplyTimeout));
  // Take a port, then make the router's config listen on it by changing the snippet.
  auto blocker = testing::HttpUpstream::Start("blocker");
  ASSERT_TRUE(blocker);
  ASSERT_TRUE(util::WriteFileAtomic(
      snippet_, "    server {\n        listen 127.0.0.1:" + std::to_string((*blocker)->port()) +
                    ";\n        return 204;\n    }\n"));
  int64_t before = sync_->Stats().failed_applies;
  int64_t bad_rev = PutRoute("r2", upstream_->port());
  for (int i = 0; i < 400 && sync_->Stats().failed_applies == before; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto st = sync_->Stats();
  EXPECT_GT(st.failed_applies, before);
  EXPECT_NE(st.last_error.find("reload"), std::string::npos) << st.last_error;
  EXPECT_LT(sync_->AppliedRevision(), bad_rev);
  EXPECT_EQ(Get("r.ctest.localhost").status, 200);
  auto live = util::ReadFile(NginxPaths(opts_.prefix).conf_file);
  ASSERT_TRUE(live);
  EXPECT_EQ(live->find("r2.ctest.localhost"), std::string::npos);
}

}  // namespace
}  // namespace berth::router
