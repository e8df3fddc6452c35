// EtcdStore across several members, against real etcd: a txn whose answer is lost is not
// reported as a conflict, every call without quorum is kUnavailable (never a 500 or a hang),
// and a watch resumes on another member after kill -9, missing nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <thread>

#include "berth/store.h"
#include "support/etcd.h"
#include "support/tcp_proxy.h"

namespace berth::store {
namespace {

using namespace std::chrono_literals;
using testing::EtcdCluster;
using testing::EtcdServer;

// A create-like txn: the key must be absent; two puts.
Txn CreateTxn(const std::string& key, const std::string& value) {
  return Txn{{Compare{key, 0}}, {Op::Put(key, value), Op::Put(key + "/status", value)}};
}

// What a watch delivered. An unguarded put retried on another member after a time-out may be
// applied twice (etcd cannot say whether the first attempt will still land), so consecutive
// repeats of one key=value at later revisions count once; one revision twice, or revisions going
// back, would be the watch's fault.
struct WatchLog {
  std::vector<std::string> events;
  std::vector<int64_t> revisions;
  Status Collect(Watch& w, size_t distinct) {
    for (int i = 0; i < 80 && Distinct().size() < distinct; ++i) {
      auto ev = w.Next(500ms);
      if (!ev) return Fail(ev.error());
      for (const auto& e : *ev) {
        events.push_back(e.kv.key + "=" + e.kv.value);
        revisions.push_back(e.kv.mod_revision);
      }
    }
    return {};
  }
  std::vector<std::string> Distinct() const {
    std::vector<std::string> out;
    for (const auto& e : events)
      if (out.empty() || out.back() != e) out.push_back(e);
    return out;
  }
  bool Increasing() const {
    return std::adjacent_find(revisions.begin(), revisions.end(), std::greater_equal<>()) ==
           revisions.end();
  }
};

TEST(EtcdFailover, LostTxnAnswerIsNotAConflict) {
  if (EtcdServer::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_ETCD=1";
  auto etcd = EtcdServer::Start();
  ASSERT_TRUE(etcd) << etcd.error().message;
  // Two endpoints to the same etcd: through a proxy that will lose answers, and direct.
  auto proxy = testing::TcpProxy::Start((*etcd)->client_port());
  ASSERT_TRUE(proxy) << proxy.error().message;
  auto st = OpenStore("etcd://127.0.0.1:" + std::to_string((*proxy)->port()) + "," +
                      "127.0.0.1:" + std::to_string((*etcd)->client_port()));
  ASSERT_TRUE(st) << st.error().message;

  (*proxy)->LoseAnswers(true);
  // etcd applies the txn, its answer is lost, the client retries on the other endpoint and
  // finds the key taken — by its own first attempt.
  auto rev = (*st)->Commit(CreateTxn("/t/a", "one"));
  ASSERT_TRUE(rev) << rev.error().message;
  EXPECT_GE((*proxy)->lost(), 1);  // libcurl may resend once on a fresh connection
  auto got = (*st)->Get("/t/a");
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->mod_revision, *rev);

  // A real conflict stays one, lost answer or not: the retry finds someone else's value.
  ASSERT_TRUE((*st)->Put("/t/b", "theirs"));
  (*proxy)->LoseAnswers(false);
  auto direct = OpenStore("etcd://127.0.0.1:" + std::to_string((*proxy)->port()) + "," +
                          "127.0.0.1:" + std::to_string((*etcd)->client_port()));
  ASSERT_TRUE(direct) << direct.error().message;  // prefers the proxy again
  (*proxy)->LoseAnswers(true);
  auto conflict = (*direct)->Commit(CreateTxn("/t/b", "mine"));
  ASSERT_FALSE(conflict);
  EXPECT_EQ(conflict.error().code, ErrorCode::kConflict) << conflict.error().message;
}

TEST(EtcdFailover, WithoutQuorumEveryCallIsUnavailable) {
  if (EtcdServer::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_ETCD=1";
  auto cluster = EtcdCluster::Start();
  ASSERT_TRUE(cluster) << cluster.error().message;
  auto st = OpenStore((*cluster)->url());
  ASSERT_TRUE(st) << st.error().message;
  ASSERT_TRUE((*st)->Put("/q/a", "1"));
  // Member 0, every call's first endpoint, stays up without a quorum: it holds requests.
  (*cluster)->Kill9(1);
  (*cluster)->Kill9(2);
  auto get = (*st)->Get("/q/a");
  ASSERT_FALSE(get);
  EXPECT_EQ(get.error().code, ErrorCode::kUnavailable) << get.error().message;
  auto list = (*st)->List("/q/");
  ASSERT_FALSE(list);
  EXPECT_EQ(list.error().code, ErrorCode::kUnavailable) << list.error().message;
  auto put = (*st)->Commit(Txn{{Compare{"/q/a", 0}}, {Op::Put("/q/b", "2")}});
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code, ErrorCode::kUnavailable) << put.error().message;

  ASSERT_TRUE((*cluster)->Restart(1));
  ASSERT_TRUE((*cluster)->Restart(2));
  ASSERT_TRUE((*cluster)->WaitHealthy()) << (*cluster)->LogTails();
  auto after = (*st)->Put("/q/c", "3");
  EXPECT_TRUE(after) << after.error().message;
}

TEST(EtcdFailover, WatchResumesOnAnotherMemberAfterKill9) {
  if (EtcdServer::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_ETCD=1";
  auto cluster = EtcdCluster::Start();
  ASSERT_TRUE(cluster) << cluster.error().message;
  auto st = OpenStore((*cluster)->url());
  ASSERT_TRUE(st) << st.error().message;
  auto from = (*st)->Revision();
  ASSERT_TRUE(from);
  auto w = (*st)->WatchPrefix("/w/", *from);
  ASSERT_TRUE(w);
  WatchLog log;
  ASSERT_TRUE((*st)->Put("/w/1", "a"));
  ASSERT_TRUE(log.Collect(**w, 1));
  (*cluster)->Kill9(0);  // the watch's member
  ASSERT_TRUE((*st)->Put("/w/2", "b"));
  ASSERT_TRUE((*st)->Put("/w/3", "c"));
  ASSERT_TRUE(log.Collect(**w, 3));
  EXPECT_EQ(log.Distinct(), (std::vector<std::string>{"/w/1=a", "/w/2=b", "/w/3=c"}));
  EXPECT_TRUE(log.Increasing()) << ::testing::PrintToString(log.revisions);
}

// A member that hangs keeps the watch's connection open and sends nothing; the watch must
// notice (its probe gets no answer) and resume on another member.
TEST(EtcdFailover, WatchMovesOffAFrozenMember) {
  if (EtcdServer::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_ETCD=1";
  auto cluster = EtcdCluster::Start();
  ASSERT_TRUE(cluster) << cluster.error().message;
  auto st = OpenStore((*cluster)->url());
  ASSERT_TRUE(st) << st.error().message;
  auto from = (*st)->Revision();
  ASSERT_TRUE(from);
  auto w = (*st)->WatchPrefix("/f/", *from);  // on member 0, every client's first endpoint
  ASSERT_TRUE(w);
  WatchLog log;
  ASSERT_TRUE((*st)->Put("/f/1", "a"));
  ASSERT_TRUE(log.Collect(**w, 1));
  (*cluster)->member(0).Pause();
  auto put = (*st)->Put("/f/2", "b");  // fails over to the others
  ASSERT_TRUE(put) << put.error().message;
  auto got = log.Collect(**w, 2);
  (*cluster)->member(0).Resume();
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(log.Distinct(), (std::vector<std::string>{"/f/1=a", "/f/2=b"}))
      << (*cluster)->LogTails();
  EXPECT_TRUE(log.Increasing()) << ::testing::PrintToString(log.revisions);
}

}  // namespace
}  // namespace berth::store
