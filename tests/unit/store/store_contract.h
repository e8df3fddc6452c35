// The Store contract, written once and run against every backend: SQLite in
// tests/unit/store/sqlite_contract_test.cc, real etcd in
// tests/integration/store/etcd_store_test.cc.
//
// A backend is a class with:
//   static void SetUpTestSuite() / TearDownTestSuite()  (shared servers)
//   Result<std::unique_ptr<Store>> Open();              (a store for one test)
//   Status Compact(Store&, int64_t revision);
// Tests work under a per-test key root and compare revisions relatively, so backends may share
// one server between tests.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "berth/environment.h"
#include "berth/store.h"
#include "store/claims.h"
#include "store/spec_records.h"

namespace berth::store::contract {

using namespace std::chrono_literals;

inline std::string Describe(const Error& e) {
  return std::string(ErrorCodeName(e.code)) + ": " + e.message;
}

template <typename Backend>
class StoreContract : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { Backend::SetUpTestSuite(); }
  static void TearDownTestSuite() { Backend::TearDownTestSuite(); }

  void SetUp() override {
    static std::atomic<int> counter{0};
    root_ = "/contract/" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "/";
    auto s = backend_.Open();
    ASSERT_TRUE(s.has_value()) << Describe(s.error());
    store_ = std::move(*s);
  }

  std::string K(const std::string& rel) const { return root_ + rel; }

  int64_t MustPut(const std::string& key, const std::string& value) {
    auto r = store_->Put(key, value);
    EXPECT_TRUE(r.has_value()) << Describe(r.error());
    return r.value_or(-1);
  }

  int64_t MustRevision() {
    auto r = store_->Revision();
    EXPECT_TRUE(r.has_value()) << Describe(r.error());
    return r.value_or(-1);
  }

  // Reads until `n` events arrived (or an error, or the generous cap passed).
  Result<std::vector<WatchEvent>> Collect(Watch& w, size_t n, std::chrono::milliseconds cap = 20s) {
    std::vector<WatchEvent> all;
    auto deadline = std::chrono::steady_clock::now() + cap;
    while (all.size() < n && std::chrono::steady_clock::now() < deadline) {
      auto r = w.Next(500ms);
      if (!r) return r;
      for (auto& e : *r) all.push_back(std::move(e));
    }
    return all;
  }

  // Waits for the first non-empty batch or error.
  Result<std::vector<WatchEvent>> FirstBatch(Watch& w, std::chrono::milliseconds cap = 20s) {
    auto deadline = std::chrono::steady_clock::now() + cap;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = w.Next(500ms);
      if (!r || !r->empty()) return r;
    }
    return std::vector<WatchEvent>{};
  }

  Backend backend_;
  std::unique_ptr<Store> store_;
  std::string root_;
};

TYPED_TEST_SUITE_P(StoreContract);

TYPED_TEST_P(StoreContract, PutThenGetRoundTrips) {
  auto& s = *this->store_;
  std::string binary("a\0b\xff\n", 5);
  int64_t r1 = this->MustPut(this->K("bin"), binary);
  int64_t r2 = this->MustPut(this->K("empty"), "");
  EXPECT_GT(r1, 0);
  EXPECT_EQ(r2, r1 + 1);

  auto got = s.Get(this->K("bin"));
  ASSERT_TRUE(got.has_value()) << Describe(got.error());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->key, this->K("bin"));
  EXPECT_EQ((*got)->value, binary);
  EXPECT_EQ((*got)->create_revision, r1);
  EXPECT_EQ((*got)->mod_revision, r1);

  auto empty = s.Get(this->K("empty"));
  ASSERT_TRUE(empty.has_value() && empty->has_value());
  EXPECT_EQ((*empty)->value, "");

  auto missing = s.Get(this->K("missing"));
  ASSERT_TRUE(missing.has_value()) << Describe(missing.error());
  EXPECT_FALSE(missing->has_value());
  EXPECT_EQ(this->MustRevision(), r2);
}

TYPED_TEST_P(StoreContract, UpdateKeepsCreateRevision) {
  auto& s = *this->store_;
  int64_t r1 = this->MustPut(this->K("k"), "v1");
  int64_t r2 = this->MustPut(this->K("k"), "v2");
  auto got = s.Get(this->K("k"));
  ASSERT_TRUE(got.has_value() && got->has_value());
  EXPECT_EQ((*got)->value, "v2");
  EXPECT_EQ((*got)->create_revision, r1);
  EXPECT_EQ((*got)->mod_revision, r2);
}

