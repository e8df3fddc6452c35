// The Store contract against EtcdStore on a real etcd (Debian's /usr/bin/etcd), plus what
// only etcd has: several endpoints, and a server restart under a live watch.
#include <gtest/gtest.h>

#include "store/etcd_store.h"
#include "store/informer.h"
#include "support/etcd.h"
#include "unit/store/store_contract.h"

namespace berth::store {
namespace {

using namespace std::chrono_literals;
using contract::Describe;
using testing::EtcdServer;

// One server for the whole contract suite; tests keep to their own key roots.
class EtcdBackend {
 public:
  static void SetUpTestSuite() {
    if (EtcdServer::SkipRequested()) return;
    auto s = EtcdServer::Start();
    if (!s) {
      start_error() = s.error().message;
      return;
    }
    server() = std::move(*s);
  }
  static void TearDownTestSuite() { server().reset(); }

  Result<std::unique_ptr<Store>> Open() {
    if (EtcdServer::SkipRequested()) {
      return Fail(ErrorCode::kUnavailable, "BERTH_TEST_SKIP_ETCD=1");
    }
    if (!server()) return Fail(ErrorCode::kUnavailable, "etcd did not start: " + start_error());
    return OpenStore(server()->url());
  }
  Status Compact(Store& s, int64_t revision) {
    return dynamic_cast<EtcdStore&>(s).Compact(revision);
  }

  static std::unique_ptr<EtcdServer>& server() {
    static std::unique_ptr<EtcdServer> s;
    return s;
  }
  static std::string& start_error() {
    static std::string e;
    return e;
  }
};

class EtcdOnly : public ::testing::Test {
 protected:
  void SetUp() override {
    if (EtcdServer::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_ETCD=1";
    auto s = EtcdServer::Start();
    ASSERT_TRUE(s.has_value()) << s.error().message;
    etcd_ = std::move(*s);
  }
  std::unique_ptr<EtcdServer> etcd_;
};

TEST_F(EtcdOnly, FailsOverToALiveEndpoint) {
  // The first endpoint refuses connections; the store must use the second.
  int dead = etcd_->client_port() == 1 ? 2 : 1;
  std::string url = "etcd://127.0.0.1:" + std::to_string(dead) +
                    ",127.0.0.1:" + std::to_string(etcd_->client_port());
  auto s = OpenStore(url);
  ASSERT_TRUE(s.has_value()) << Describe(s.error());
  auto r = (*s)->Put("/failover/k", "v");
  ASSERT_TRUE(r.has_value()) << Describe(r.error());
  auto got = (*s)->Get("/failover/k");
  ASSERT_TRUE(got.has_value() && got->has_value());
  EXPECT_EQ((*got)->value, "v");
}

TEST_F(EtcdOnly, OpenFailsWhenNoEndpointAnswers) {
  std::string url = "etcd://127.0.0.1:" + std::to_string(etcd_->client_port());
  etcd_->Stop();
  auto s = OpenStore(url);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable) << s.error().message;
}

TEST_F(EtcdOnly, WatchResumesAfterServerRestart) {
  auto s = OpenStore(etcd_->url());
  ASSERT_TRUE(s.has_value()) << Describe(s.error());
  auto& store = **s;
  auto from = store.Put("/restart/a", "1");
  ASSERT_TRUE(from.has_value());
  auto w = store.WatchPrefix("/restart/", *from);
  ASSERT_TRUE(w.has_value());
  // The stream is up once an event made it through.
  ASSERT_TRUE(store.Put("/restart/b", "2").has_value());
  auto first = (*w)->Next(30s);
  ASSERT_TRUE(first.has_value()) << Describe(first.error());
  ASSERT_EQ(first->size(), 1u);

  etcd_->Stop();
  auto st = etcd_->Restart();
  ASSERT_TRUE(st.has_value()) << st.error().message;
  auto r = store.Put("/restart/c", "3");
  ASSERT_TRUE(r.has_value()) << Describe(r.error());

  // The watch reconnects by itself and delivers exactly the missed event.
  std::vector<WatchEvent> got;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (got.empty() && std::chrono::steady_clock::now() < deadline) {
    auto ev = (*w)->Next(1s);
    ASSERT_TRUE(ev.has_value()) << Describe(ev.error());
    got = *ev;
  }
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kv.key, "/restart/c");
  EXPECT_EQ(got[0].kv.mod_revision, *r);
}

TEST_F(EtcdOnly, ListPagesAtOneRevision) {
  EtcdStoreOptions opts;
  opts.endpoints = {etcd_->endpoint()};
  opts.list_page_size = 3;  // force several pages
  auto s = EtcdStore::Open(opts);
  ASSERT_TRUE(s.has_value()) << Describe(s.error());
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE((*s)->Put("/page/" + std::to_string(i), std::to_string(i)).has_value());
  }
  ASSERT_TRUE((*s)->Put("/pagez", "outside").has_value());
  auto list = (*s)->List("/page/");
  ASSERT_TRUE(list.has_value()) << Describe(list.error());
  ASSERT_EQ(list->kvs.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(list->kvs[i].key, "/page/" + std::to_string(i));
  auto rev = (*s)->Revision();
  ASSERT_TRUE(rev.has_value());
  EXPECT_EQ(list->revision, *rev);
}

// A shared etcd (berth.toml's store = "etcd://..." beside other users): the serve's informer
// lists Berth's keys only and still sees the revision move with everyone else's commits, those
// without a leading '/' too, so cached reads do not wait in vain for a revision it never sees.
TEST_F(EtcdOnly, AnInformerStaysFreshAcrossAnotherUsersKeys) {
  auto s = OpenStore(etcd_->url());
  ASSERT_TRUE(s.has_value()) << Describe(s.error());
  ASSERT_TRUE((*s)->Put("/berth/envs/default/a", "spec").has_value());
  ASSERT_TRUE((*s)->Put("registry/pods/x", "foreign").has_value());
  Informer in(**s, {{std::string(keys::kSpecs), std::string(keys::kStatus)}});
  std::mutex mu;
  std::vector<std::string> seen;
  auto reg = in.AddHandlers({[&](const Snapshot& snap) {
                               std::lock_guard<std::mutex> l(mu);
                               for (const auto& kv : snap.kvs) seen.push_back(kv.key);
                             },
                             [&](const WatchEvent& ev) {
                               std::lock_guard<std::mutex> l(mu);
                               seen.push_back(ev.kv.key);
                             }});
  in.Start();
  ASSERT_TRUE(in.WaitForSync(10s));
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE((*s)->Put("registry/pods/y" + std::to_string(i), "foreign").has_value());
    ASSERT_TRUE((*s)->Put("\x01" + std::to_string(i), "foreign, below '/'").has_value());
  }
  ASSERT_TRUE((*s)->Put("/berth/status/default/a", "status").has_value());
  ASSERT_TRUE((*s)->Put("registry/pods/z", "foreign, last").has_value());
  ASSERT_TRUE(in.WaitFresh(5s));
  EXPECT_EQ(in.revision(), *(*s)->Revision());
  std::lock_guard<std::mutex> l(mu);
  EXPECT_EQ(seen, (std::vector<std::string>{"/berth/envs/default/a", "/berth/status/default/a"}));
}

}  // namespace
}  // namespace berth::store

namespace berth::store::contract {
INSTANTIATE_TYPED_TEST_SUITE_P(Etcd, StoreContract, EtcdBackend);
}  // namespace berth::store::contract
