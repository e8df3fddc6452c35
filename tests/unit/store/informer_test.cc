// Informer and EnvCache over a real SqliteStore (a file in a temp dir): listing, changes in
// revision order, reads that include every earlier commit, relisting after compaction, handlers
// added late, and the environment views the API reads.
#include "store/informer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "store/env_cache.h"
#include "store/sqlite_store.h"
#include "util/fs.h"

namespace berth::store {
namespace {

using namespace std::chrono_literals;

class InformerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SqliteStoreOptions o;
    o.path = dir_.path() + "/berth.db";
    auto s = SqliteStore::Open(o);
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
  }
  util::TempDir dir_{"berth-informer-test"};
  std::unique_ptr<SqliteStore> store_;
};

// A map of key -> value kept from the informer's calls, as a cache would.
struct Mirror {
  std::mutex mu;
  std::map<std::string, std::string> kv;
  int replaced = 0;
  std::vector<int64_t> revisions;  // of each change, in delivery order
  InformerHandlers Handlers() {
    return {[this](const Snapshot& s) {
              std::lock_guard<std::mutex> l(mu);
              kv.clear();
              for (const auto& x : s.kvs) kv[x.key] = x.value;
              ++replaced;
            },
            [this](const WatchEvent& e) {
              std::lock_guard<std::mutex> l(mu);
              if (e.type == WatchEvent::Type::kDelete)
                kv.erase(e.kv.key);
              else
                kv[e.kv.key] = e.kv.value;
              revisions.push_back(e.kv.mod_revision);
            }};
  }
  std::map<std::string, std::string> Copy() {
    std::lock_guard<std::mutex> l(mu);
    return kv;
  }
};

TEST_F(InformerTest, ListsThenFollowsOnlyItsPrefixes) {
  ASSERT_TRUE(store_->Put("/a/1", "one"));
  ASSERT_TRUE(store_->Put("/b/1", "other prefix"));
  Informer in(*store_, {{"/a/"}});
  Mirror m;
  auto reg = in.AddHandlers(m.Handlers());
  in.Start();
  ASSERT_TRUE(in.WaitForSync(5s));
  EXPECT_EQ(m.Copy(), (std::map<std::string, std::string>{{"/a/1", "one"}}));

  ASSERT_TRUE(store_->Put("/a/2", "two"));
  ASSERT_TRUE(store_->Put("/b/2", "ignored"));
  ASSERT_TRUE(store_->Delete("/a/1"));
  auto last = store_->Put("/a/2", "two again");
  ASSERT_TRUE(last);
  // Every commit so far has been handed over once WaitFresh returns.
  ASSERT_TRUE(in.WaitFresh(5s));
  EXPECT_GE(in.revision(), *last);
  EXPECT_EQ(m.Copy(), (std::map<std::string, std::string>{{"/a/2", "two again"}}));
  std::lock_guard<std::mutex> l(m.mu);
  EXPECT_TRUE(std::is_sorted(m.revisions.begin(), m.revisions.end()));
  EXPECT_EQ(m.revisions.size(), 3u);  // /a/2, delete /a/1, /a/2 again: not /b/2
}

TEST_F(InformerTest, WaitFreshCoversCommitsOutsideThePrefixes) {
  Informer in(*store_, {{"/a/"}});
  Mirror m;
  auto reg = in.AddHandlers(m.Handlers());
  in.Start();
  ASSERT_TRUE(in.WaitForSync(5s));
  // Only other prefixes change: the seen revision must still reach the store's.
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(store_->Put("/b/" + std::to_string(i), "x"));
  ASSERT_TRUE(in.WaitFresh(5s));
  EXPECT_EQ(in.revision(), *store_->Revision());
  // A shared etcd's foreign keys need not start with '/': they advance the store's revision
  // all the same, and a read must not wait for them in vain.
  ASSERT_TRUE(store_->Put("registry/foreign", "x"));
  ASSERT_TRUE(store_->Put(std::string("\x01low"), "x"));
  ASSERT_TRUE(in.WaitFresh(5s));
  EXPECT_EQ(in.revision(), *store_->Revision());
  EXPECT_TRUE(m.Copy().empty());
}

