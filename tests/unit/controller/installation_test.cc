// The installation record: generated once, agreed by every replica, and — for a store of a
// release before installation ids — adopting exactly that store's own workloads.
#include "controller/installation.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "berth/environment.h"
#include "util/fs.h"

namespace berth::controller {
namespace {

// An engine holding the given managed workloads.
class EngineWith : public runtime::Runtime {
 public:
  explicit EngineWith(std::vector<runtime::OwnedWorkload> w) : workloads(std::move(w)) {}
  std::string Name() const override { return "engine"; }
  Status Apply(const EnvironmentSpec&, const VolumeMount&, const runtime::ProgressFn&) override {
    return {};
  }
  Result<runtime::WorkloadStatus> Inspect(const EnvironmentSpec&) override {
    return runtime::WorkloadStatus{};
  }
  Status Remove(std::string_view, std::string_view) override { return {}; }
  Status Logs(const EnvironmentSpec&, const runtime::LogOptions&,
              const runtime::LogSink&) override {
    return {};
  }
  Result<std::vector<runtime::OwnedWorkload>> ListManaged() override {
    if (down) return Fail(ErrorCode::kUnavailable, "engine down");
    return workloads;
  }
  std::vector<runtime::OwnedWorkload> workloads;
  bool down = false;
};

class InstallationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::OpenStore("sqlite://" + dir.path() + "/berth.db");
    ASSERT_TRUE(s) << s.error().message;
    st = std::move(*s);
  }
  void PutSpec(const std::string& ns, const std::string& name) {
    EnvironmentSpec s;
    s.ns = ns;
    s.name = name;
    s.image = "localhost/app:1";
    ASSERT_TRUE(st->Put(store::keys::Spec(ns, name), SerializeSpec(s)));
  }
  util::TempDir dir{"berth-inst"};
  std::unique_ptr<store::Store> st;
};

TEST_F(InstallationTest, IdsAreSixteenHexDigitsAndDiffer) {
  auto a = NewInstallationId();
  auto b = NewInstallationId();
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(IsInstallationId(*a)) << *a;
  EXPECT_NE(*a, *b);
  for (const char* bad : {"", "0123456789abcde", "0123456789abcdef0", "0123456789ABCDEF",
                          "0123456789abcdeg", "0123456789abcd\n"})
    EXPECT_FALSE(IsInstallationId(bad)) << bad;
}

TEST_F(InstallationTest, RecordRoundTripsAndBadRecordsAreRefused) {
  Installation inst{"0123456789abcdef", "2026-01-01T00:00:00Z", {"w1", "w2"}};
  auto back = ParseInstallation(SerializeInstallation(inst));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->id, inst.id);
  EXPECT_EQ(back->adopted, inst.adopted);
  for (const char* bad : {"", "[]", R"({"id": 5})", R"({"id": "xyz"})",
                          R"({"id": "0123456789abcdef", "adopted": "w1"})",
                          R"({"id": "0123456789abcdef", "adopted": [1]})"})
    EXPECT_FALSE(ParseInstallation(bad)) << bad;
}

TEST_F(InstallationTest, MadeOnceThenReadBack) {
  EngineWith engine({});
  auto first = EnsureInstallation(*st, engine);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_TRUE(IsInstallationId(first->id));
  EXPECT_TRUE(first->adopted.empty());
  auto again = EnsureInstallation(*st, engine);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->id, first->id);
}

// Several replicas starting on one store at once all get the one id that won.
TEST_F(InstallationTest, ConcurrentFirstStartsAgreeOnOneId) {
  EngineWith engine({});
  std::vector<std::string> ids(8);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < ids.size(); ++i)
    threads.emplace_back([&, i] {
      auto r = EnsureInstallation(*st, engine);
      if (r) ids[i] = r->id;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 1u);
  EXPECT_TRUE(IsInstallationId(ids[0]));
}

// The migration: a store of a release before installation ids adopts the unlabelled workloads
// it has specs for — and only those; another installation's and strays are not adopted.
TEST_F(InstallationTest, EarlierReleasesStoreAdoptsOnlyItsOwnUnlabelledWorkloads) {
  PutSpec("default", "demo");
  PutSpec("team", "api");
  EngineWith engine({{"default", "demo", "c-demo", 1, ""},
                     {"team", "api", "c-api", 3, ""},
                     {"default", "stray", "c-stray", 1, ""},
                     {"default", "demo", "c-other", 1, "ffffffffffffffff"}});
  auto inst = EnsureInstallation(*st, engine);
  ASSERT_TRUE(inst) << inst.error().message;
  EXPECT_EQ(inst->adopted, (std::set<std::string>{"c-demo", "c-api"}));
  // Adoption happens once: a workload appearing later is not adopted by a restart.
  engine.workloads.push_back({"default", "demo", "c-late", 1, ""});
  auto again = EnsureInstallation(*st, engine);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->adopted, inst->adopted);

  // And the runtime then lists exactly its own.
  engine.SetOwnership(again->ownership());
  auto owned = engine.ListOwned();
  ASSERT_TRUE(owned);
  std::set<std::string> ids;
  for (const auto& w : *owned) ids.insert(w.id);
  EXPECT_EQ(ids, (std::set<std::string>{"c-demo", "c-api"}));
}

// Adoption needs the engine; without it the first start fails (and writes nothing) rather than
// record an installation that would then collect nothing of its own — or lose its workloads.
TEST_F(InstallationTest, FirstStartOfAnOldStoreNeedsTheEngine) {
  PutSpec("default", "demo");
  EngineWith engine({{"default", "demo", "c-demo", 1, ""}});
  engine.down = true;
  auto r = EnsureInstallation(*st, engine);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_FALSE(*st->Get(std::string(store::keys::kInstallation)));
  engine.down = false;
  auto ok = EnsureInstallation(*st, engine);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->adopted, (std::set<std::string>{"c-demo"}));
}

}  // namespace
}  // namespace berth::controller
