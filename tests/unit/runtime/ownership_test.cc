// The selection rule every runtime applies before it changes, removes or collects anything.
#include <gtest/gtest.h>

#include "berth/runtime.h"

namespace berth::runtime {
namespace {

constexpr char kThisId[] = "1111111111111111";
constexpr char kOtherId[] = "2222222222222222";

TEST(OwnershipTest, OnlyManagedObjectsOfThisIdOrAdoptedAreThisOnes) {
  Ownership o{kThisId, {"adopted-id"}};
  EXPECT_EQ(o.Of("berth", kThisId, "x"), Owner::kThis);
  EXPECT_EQ(o.Of("berth", kOtherId, "x"), Owner::kOther);
  // Another installation's object stays its own even if its id was once adopted here.
  EXPECT_EQ(o.Of("berth", kOtherId, "adopted-id"), Owner::kOther);
  EXPECT_EQ(o.Of("berth", "", "x"), Owner::kLegacy);
  EXPECT_EQ(o.Of("berth", "", "adopted-id"), Owner::kThis);
  EXPECT_EQ(o.Of("", kThisId, "x"), Owner::kNotBerth);
  EXPECT_EQ(o.Of("helm", kThisId, "x"), Owner::kNotBerth);
}

TEST(OwnershipTest, WithoutAnIdEveryManagedObjectIsThisOnes) {
  Ownership none;
  EXPECT_EQ(none.Of("berth", "", "x"), Owner::kThis);
  EXPECT_EQ(none.Of("berth", kOtherId, "x"), Owner::kThis);
  EXPECT_EQ(none.Of("other", "", "x"), Owner::kNotBerth);
}

TEST(OwnershipTest, RefusalNamesTheOwner) {
  Ownership o{kThisId, {}};
  std::string other = o.Refusal("container name berth-default.demo", kOtherId);
  EXPECT_NE(other.find("berth-default.demo"), std::string::npos) << other;
  EXPECT_NE(other.find(kOtherId), std::string::npos) << other;
  EXPECT_NE(other.find(kThisId), std::string::npos) << other;
  std::string legacy = o.Refusal("container name berth-default.demo", "");
  EXPECT_NE(legacy.find("earlier release"), std::string::npos) << legacy;
}

// A runtime whose engine holds workloads of every kind of owner.
class ListingRuntime : public Runtime {
 public:
  std::string Name() const override { return "listing"; }
  Status Apply(const EnvironmentSpec&, const VolumeMount&, const ProgressFn&) override {
    return {};
  }
  Result<WorkloadStatus> Inspect(const EnvironmentSpec&) override { return WorkloadStatus{}; }
  Status Remove(std::string_view, std::string_view) override { return {}; }
  Status Logs(const EnvironmentSpec&, const LogOptions&, const LogSink&) override { return {}; }
  Result<std::vector<OwnedWorkload>> ListManaged() override {
    return std::vector<OwnedWorkload>{{"default", "mine", "c1", 1, kThisId},
                                      {"default", "theirs", "c2", 1, kOtherId},
                                      {"default", "old-adopted", "c3", 1, ""},
                                      {"default", "old-stray", "c4", 1, ""}};
  }
};

TEST(OwnershipTest, ListOwnedSelectsThisInstallationsAndAdoptedOnly) {
  ListingRuntime rt;
  rt.SetOwnership({kThisId, {"c3"}});
  auto owned = rt.ListOwned();
  ASSERT_TRUE(owned);
  std::vector<std::string> names;
  for (const auto& w : *owned) names.push_back(w.name);
  EXPECT_EQ(names, (std::vector<std::string>{"mine", "old-adopted"}));
  // Asked twice (every resync), the same answer.
  auto again = rt.ListOwned();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->size(), 2u);
}

}  // namespace
}  // namespace berth::runtime