// The store, counting what is listed: a relist reads what lies under the prefixes, not every
// key of a shared etcd.
class ListRecordingStore : public Store {
 public:
  explicit ListRecordingStore(Store& s) : s_(s) {}
  Result<std::optional<KeyValue>> Get(std::string_view key) override { return s_.Get(key); }
  Result<Snapshot> List(std::string_view prefix) override {
    std::lock_guard<std::mutex> l(mu_);
    listed_.emplace_back(prefix);
    return s_.List(prefix);
  }
  Result<int64_t> Commit(const Txn& txn) override { return s_.Commit(txn); }
  Result<int64_t> Revision() override { return s_.Revision(); }
  Result<std::unique_ptr<Watch>> WatchPrefix(std::string_view prefix, int64_t from) override {
    return s_.WatchPrefix(prefix, from);
  }
  std::vector<std::string> listed() {
    std::lock_guard<std::mutex> l(mu_);
    return listed_;
  }

 private:
  Store& s_;
  std::mutex mu_;
  std::vector<std::string> listed_;
};

TEST_F(InformerTest, ListsOnlyUnderTheLongestCommonPrefixOfItsPrefixes) {
  ListRecordingStore rec(*store_);
  ASSERT_TRUE(rec.Put("/berth/envs/default/a", "spec"));
  ASSERT_TRUE(rec.Put("/registry/pods/x", "a foreign key"));
  Informer in(rec, {{"/berth/envs/", "/berth/status/"}});
  Mirror m;
  auto reg = in.AddHandlers(m.Handlers());
  in.Start();
  ASSERT_TRUE(in.WaitForSync(5s));
  EXPECT_EQ(rec.listed(), std::vector<std::string>{"/berth/"});
  EXPECT_EQ(m.Copy(), (std::map<std::string, std::string>{{"/berth/envs/default/a", "spec"}}));
  // Its watch still covers the rest, so WaitFresh holds across foreign commits.
  ASSERT_TRUE(rec.Put("/registry/pods/y", "another"));
  ASSERT_TRUE(in.WaitFresh(5s));
}

TEST_F(InformerTest, RelistsWhenItsWatchIsCompactedAway) {
  Informer in(*store_, {{"/a/"}});
  Mirror m;
  // A handler that holds the informer up while the history it would read is compacted.
  std::mutex gate_mu;
  std::condition_variable gate_cv;
  bool hold = false, open = false, held = false;
  auto reg = in.AddHandlers(m.Handlers());
  auto blocker = in.AddHandlers({nullptr, [&](const WatchEvent& e) {
                                   if (e.kv.key != "/a/block") return;
                                   std::unique_lock<std::mutex> l(gate_mu);
                                   if (!hold) return;
                                   held = true;
                                   gate_cv.notify_all();
                                   gate_cv.wait(l, [&] { return open; });
                                 }});
  in.Start();
  ASSERT_TRUE(in.WaitForSync(5s));
  {
    std::lock_guard<std::mutex> l(gate_mu);
    hold = true;
  }
  ASSERT_TRUE(store_->Put("/a/block", "x"));
  {
    std::unique_lock<std::mutex> l(gate_mu);
    ASSERT_TRUE(gate_cv.wait_for(l, 5s, [&] { return held; }));
  }
  const int64_t lists_before = in.lists();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(store_->Put("/a/k" + std::to_string(i), "v"));
  ASSERT_TRUE(store_->Delete("/a/k0"));
  ASSERT_TRUE(store_->Compact(*store_->Revision()));
  {
    std::lock_guard<std::mutex> l(gate_mu);
    open = true;
  }
  gate_cv.notify_all();
  ASSERT_TRUE(in.WaitFresh(10s));
  EXPECT_GT(in.lists(), lists_before);  // the watch got kGone and the informer listed again
  auto kv = m.Copy();
  EXPECT_EQ(kv.size(), 10u);  // /a/block and /a/k1../a/k9
  EXPECT_EQ(kv.count("/a/k0"), 0u);
  EXPECT_EQ(kv.count("/a/k9"), 1u);
}

TEST_F(InformerTest, AHandlerAddedLaterGetsItsOwnListingAndThenOnlyNewerChanges) {
  Informer in(*store_, {{"/a/"}});
  Mirror first;
  auto r1 = in.AddHandlers(first.Handlers());
  in.Start();
  ASSERT_TRUE(in.WaitForSync(5s));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store_->Put("/a/" + std::to_string(i), "v1"));
  ASSERT_TRUE(in.WaitFresh(5s));

  Mirror late;
  auto r2 = in.AddHandlers(late.Handlers());
  ASSERT_TRUE(store_->Put("/a/new", "v"));
  ASSERT_TRUE(in.WaitFresh(5s));
  for (int i = 0; i < 100 && late.Copy().size() < 6; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(late.Copy(), first.Copy());
  {
    std::lock_guard<std::mutex> l(late.mu);
    EXPECT_EQ(late.replaced, 1);
    // Whatever it was given as a change is newer than its listing: no replays.
    EXPECT_LE(late.revisions.size(), 1u);
  }
  // Removed: no more calls.
  r2.reset();
  ASSERT_TRUE(store_->Put("/a/after", "v"));
  ASSERT_TRUE(in.WaitFresh(5s));
  EXPECT_EQ(late.Copy().count("/a/after"), 0u);
  EXPECT_EQ(first.Copy().count("/a/after"), 1u);
}