TYPED_TEST_P(StoreContract, CreateOnlyCompareSucceedsOnceThenConflicts) {
  auto& s = *this->store_;
  Txn create{{Compare{this->K("c"), 0}}, {Op::Put(this->K("c"), "first")}};
  auto r1 = s.Commit(create);
  ASSERT_TRUE(r1.has_value()) << Describe(r1.error());

  create.ops[0].value = "second";
  auto r2 = s.Commit(create);
  ASSERT_FALSE(r2.has_value());
  EXPECT_EQ(r2.error().code, ErrorCode::kConflict);
  EXPECT_NE(r2.error().message.find(this->K("c")), std::string::npos) << r2.error().message;

  auto got = s.Get(this->K("c"));
  ASSERT_TRUE(got.has_value() && got->has_value());
  EXPECT_EQ((*got)->value, "first");
}

TYPED_TEST_P(StoreContract, UpdateIfRevisionMatches) {
  auto& s = *this->store_;
  int64_t r1 = this->MustPut(this->K("u"), "v1");
  auto r2 = s.Commit(Txn{{Compare{this->K("u"), r1}}, {Op::Put(this->K("u"), "v2")}});
  ASSERT_TRUE(r2.has_value()) << Describe(r2.error());

  // r1 is stale now.
  auto stale = s.Commit(Txn{{Compare{this->K("u"), r1}}, {Op::Put(this->K("u"), "v3")}});
  ASSERT_FALSE(stale.has_value());
  EXPECT_EQ(stale.error().code, ErrorCode::kConflict);
  EXPECT_NE(stale.error().message.find(this->K("u")), std::string::npos);

  // Expecting a revision on an absent key conflicts too.
  auto absent = s.Commit(Txn{{Compare{this->K("nope"), r1}}, {Op::Put(this->K("nope"), "x")}});
  ASSERT_FALSE(absent.has_value());
  EXPECT_EQ(absent.error().code, ErrorCode::kConflict);

  auto got = s.Get(this->K("u"));
  ASSERT_TRUE(got.has_value() && got->has_value());
  EXPECT_EQ((*got)->value, "v2");
  EXPECT_EQ((*got)->mod_revision, *r2);
}

TYPED_TEST_P(StoreContract, FailedCompareWritesNothing) {
  auto& s = *this->store_;
  int64_t ra = this->MustPut(this->K("a"), "a1");
  int64_t before = this->MustRevision();
  Txn txn{{Compare{this->K("a"), ra}, Compare{this->K("b"), 12345}},
          {Op::Put(this->K("a"), "a2"), Op::Put(this->K("new"), "n"), Op::Delete(this->K("a2"))}};
  auto r = s.Commit(txn);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kConflict);
  EXPECT_NE(r.error().message.find(this->K("b")), std::string::npos) << r.error().message;

  EXPECT_EQ(this->MustRevision(), before);
  auto a = s.Get(this->K("a"));
  ASSERT_TRUE(a.has_value() && a->has_value());
  EXPECT_EQ((*a)->value, "a1");
  auto n = s.Get(this->K("new"));
  ASSERT_TRUE(n.has_value());
  EXPECT_FALSE(n->has_value());
}

TYPED_TEST_P(StoreContract, OneRevisionPerTxn) {
  auto& s = *this->store_;
  this->MustPut(this->K("gone"), "x");
  int64_t before = this->MustRevision();
  auto r = s.Commit(Txn{{},
                        {Op::Put(this->K("t1"), "1"), Op::Put(this->K("t2"), "2"),
                         Op::Put(this->K("t3"), "3"), Op::Delete(this->K("gone"))}});
  ASSERT_TRUE(r.has_value()) << Describe(r.error());
  EXPECT_EQ(*r, before + 1);
  EXPECT_EQ(this->MustRevision(), before + 1);
  auto list = s.List(this->K(""));
  ASSERT_TRUE(list.has_value()) << Describe(list.error());
  ASSERT_EQ(list->kvs.size(), 3u);
  for (const auto& kv : list->kvs) {
    EXPECT_EQ(kv.mod_revision, *r) << kv.key;
    EXPECT_EQ(kv.create_revision, *r) << kv.key;
  }
  EXPECT_EQ(list->revision, *r);
}

