// The usage sampler over a scripted runtime: the ring buffer, CPU rates from two samples,
// errors beside a kept sample, stale samples taken again, forgotten environments.
#include "runtime/usage_sampler.h"

#include <gtest/gtest.h>

#include <atomic>

namespace berth::runtime {
namespace {

class ScriptedRuntime : public Runtime {
 public:
  std::string Name() const override { return "scripted"; }
  Status Apply(const EnvironmentSpec&, const VolumeMount&, const ProgressFn&) override {
    return {};
  }
  Result<WorkloadStatus> Inspect(const EnvironmentSpec&) override { return WorkloadStatus{}; }
  Status Remove(std::string_view, std::string_view) override { return {}; }
  Status Logs(const EnvironmentSpec&, const LogOptions&, const LogSink&) override { return {}; }
  Result<std::vector<OwnedWorkload>> ListManaged() override { return std::vector<OwnedWorkload>{}; }
  Result<WorkloadUsage> Usage(const EnvironmentSpec& spec,
                              std::chrono::milliseconds deadline) override {
    calls++;
    last_deadline = deadline;
    if (fail) return Fail(ErrorCode::kUnavailable, "engine gone for " + spec.Key());
    WorkloadUsage u;
    u.cpu_seconds = cpu;
    u.memory_bytes = 1000;
    return u;
  }
  std::atomic<int> calls{0};
  double cpu = 0;
  bool fail = false;
  std::chrono::milliseconds last_deadline{0};
};

EnvironmentSpec Spec(const std::string& name) {
  EnvironmentSpec s;
  s.ns = "dev";
  s.name = name;
  return s;
}

TEST(RingTest, KeepsTheNewest) {
  Ring<int> r(3);
  EXPECT_TRUE(r.empty());
  for (int i = 1; i <= 5; ++i) r.Push(i);
  EXPECT_EQ(r.size(), 3u);
  EXPECT_EQ(r.ToVector(), (std::vector<int>{3, 4, 5}));
  EXPECT_EQ(r.back(), 5);
  EXPECT_EQ(r.at(0), 3);
}

TEST(UsageSamplerTest, CpuRateFromTwoSamples) {
  UsagePoint a{1000, {}}, b{3000, {}};
  a.usage.cpu_seconds = 1.0;
  b.usage.cpu_seconds = 2.0;
  EXPECT_DOUBLE_EQ(*CpuCores(a, b), 0.5);
  EXPECT_FALSE(CpuCores(b, a));  // no time forward
  UsagePoint reset{5000, {}};
  reset.usage.cpu_seconds = 0.1;
  EXPECT_FALSE(CpuCores(b, reset));  // replaced workload: counter went back
  UsagePoint none{6000, {}};
  EXPECT_FALSE(CpuCores(b, none));
}

TEST(UsageSamplerTest, SamplesRatesErrorsAndHistory) {
  ScriptedRuntime rt;
  int64_t now = 1'000'000;
  std::vector<EnvironmentSpec> specs = {Spec("a"), Spec("b")};
  specs[1].sleeping = true;  // not sampled
  UsageSamplerOptions o;
  o.interval = std::chrono::seconds(10);
  o.deadline = std::chrono::milliseconds(1234);
  o.history = std::chrono::seconds(60);
  UsageSampler s(
      rt, [&]() -> Result<std::vector<EnvironmentSpec>> { return specs; }, o, [&] { return now; });
  EXPECT_EQ(s.capacity(), 7u);  // 60 s / 10 s + 1

  s.SampleAll();
  EXPECT_EQ(rt.calls, 1);
  EXPECT_EQ(rt.last_deadline, std::chrono::milliseconds(1234));
  auto r = s.Report(specs[0], false);
  ASSERT_TRUE(r.usage);
  EXPECT_FALSE(r.cpu_cores);  // one sample only
  EXPECT_EQ(r.sampled_at_ms, now);

  // One sample ~1 s old: asked with sample_if_stale, a second sample gives the rate.
  now += 2000;
  rt.cpu = 1.0;
  r = s.Report(specs[0], true);
  EXPECT_EQ(rt.calls, 2);
  ASSERT_TRUE(r.cpu_cores);
  EXPECT_DOUBLE_EQ(*r.cpu_cores, 0.5);
  // Fresh enough now: no new call.
  r = s.Report(specs[0], true);
  EXPECT_EQ(rt.calls, 2);

  // An error keeps the last sample and says what failed.
  now += 10000;
  rt.fail = true;
  s.SampleAll();
  r = s.Report(specs[0], false);
  ASSERT_TRUE(r.usage);
  EXPECT_NE(r.error.find("engine gone for dev/a"), std::string::npos);
  rt.fail = false;

  for (int i = 0; i < 20; ++i) {
    now += 10000;
    s.SampleAll();
  }
  EXPECT_EQ(s.History("dev/a").size(), 7u);  // bounded
  EXPECT_TRUE(s.History("dev/b").empty());

  // Never sampled: an explanation, no figures.
  auto unknown = s.Report(Spec("c"), false);
  EXPECT_FALSE(unknown.usage);
  EXPECT_FALSE(unknown.error.empty());

  // Gone from the list: forgotten.
  specs.erase(specs.begin());
  s.SampleAll();
  EXPECT_TRUE(s.History("dev/a").empty());
}

TEST(UsageSamplerTest, BackgroundLoopStartsAndStops) {
  ScriptedRuntime rt;
  UsageSamplerOptions o;
  o.interval = std::chrono::milliseconds(100);
  UsageSampler s(
      rt, []() -> Result<std::vector<EnvironmentSpec>> { return std::vector{Spec("a")}; }, o);
  s.Start();
  for (int i = 0; i < 100 && rt.calls < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  s.Stop();
  EXPECT_GE(rt.calls, 2);
  EXPECT_GE(s.History("dev/a").size(), 2u);
}

}  // namespace
}  // namespace berth::runtime