EnvironmentSpec Spec(const std::string& name, const std::string& image) {
  EnvironmentSpec s;
  s.name = name;
  s.image = image;
  s.ports = DefaultPorts();
  return s;
}

// The status record the controller writes once a workload started.
EnvStatus Started() {
  EnvStatus st;
  st.phase = Phase::kRunning;
  st.reason = "Started";
  return st;
}

TEST_F(InformerTest, EnvCacheHoldsEachEnvironmentsViewAndJson) {
  Informer in(*store_, {{std::string(keys::kSpecs), std::string(keys::kStatus)}});
  EnvCache cache;
  auto reg = in.AddHandlers(cache.Handlers());
  ASSERT_TRUE(store_->Put(keys::Spec("default", "b"), SerializeSpec(Spec("b", "img:1"))));
  in.Start();
  ASSERT_TRUE(in.WaitForSync(5s));
  ASSERT_NE(cache.Get("default", "b"), nullptr);
  // No status record yet: the view shows what the controller starts from.
  EXPECT_EQ(cache.Get("default", "b")->Status().reason, "Accepted");
  EXPECT_EQ(cache.Get("default", "b")->status_json->str(),
            SerializeStatus(AcceptedStatus(Spec("b", "img:1"))));

  auto rev = store_->Put(keys::Spec("default", "a"), SerializeSpec(Spec("a", "img:2")));
  ASSERT_TRUE(rev);
  ASSERT_TRUE(store_->Put(keys::Spec("other", "a"), SerializeSpec(Spec("a", "img:3"))));
  EnvStatus st = Started();
  ASSERT_TRUE(store_->Put(keys::Status("default", "a"), SerializeStatus(st)));
  ASSERT_TRUE(in.WaitFresh(5s));

  auto list = cache.List("default");
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]->Spec().name, "a");  // sorted by name
  EXPECT_EQ(list[1]->Spec().name, "b");
  EXPECT_EQ(cache.List("").size(), 3u);
  auto a = cache.Get("default", "a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->Status().phase, Phase::kRunning);
  EXPECT_EQ(a->Spec().image, "img:2");
  EXPECT_EQ(a->revision, *rev);
  // The JSON is the view's: what the API answers for it, byte for byte.
  std::string text;
  a->AppendJson(text);
  auto j = nlohmann::json::parse(text);
  EXPECT_EQ(j["spec"]["image"], "img:2");
  EXPECT_EQ(j["status"]["phase"], "Running");
  EXPECT_EQ(j["revision"], *rev);
  EXPECT_EQ(text, EnvJson(a->Spec(), a->Status(), a->revision));
  // Its `berth list` row: the cells that do not age, then AGE and EXPIRES at a given time.
  EXPECT_EQ(a->row, R"("default","a","Running","-","-","-","-","-","img:2")");

  // A status change keeps the spec's text (shared, not copied) and remakes the row.
  st.routed = true;
  st.host_ip = "127.0.0.1";
  st.ports = {{"http", 30080}};
  ASSERT_TRUE(store_->Put(keys::Status("default", "a"), SerializeStatus(st)));
  ASSERT_TRUE(in.WaitFresh(5s));
  auto a2 = cache.Get("default", "a");
  ASSERT_TRUE(a2);
  EXPECT_EQ(a2->spec_json, a->spec_json);
  EXPECT_EQ(a2->row, R"("default","a","Running+routed","127.0.0.1","-","30080","-","-","img:2")");
  a = a2;

  // A waiter wakes on the change; deleting the spec removes the environment.
  std::thread t([&] {
    std::this_thread::sleep_for(100ms);
    (void)store_->Delete(keys::Spec("default", "a"));
  });
  auto after = cache.WaitChange("default", "a", a, 5s);
  t.join();
  EXPECT_EQ(after, nullptr);
  ASSERT_TRUE(in.WaitFresh(5s));
  EXPECT_EQ(cache.List("default").size(), 1u);
}

}  // namespace
// The texts are packed with dictionaries trained on the first list: every environment of a
// large listing, and one changed after it, still reads back exactly as its records say.
TEST_F(InformerTest, EnvCachePackedTextsReadBackExactly) {
  std::map<std::string, std::pair<EnvironmentSpec, EnvStatus>> want;
  for (int i = 0; i < 300; ++i) {
    EnvironmentSpec spec = Spec("env" + std::to_string(i), "localhost/app:" + std::to_string(i));
    spec.uid = NewUid();
    spec.labels = {{"branch", "feature-" + std::to_string(i * 7)}};
    EnvStatus st;
    st.phase = i % 3 ? Phase::kRunning : Phase::kPending;
    st.reason = i % 3 ? "Started" : "Accepted";
    st.ports = {{"http", 30000 + i}, {"ssh", 31000 + i}};
    st.AddEvent("Normal", "Created", "workload " + std::to_string(i) + " created");
    ASSERT_TRUE(store_->Put(keys::Spec("default", spec.name), SerializeSpec(spec)));
    ASSERT_TRUE(store_->Put(keys::Status("default", spec.name), SerializeStatus(st)));
    want[spec.name] = {spec, st};
  }
  Informer in(*store_, {{std::string(keys::kSpecs), std::string(keys::kStatus)}});
  EnvCache cache;
  auto reg = in.AddHandlers(cache.Handlers());
  in.Start();
  ASSERT_TRUE(in.WaitForSync(5s));
  // One more after the list: packed with the list's dictionaries.
  EnvironmentSpec late = Spec("late", "localhost/late:1");
  late.uid = NewUid();
  ASSERT_TRUE(store_->Put(keys::Spec("default", "late"), SerializeSpec(late)));
  ASSERT_TRUE(in.WaitFresh(5s));

  auto list = cache.List("default");
  ASSERT_EQ(list.size(), want.size() + 1);
  for (const auto& v : list) {
    if (v->name == "late") {
      EXPECT_EQ(v->Spec().image, "localhost/late:1");
      EXPECT_EQ(v->Spec().uid, late.uid);
      EXPECT_EQ(v->Status().reason, "Accepted");
      continue;
    }
    const auto& [spec, st] = want.at(v->name);
    EXPECT_EQ(v->Spec().uid, spec.uid) << v->name;
    EXPECT_EQ(v->Spec().labels, spec.labels) << v->name;
    EXPECT_EQ(v->Status().ports, st.ports) << v->name;
    ASSERT_FALSE(v->Status().events.empty()) << v->name;
    EXPECT_EQ(v->Status().events.back().message, st.events.back().message) << v->name;
    std::string text;
    v->AppendJson(text);
    EXPECT_EQ(text, EnvJson(v->Spec(), v->Status(), v->revision)) << v->name;
  }
}

