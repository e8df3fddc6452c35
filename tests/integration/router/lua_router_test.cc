// Lua mode against a real nginx: routes change without reloads.
#include <signal.h>

#include "router/nginx_conf.h"
#include "router_fixture.h"
#include "util/fs.h"

namespace berth::router {
namespace {

class LuaRouterTest : public RouterFixture {
 protected:
  void SetUp() override {
    RouterFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    opts_.mode = "lua";
  }
  pid_t MasterPid() {
    auto t = util::ReadFile(NginxPaths(opts_.prefix).pid_file);
    return t ? std::atoi(t->c_str()) : -1;
  }
};

TEST_F(LuaRouterTest, RouteChangesReachNginxWithoutReload) {
  StartSync();
  EXPECT_EQ(Get("x.ctest.localhost").status, 404);

  pid_t master = MasterPid();
  ASSERT_GT(master, 0);
  auto workers = testing::ChildPids(master);
  ASSERT_FALSE(workers.empty());

  int64_t rev = PutRoute("x", upstream_->port());
  ASSERT_TRUE(sync_->WaitApplied(rev, kApplyTimeout)) << sync_->LastError();
  auto a = Get("x.ctest.localhost", "/hello");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "upstream a /hello\n");
  EXPECT_EQ(Get("y.ctest.localhost").status, 404);  // unknown host

  // Change the route to another upstream, then remove it.
  auto other = testing::HttpUpstream::Start("b");
  ASSERT_TRUE(other);
  rev = PutRoute("x", (*other)->port());
  ASSERT_TRUE(sync_->WaitApplied(rev, kApplyTimeout));
  EXPECT_EQ(Get("x.ctest.localhost", "/p").body, "upstream b /p\n");
  auto del = store_->Delete(store::keys::Route("default", "x"));
  ASSERT_TRUE(del);
  ASSERT_TRUE(sync_->WaitApplied(*del, kApplyTimeout));
  auto gone = Get("x.ctest.localhost");
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(gone.body, "404 no route for this host\n");

  // No reload happened: same master, same workers, same generation.
  EXPECT_EQ(MasterPid(), master);
  EXPECT_EQ(testing::ChildPids(master), workers);
  auto st = sync_->Stats();
  EXPECT_EQ(st.reloads, 0);
  EXPECT_EQ(st.generation, 1);
  EXPECT_EQ(st.last_error, "");
}

TEST_F(LuaRouterTest, HostileRecordsAreRejectedAndOthersKeepWorking) {
  StartSync();
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"/devnginx/default/e1",
       R"({"name": "e1", "http_port": 80, "https_port": 0, "domain": "e1.ctest.localhost; return 200", "host_ip": "127.0.0.1"})"},
      {"/devnginx/default/e2",
       R"({"name": "e2", "http_port": "80", "https_port": 0, "domain": "e2.ctest.localhost", "host_ip": "127.0.0.1"})"},
      {"/devnginx/default/e3",
       R"({"name": "e3", "http_port": 80, "https_port": 0, "domain": "e3.ctest.localhost", "host_ip": "127.0.0.1 x"})"},
      {"/devnginx/default/e4",
       R"({"name": "e4", "http_port": 70000, "https_port": 0, "domain": "e4.ctest.localhost", "host_ip": "127.0.0.1"})"},
      {"/devnginx/default/e5", "not json"},
      {"/devnginx/default/e6",
       R"({"name": "e6", "http_port": 80, "https_port": 0, "domain": "e6.ctest.localhost\n$x", "host_ip": "127.0.0.1"})"},
  };
  for (const auto& [k, v] : bad) ASSERT_TRUE(store_->Put(k, v));
  int64_t rev = PutRoute("good", upstream_->port());
  ASSERT_TRUE(sync_->WaitApplied(rev, kApplyTimeout)) << sync_->LastError();
  EXPECT_EQ(Get("good.ctest.localhost").status, 200);
  for (const char* h : {"e1.ctest.localhost", "e2.ctest.localhost", "e4.ctest.localhost"})
    EXPECT_EQ(Get(h).status, 404) << h;
  auto st = sync_->Stats();
  EXPECT_EQ(st.routes, 1u);
  EXPECT_EQ(st.rejected, bad.size());
  EXPECT_EQ(st.rejected_keys.count("/devnginx/default/e1"), 1u);
  EXPECT_EQ(st.last_error, "");
}