TYPED_TEST_P(StoreContract, DeleteOfAbsentKeyChangesNothing) {
  auto& s = *this->store_;
  this->MustPut(this->K("d"), "x");
  int64_t before = this->MustRevision();
  auto r = s.Delete(this->K("absent"));
  ASSERT_TRUE(r.has_value()) << Describe(r.error());
  EXPECT_EQ(*r, before);
  EXPECT_EQ(this->MustRevision(), before);

  auto del = s.Delete(this->K("d"));
  ASSERT_TRUE(del.has_value()) << Describe(del.error());
  EXPECT_EQ(*del, before + 1);
  auto got = s.Get(this->K("d"));
  ASSERT_TRUE(got.has_value());
  EXPECT_FALSE(got->has_value());
}

TYPED_TEST_P(StoreContract, DuplicateKeyInTxnIsInvalid) {
  auto r =
      this->store_->Commit(Txn{{}, {Op::Put(this->K("dup"), "1"), Op::Delete(this->K("dup"))}});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  auto empty = this->store_->Put("", "x");
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidArgument);
}

TYPED_TEST_P(StoreContract, ListHonoursPrefixBoundaries) {
  auto& s = *this->store_;
  for (const char* k : {"a", "a/", "a/2", "a/1", "a/1/deep", "ab", "a0", "a.", "b/1"}) {
    this->MustPut(this->K(k), k);
  }
  int64_t rev = this->MustRevision();
  auto list = s.List(this->K("a/"));
  ASSERT_TRUE(list.has_value()) << Describe(list.error());
  std::vector<std::string> keys;
  for (const auto& kv : list->kvs) keys.push_back(kv.key);
  EXPECT_EQ(keys, (std::vector<std::string>{this->K("a/"), this->K("a/1"), this->K("a/1/deep"),
                                            this->K("a/2")}));
  EXPECT_EQ(list->revision, rev);
  EXPECT_EQ(list->kvs[1].value, "a/1");

  auto none = s.List(this->K("zzz/"));
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->kvs.empty());
  EXPECT_EQ(none->revision, rev);
}

TYPED_TEST_P(StoreContract, ListHandlesHighBytePrefix) {
  // PrefixEnd must carry past 0xff bytes.
  std::string p = this->K("\xff\xff");
  this->MustPut(p + "x", "in");
  this->MustPut(this->K("\xfe"), "out");
  auto list = this->store_->List(p);
  ASSERT_TRUE(list.has_value()) << Describe(list.error());
  ASSERT_EQ(list->kvs.size(), 1u);
  EXPECT_EQ(list->kvs[0].value, "in");
}

TYPED_TEST_P(StoreContract, WatchReplaysFromRevisionInOrder) {
  auto& s = *this->store_;
  int64_t r1 = this->MustPut(this->K("w/a"), "1");
  int64_t r2 = this->MustPut(this->K("w/b"), "2");
  this->MustPut(this->K("other"), "not watched");
  int64_t r3 = this->MustPut(this->K("w/a"), "3");
  auto r4 = s.Delete(this->K("w/b"));
  ASSERT_TRUE(r4.has_value());

  auto w = s.WatchPrefix(this->K("w/"), r1);
  ASSERT_TRUE(w.has_value()) << Describe(w.error());
  auto ev = this->Collect(**w, 3);
  ASSERT_TRUE(ev.has_value()) << Describe(ev.error());
  ASSERT_EQ(ev->size(), 3u);
  EXPECT_EQ((*ev)[0].type, WatchEvent::Type::kPut);
  EXPECT_EQ((*ev)[0].kv.key, this->K("w/b"));
  EXPECT_EQ((*ev)[0].kv.value, "2");
  EXPECT_EQ((*ev)[0].kv.mod_revision, r2);
  EXPECT_EQ((*ev)[0].kv.create_revision, r2);
  EXPECT_EQ((*ev)[1].kv.key, this->K("w/a"));
  EXPECT_EQ((*ev)[1].kv.value, "3");
  EXPECT_EQ((*ev)[1].kv.mod_revision, r3);
  EXPECT_EQ((*ev)[1].kv.create_revision, r1);
  EXPECT_EQ((*ev)[2].type, WatchEvent::Type::kDelete);
  EXPECT_EQ((*ev)[2].kv.key, this->K("w/b"));
  EXPECT_EQ((*ev)[2].kv.mod_revision, *r4);
}