// A new installation's cache starts empty: it packs nothing until it holds enough records to
// train on, then packs every text (the views' too) and still reads back exactly.
TEST_F(InformerTest, EnvCacheThatStartedEmptyPacksOnceItHasGrown) {
  Informer in(*store_, {{std::string(keys::kSpecs), std::string(keys::kStatus)}});
  EnvCache cache;
  auto reg = in.AddHandlers(cache.Handlers());
  in.Start();
  ASSERT_TRUE(in.WaitForSync(5s));
  const int n = static_cast<int>(util::TextDictionary::kTrainAt) + 20;
  std::map<std::string, EnvironmentSpec> want;
  for (int i = 0; i < n; ++i) {
    EnvironmentSpec spec = Spec("grow" + std::to_string(i), "localhost/app:" + std::to_string(i));
    spec.uid = NewUid();
    ASSERT_TRUE(store_->Put(keys::Spec("default", spec.name), SerializeSpec(spec)));
    want[spec.name] = spec;
    if (i == 10) {
      ASSERT_TRUE(in.WaitFresh(5s));
      auto early = cache.Get("default", "grow10");
      ASSERT_TRUE(early);
      EXPECT_FALSE(early->spec_json->packed()) << "too few to train on yet";
    }
  }
  ASSERT_TRUE(store_->Put(keys::Status("default", "grow3"), SerializeStatus(Started())));
  ASSERT_TRUE(in.WaitFresh(5s));
  auto list = cache.List("default");
  ASSERT_EQ(list.size(), want.size());
  for (const auto& v : list) {
    EXPECT_TRUE(v->spec_json->packed()) << v->name;
    EXPECT_TRUE(v->status_json->packed()) << v->name;
    EXPECT_EQ(v->Spec().uid, want.at(v->name).uid) << v->name;
    EXPECT_EQ(v->Spec().image, want.at(v->name).image) << v->name;
    EXPECT_EQ(v->Status().reason, v->name == "grow3" ? "Started" : "Accepted") << v->name;
    std::string text;
    v->AppendJson(text);
    EXPECT_EQ(text, EnvJson(v->Spec(), v->Status(), v->revision)) << v->name;
  }
}

}  // namespace berth::store