TEST_F(LuaRouterTest, ExistingRoutesAreServedAtStartAndAfterNginxDies) {
  int64_t rev = PutRoute("early", upstream_->port());
  StartSync();
  ASSERT_TRUE(sync_->WaitApplied(rev, kApplyTimeout));
  EXPECT_EQ(Get("early.ctest.localhost").status, 200);

  // Kill nginx outright (master and workers): the router starts it again and refills the table.
  pid_t master = MasterPid();
  ASSERT_GT(master, 0);
  ASSERT_EQ(::kill(-master, SIGKILL), 0);
  bool back = false;
  for (int i = 0; i < 200 && !back; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto r = testing::GetWithHost(http_port_, "early.ctest.localhost");
    back = r && r->status == 200 && MasterPid() != master;
  }
  EXPECT_TRUE(back) << sync_->LastError();
  EXPECT_GE(sync_->Stats().nginx_restarts, 1);
}

TEST_F(LuaRouterTest, TemplateChangeReloadsOnceAndKeepsTheTable) {
  const std::string snippet = dir_->path() + "/snippet.conf";
  ASSERT_TRUE(util::WriteFileAtomic(snippet, "    # v1\n"));
  opts_.http_snippet_file = snippet;
  StartSync();
  int64_t rev = PutRoute("keep", upstream_->port());
  ASSERT_TRUE(sync_->WaitApplied(rev, kApplyTimeout));
  ASSERT_TRUE(util::WriteFileAtomic(snippet, "    # v2\n"));
  for (int i = 0; i < 200 && sync_->Stats().reloads == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(sync_->Stats().reloads, 1);
  EXPECT_EQ(sync_->Stats().generation, 2);
  EXPECT_EQ(Get("keep.ctest.localhost").status, 200);
  // A broken template is refused; the running config and table stay.
  ASSERT_TRUE(util::WriteFileAtomic(snippet, "    broken {\n"));
  for (int i = 0; i < 200 && sync_->Stats().last_error.empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_NE(sync_->Stats().last_error.find("nginx -t"), std::string::npos);
  EXPECT_EQ(sync_->Stats().generation, 2);
  EXPECT_EQ(Get("keep.ctest.localhost").status, 200);
}

TEST_F(LuaRouterTest, HttpsTerminatesWithConfiguredCertificate) {
  ASSERT_TRUE(testing::CheckNginx(true));
  auto made = testing::MakeTestCa(dir_->path(), {"tls.ctest.localhost", "other.ctest.localhost"});
  ASSERT_TRUE(made) << made.error().message;
  int https_port = testing::FreeLoopbackPort();
  opts_.https_listen = "127.0.0.1:" + std::to_string(https_port);
  opts_.tls_cert = dir_->path() + "/server.pem";
  opts_.tls_key = dir_->path() + "/server.key";
  StartSync();
  int64_t rev = PutRoute("tls", upstream_->port(), 1);
  ASSERT_TRUE(sync_->WaitApplied(rev, kApplyTimeout)) << sync_->LastError();
  auto r = testing::GetTls(https_port, "tls.ctest.localhost", dir_->path() + "/ca.pem", "/secure");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "upstream a /secure\n");
  auto unknown = testing::GetTls(https_port, "other.ctest.localhost", dir_->path() + "/ca.pem");
  ASSERT_TRUE(unknown) << unknown.error().message;
  EXPECT_EQ(unknown->status, 404);
}

}  // namespace
}  // namespace berth::router