TYPED_TEST_P(StoreContract, WatchDeliversATxnInOneBatch) {
  auto& s = *this->store_;
  int64_t from = this->MustRevision();
  auto r = s.Commit(Txn{
      {},
      {Op::Put(this->K("b/1"), "1"), Op::Put(this->K("b/2"), "2"), Op::Put(this->K("b/3"), "3")}});
  ASSERT_TRUE(r.has_value());
  auto w = s.WatchPrefix(this->K("b/"), from);
  ASSERT_TRUE(w.has_value());
  auto batch = this->FirstBatch(**w);
  ASSERT_TRUE(batch.has_value()) << Describe(batch.error());
  ASSERT_EQ(batch->size(), 3u);
  for (const auto& e : *batch) EXPECT_EQ(e.kv.mod_revision, *r);
}

TYPED_TEST_P(StoreContract, WatchWakesOnCommitFromAnotherThread) {
  auto& s = *this->store_;
  int64_t from = this->MustPut(this->K("x/before"), "old");
  auto w = s.WatchPrefix(this->K("x/"), from);
  ASSERT_TRUE(w.has_value());
  // Nothing after `from` yet: a short wait comes back empty.
  auto idle = (*w)->Next(200ms);
  ASSERT_TRUE(idle.has_value()) << Describe(idle.error());
  EXPECT_TRUE(idle->empty());

  std::thread writer([&] {
    std::this_thread::sleep_for(100ms);
    auto r = s.Put(this->K("x/after"), "new");
    EXPECT_TRUE(r.has_value());
  });
  auto ev = (*w)->Next(30s);  // a cap, not a speed requirement
  writer.join();
  ASSERT_TRUE(ev.has_value()) << Describe(ev.error());
  ASSERT_EQ(ev->size(), 1u);
  EXPECT_EQ((*ev)[0].kv.key, this->K("x/after"));
  EXPECT_EQ((*ev)[0].kv.value, "new");
}

TYPED_TEST_P(StoreContract, CancelWakesABlockedNext) {
  auto w = this->store_->WatchPrefix(this->K("c/"), this->MustRevision());
  ASSERT_TRUE(w.has_value());
  Result<std::vector<WatchEvent>> got = std::vector<WatchEvent>{};
  std::thread reader([&] { got = (*w)->Next(std::chrono::minutes(5)); });
  std::this_thread::sleep_for(100ms);
  (*w)->Cancel();
  reader.join();
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code, ErrorCode::kUnavailable);
  // And it stays cancelled.
  auto again = (*w)->Next(1s);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kUnavailable);
}

TYPED_TEST_P(StoreContract, CompactedRevisionIsGone) {
  auto& s = *this->store_;
  int64_t first = this->MustPut(this->K("g/1"), "1");
  this->MustPut(this->K("g/2"), "2");
  this->MustPut(this->K("g/3"), "3");
  int64_t last = this->MustPut(this->K("g/4"), "4");
  auto st = this->backend_.Compact(s, last);
  ASSERT_TRUE(st.has_value()) << Describe(st.error());

  auto w = s.WatchPrefix(this->K("g/"), first);
  ASSERT_TRUE(w.has_value());
  auto r = this->FirstBatch(**w);
  ASSERT_FALSE(r.has_value()) << "got " << r->size() << " events from a compacted revision";
  EXPECT_EQ(r.error().code, ErrorCode::kGone) << r.error().message;

  // Relist and watch from the listing's revision: that works.
  auto list = s.List(this->K("g/"));
  ASSERT_TRUE(list.has_value());
  EXPECT_EQ(list->kvs.size(), 4u);
  auto w2 = s.WatchPrefix(this->K("g/"), list->revision);
  ASSERT_TRUE(w2.has_value());
  int64_t r5 = this->MustPut(this->K("g/5"), "5");
  auto ev = this->FirstBatch(**w2);
  ASSERT_TRUE(ev.has_value()) << Describe(ev.error());
  ASSERT_EQ(ev->size(), 1u);
  EXPECT_EQ((*ev)[0].kv.mod_revision, r5);
}

TYPED_TEST_P(StoreContract, ConcurrentCasIncrementsLoseNothing) {
  auto& s = *this->store_;
  const std::string key = this->K("counter");
  constexpr int kThreads = 4;
  constexpr int kEach = 20;
  std::atomic<int> conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach;) {
        auto cur = s.Get(key);
        ASSERT_TRUE(cur.has_value()) << Describe(cur.error());
        int64_t rev = cur->has_value() ? (*cur)->mod_revision : 0;
        int n = cur->has_value() ? std::stoi((*cur)->value) : 0;
        auto r = s.Commit(Txn{{Compare{key, rev}}, {Op::Put(key, std::to_string(n + 1))}});
        if (r) {
          ++i;
        } else {
          ASSERT_EQ(r.error().code, ErrorCode::kConflict) << Describe(r.error());
          ++conflicts;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  auto final = s.Get(key);
  ASSERT_TRUE(final.has_value() && final->has_value());
  EXPECT_EQ((*final)->value, std::to_string(kThreads * kEach));
}

// Domain claims (store/claims.h) hold on every backend: first claim wins, a racing second one
// fails its compare, release frees it, orphans are collected. Claim keys are global, so each
// test uses its own domains and namespace.
TYPED_TEST_P(StoreContract, DomainClaimsAreFirstComeFirstServed) {
  auto& s = *this->store_;
  // "/contract/<pid>-<n>/" -> "c<pid>-<n>": unique, and a valid DNS label.
  const std::string tag = "c" + this->root_.substr(10, this->root_.size() - 11);
  const std::string d = tag + ".ctest.localhost", a = tag + "/a", b = tag + "/b";
  Txn ta{{Compare{keys::Spec(tag, "a"), 0}}, {Op::Put(keys::Spec(tag, "a"), "{}")}};
  ASSERT_TRUE(ClaimDomains(s, a, {d}, ta));
  // B read before A committed: its compare must fail once A's claim is in.
  Txn tb{{Compare{keys::Spec(tag, "b"), 0}}, {Op::Put(keys::Spec(tag, "b"), "{}")}};
  ASSERT_TRUE(ClaimDomains(s, b, {d}, tb));
  ASSERT_TRUE(s.Commit(ta).has_value());
  auto raced = s.Commit(tb);
  ASSERT_FALSE(raced.has_value());
  EXPECT_EQ(raced.error().code, ErrorCode::kConflict);
  EXPECT_FALSE(*s.Get(keys::Spec(tag, "b")));
  // Read afresh: refused, naming the owner.
  Txn again;
  auto refused = ClaimDomains(s, b, {d}, again);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(refused.error().message, "domain " + d + " is taken by " + a);
  // The owner's own claim is kept (a compare, no write).
  Txn mine;
  ASSERT_TRUE(ClaimDomains(s, a, {d}, mine));
  EXPECT_TRUE(mine.ops.empty());
  ASSERT_EQ(mine.compares.size(), 1u);
  EXPECT_TRUE(s.Commit(mine).has_value());
  auto owned = OwnedDomains(s, a, {d, "other." + d});
  ASSERT_TRUE(owned);
  EXPECT_EQ(*owned, std::vector<std::string>{d});
  // Released with the spec, in one transaction; then B may claim it.
  ASSERT_TRUE(s.Put(keys::Port(1), a).has_value());
  Txn del{{}, {Op::Delete(keys::Spec(tag, "a"))}};
  ASSERT_TRUE(ReleaseClaims(s, a, del));
  ASSERT_TRUE(s.Commit(del).has_value());
  EXPECT_FALSE(*s.Get(keys::Domain(d)));
  EXPECT_FALSE(*s.Get(keys::Port(1)));
  Txn tb2{{Compare{keys::Spec(tag, "b"), 0}}, {Op::Put(keys::Spec(tag, "b"), "{}")}};
  ASSERT_TRUE(ClaimDomains(s, b, {d}, tb2));
  ASSERT_TRUE(s.Commit(tb2).has_value());
  EXPECT_EQ((*s.Get(keys::Domain(d)))->value, b);
  // An orphan (its spec gone) is collected; a live one stays.
  ASSERT_TRUE(s.Put(keys::Domain("orphan." + d), tag + "/gone").has_value());
  CollectOrphanClaims(s, {b});
  EXPECT_FALSE(*s.Get(keys::Domain("orphan." + d)));
  EXPECT_TRUE(*s.Get(keys::Domain(d)));
  Txn cleanup{{}, {Op::Delete(keys::Spec(tag, "b"))}};
  ASSERT_TRUE(ReleaseClaims(s, b, cleanup));
  ASSERT_TRUE(s.Commit(cleanup).has_value());
}

// A store from before claims: environments get theirs by created_at, the loser an event.
TYPED_TEST_P(StoreContract, MigrationClaimsDomainsFirstComeFirstServed) {
  auto& s = *this->store_;
  // "/contract/<pid>-<n>/" -> "m<pid>-<n>": unique, and a valid DNS label.
  const std::string tag = "m" + this->root_.substr(10, this->root_.size() - 11);
  const std::string shared = tag + ".ctest.localhost";
  auto put_spec = [&](const std::string& name, const std::string& created_at,
                      std::vector<std::string> domains) {
    EnvironmentSpec spec;
    spec.ns = tag;
    spec.name = name;
    spec.image = "localhost/app:1";
    spec.domains = std::move(domains);
    spec.created_at = created_at;
    ASSERT_TRUE(s.Put(keys::Spec(tag, name), SerializeSpec(spec)).has_value());
  };
  // The lower key was created later: it used to win the router; now the earlier one owns it.
  put_spec("late", "2026-01-02T00:00:00Z", {shared});
  put_spec("early", "2026-01-01T00:00:00Z", {shared, "early." + shared});
  ASSERT_TRUE(s.Put(keys::Status(tag, "late"), SerializeStatus(EnvStatus{})).has_value());
  auto m = ClaimUnclaimedDomains(s);
  ASSERT_TRUE(m) << Describe(m.error());
  EXPECT_GE(m->claimed, 2);
  EXPECT_GE(m->conflicts, 1);
  EXPECT_EQ((*s.Get(keys::Domain(shared)))->value, tag + "/early");
  EXPECT_EQ((*s.Get(keys::Domain("early." + shared)))->value, tag + "/early");
  auto st = s.Get(keys::Status(tag, "late"));
  ASSERT_TRUE(st && *st);
  auto status = ParseStatus((*st)->value);
  ASSERT_TRUE(status);
  ASSERT_FALSE(status->events.empty());
  EXPECT_EQ(status->events.back().reason, "DomainTaken");
  EXPECT_EQ(status->events.back().type, "Warning");
  EXPECT_EQ(status->events.back().message, "domain " + shared + " is taken by " + tag +
                                               "/early (claimed first); it is not routed to " +
                                               tag + "/late");
  // Idempotent: a second start writes nothing.
  int64_t before = this->MustRevision();
  auto again = ClaimUnclaimedDomains(s);
  ASSERT_TRUE(again);
  EXPECT_EQ(this->MustRevision(), before);
  for (const char* n : {"late", "early"}) {
    Txn del{{}, {Op::Delete(keys::Spec(tag, n)), Op::Delete(keys::Status(tag, n))}};
    ASSERT_TRUE(ReleaseClaims(s, tag + "/" + n, del));
    ASSERT_TRUE(s.Commit(del).has_value());
  }
}

// Records a release before 0.2 wrote (the flat form, as it serialized them) are rewritten in
// the record form on start, meaning what they meant; records already in it are left alone.
TYPED_TEST_P(StoreContract, FlatSpecRecordsOfThePreviousReleaseAreMigrated) {
  auto& s = *this->store_;
  const std::string tag = "f" + this->root_.substr(10, this->root_.size() - 11);
  auto flat = [&](const std::string& name, bool deleting, bool purge) {
    return R"({"namespace":")" + tag + R"(","name":")" + name +
           R"(","image":"localhost/app:1","release_mode":"code","replicas":2,"ports":[{"name":"ssh","container_port":22,"host_port":31001,"auto_assigned":true},{"name":"http","container_port":80,"host_port":31002,"auto_assigned":false}],"resources":{"limits":{"cpu":"500m","memory":"2000Mi"},"requests":{"cpu":"10m","memory":"100Mi"}},"env":{"A":"1"},"labels":{"team":"x"},"command":["sh","-c","httpd"],"domains":[")" +
           name + "." + tag +
           R"(.ctest.localhost"],"pull_policy":"IfNotPresent","volume_mount":"/apps","controller":"","branch":"","reload_command":"kill -HUP 1","ttl_seconds":3600,"expires_at":"2026-11-01T11:00:00Z","purge_on_expiry":true,"sleeping":true,"idle_sleep_seconds":600,"generation":3,"deleting":)" +
           (deleting ? "true" : "false") + R"(,"purge":)" + (purge ? "true" : "false") +
           R"(,"rollback_on_failure":true,"created_at":"2026-11-01T10:00:00Z"})";
  };
  ASSERT_TRUE(s.Put(keys::Spec(tag, "old"), flat("old", false, false)).has_value());
  ASSERT_TRUE(s.Put(keys::Spec(tag, "going"), flat("going", true, true)).has_value());
  EnvironmentSpec fresh;
  fresh.ns = tag;
  fresh.name = "fresh";
  fresh.image = "localhost/app:1";
  fresh.uid = NewUid();
  auto fresh_rev = s.Put(keys::Spec(tag, "fresh"), SerializeSpec(fresh));
  ASSERT_TRUE(fresh_rev.has_value());

  auto m = MigrateSpecRecords(s);
  ASSERT_TRUE(m) << Describe(m.error());
  EXPECT_GE(*m, 2);
  auto read = [&](const std::string& name) {
    auto kv = s.Get(keys::Spec(tag, name));
    EXPECT_TRUE(kv && *kv);
    return **kv;
  };
  auto old_kv = read("old");
  EXPECT_FALSE(IsFlatSpecRecord(old_kv.value)) << old_kv.value;
  auto record = nlohmann::json::parse(old_kv.value);
  EXPECT_EQ(record["kind"], "Environment");
  EXPECT_EQ(record["metadata"]["generation"], 3);
  EXPECT_EQ(record["metadata"]["createdAt"], "2026-11-01T10:00:00Z");
  EXPECT_EQ(record["metadata"]["labels"]["team"], "x");
  EXPECT_FALSE(record["spec"].contains("generation"));
  auto old = ParseSpec(old_kv.value);
  ASSERT_TRUE(old) << old.error().message;
  auto before = ParseSpec(flat("old", false, false));
  ASSERT_TRUE(before);
  EXPECT_EQ(old->uid.size(), 36u);
  before->uid = old->uid;
  EXPECT_EQ(nlohmann::json(*old), nlohmann::json(*before)) << "the same environment";
  EXPECT_EQ(old->ports[0].host_port, 31001);
  EXPECT_TRUE(old->ports[0].auto_assigned);
  EXPECT_FALSE(old->ports[1].auto_assigned);
  EXPECT_TRUE(old->sleeping);
  EXPECT_TRUE(old->rollback_on_failure);

  auto going = ParseSpec(read("going").value);
  ASSERT_TRUE(going);
  EXPECT_TRUE(going->deleting);
  EXPECT_TRUE(going->purge);
  EXPECT_FALSE(going->deletion_timestamp.empty());
  EXPECT_NE(read("going").value.find(kPurgeVolumeFinalizer), std::string::npos);
  EXPECT_EQ(read("fresh").mod_revision, *fresh_rev) << "already in the record form";

  // Idempotent: a second start rewrites none of these.
  const int64_t old_rev = read("old").mod_revision;
  ASSERT_TRUE(MigrateSpecRecords(s));
  EXPECT_EQ(read("old").mod_revision, old_rev);
  for (const char* n : {"old", "going", "fresh"}) ASSERT_TRUE(s.Delete(keys::Spec(tag, n)));
}

REGISTER_TYPED_TEST_SUITE_P(StoreContract, PutThenGetRoundTrips, UpdateKeepsCreateRevision,
                            CreateOnlyCompareSucceedsOnceThenConflicts, UpdateIfRevisionMatches,
                            FailedCompareWritesNothing, OneRevisionPerTxn,
                            DeleteOfAbsentKeyChangesNothing, DuplicateKeyInTxnIsInvalid,
                            ListHonoursPrefixBoundaries, ListHandlesHighBytePrefix,
                            WatchReplaysFromRevisionInOrder, WatchDeliversATxnInOneBatch,
                            WatchWakesOnCommitFromAnotherThread, CancelWakesABlockedNext,
                            CompactedRevisionIsGone, ConcurrentCasIncrementsLoseNothing,
                            DomainClaimsAreFirstComeFirstServed,
                            MigrationClaimsDomainsFirstComeFirstServed,
                            FlatSpecRecordsOfThePreviousReleaseAreMigrated);

}  // namespace berth::store::contract
