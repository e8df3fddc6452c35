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

TEST(RingTest, TakesMemoryAsElementsArriveAndShrinksToTheNewest) {
  Ring<int> r(1000);
  r.Push(1);
  EXPECT_EQ(r.size(), 1u);
  EXPECT_EQ(r.capacity(), 1000u);
  Ring<int> w(4);
  for (int i = 1; i <= 6; ++i) w.Push(i);  // wrapped: 3 4 5 6
  w.SetCapacity(8);                        // nothing dropped, order kept, room to grow
  EXPECT_EQ(w.ToVector(), (std::vector<int>{3, 4, 5, 6}));
  w.Push(7);
  EXPECT_EQ(w.ToVector(), (std::vector<int>{3, 4, 5, 6, 7}));
  w.SetCapacity(2);  // the newest two
  EXPECT_EQ(w.ToVector(), (std::vector<int>{6, 7}));
  w.Push(8);
  EXPECT_EQ(w.ToVector(), (std::vector<int>{7, 8}));
}

TEST(UsageSamplerTest, PackedPointsKeepEveryValueAndEveryAbsence) {
  UsagePoint p{1'700'000'000'123, {}, 42};
  p.usage.cpu_seconds = 12.5;
  p.usage.memory_bytes = int64_t{5} << 40;
  p.usage.network_tx_bytes = 0;
  p.usage.restarts = 3;
  UsagePoint q = Unpack(Pack(p));
  EXPECT_EQ(q.at_ms, p.at_ms);
  EXPECT_EQ(q.usage.cpu_seconds, 12.5);
  EXPECT_FALSE(q.usage.cpu_cores);
  EXPECT_EQ(q.usage.memory_bytes, p.usage.memory_bytes);
  EXPECT_FALSE(q.usage.memory_limit_bytes);
  EXPECT_FALSE(q.usage.network_rx_bytes);
  EXPECT_EQ(q.usage.network_tx_bytes, 0);
  EXPECT_EQ(q.usage.restarts, 3);
  EXPECT_EQ(q.requests, 42);
  EXPECT_EQ(sizeof(PackedUsagePoint), 64u);
}

TEST(UsageSamplerTest, ManyEnvironmentsShareABoundedNumberOfSamples) {
  ScriptedRuntime rt;
  int64_t now = 1'000'000;
  std::vector<EnvironmentSpec> specs;
  for (int i = 0; i < 100; ++i) specs.push_back(Spec("e" + std::to_string(i)));
  UsageSamplerOptions o;
  o.interval = std::chrono::seconds(10);
  o.history = std::chrono::seconds(3600);  // 361 per environment alone
  o.max_points = 2000;                     // 20 each for 100
  UsageSampler s(
      rt, [&]() -> Result<std::vector<EnvironmentSpec>> { return specs; }, o, [&] { return now; });
  EXPECT_EQ(s.capacity(), 361u);
  for (int round = 0; round < 30; ++round, now += 10000) s.SampleAll();
  EXPECT_EQ(s.capacity(), 20u);
  EXPECT_EQ(s.History("dev/e0").size(), 20u);
  EXPECT_EQ(s.History("dev/e99").back().at_ms, now - 10000);  // the newest kept
  // Fewer environments: each keeps more again (from what it has, growing as samples come).
  specs.resize(4);
  s.SampleAll();
  EXPECT_EQ(s.capacity(), 361u);
  EXPECT_EQ(s.History("dev/e1").size(), 21u);
  // Never fewer than 8 each, however many there are.
  for (int i = 4; i < 1000; ++i) specs.push_back(Spec("m" + std::to_string(i)));
  s.SampleAll();
  EXPECT_EQ(s.capacity(), 8u);
}

// A runtime that answers a whole round with one request (as Kubernetes' metrics API does).
class BatchRuntime : public ScriptedRuntime {
 public:
  Capabilities capabilities() const override { return {.batch_usage = true}; }
  std::vector<Result<WorkloadUsage>> UsageOfMany(const std::vector<const EnvironmentSpec*>& specs,
                                                 std::chrono::milliseconds) override {
    ++rounds;
    asked = specs.size();
    std::vector<Result<WorkloadUsage>> out;
    for (const auto* s : specs) {
      if (s->name == "gone") {
        out.push_back(Fail(ErrorCode::kUnavailable, "metrics unavailable: no pods run"));
        continue;
      }
      WorkloadUsage u;
      u.cpu_cores = 0.25;
      u.memory_bytes = static_cast<int64_t>(s->name.size());
      out.push_back(u);
    }
    return out;
  }
  int rounds = 0;
  size_t asked = 0;
};

TEST(UsageSamplerTest, ABatchRuntimeIsAskedOncePerRound) {
  BatchRuntime rt;
  int64_t now = 1'000'000;
  std::vector<EnvironmentSpec> specs = {Spec("web"), Spec("gone"), Spec("db")};
  specs.push_back(Spec("asleep"));
  specs.back().sleeping = true;
  UsageSampler s(
      rt, [&]() -> Result<std::vector<EnvironmentSpec>> { return specs; }, {}, [&] { return now; });
  s.SampleAll();
  EXPECT_EQ(rt.rounds, 1);
  EXPECT_EQ(rt.asked, 3u);  // not the sleeping one
  EXPECT_EQ(rt.calls, 0);   // never one environment at a time
  auto web = s.Report(specs[0], false);
  ASSERT_TRUE(web.usage);
  EXPECT_EQ(web.usage->memory_bytes, 3);
  EXPECT_EQ(web.cpu_cores, 0.25);
  auto gone = s.Report(specs[1], false);
  EXPECT_FALSE(gone.usage);
  EXPECT_EQ(gone.error, "metrics unavailable: no pods run");
  EXPECT_EQ(s.Report(specs[2], false).usage->memory_bytes, 2);
  now += 15000;
  s.SampleAll();
  EXPECT_EQ(rt.rounds, 2);
  EXPECT_EQ(s.History("dev/db").size(), 2u);
}

TEST(UsageSamplerTest, CpuRateFromTwoSamples) {
  UsagePoint a{1000, {}, std::nullopt}, b{3000, {}, std::nullopt};
  a.usage.cpu_seconds = 1.0;
  b.usage.cpu_seconds = 2.0;
  EXPECT_DOUBLE_EQ(*CpuCores(a, b), 0.5);
  EXPECT_FALSE(CpuCores(b, a));  // no time forward
  UsagePoint reset{5000, {}, std::nullopt};
  reset.usage.cpu_seconds = 0.1;
  EXPECT_FALSE(CpuCores(b, reset));  // replaced workload: counter went back
  UsagePoint none{6000, {}, std::nullopt};
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

TEST(UsageSamplerTest, RatesFromCountersAndARateTheSourceReports) {
  EXPECT_DOUBLE_EQ(*PerSecond(100, 400, 2000), 150.0);
  EXPECT_FALSE(PerSecond(400, 100, 2000));  // went back: a restart reset it
  EXPECT_FALSE(PerSecond(std::nullopt, 100, 2000));
  EXPECT_FALSE(PerSecond(100, 200, 0));

  UsagePoint a{1000, {}, 10}, b{3000, {}, 70}, c{5000, {}, 5};
  a.usage.cpu_seconds = 1.0;
  b.usage.cpu_seconds = 2.0;
  a.usage.network_rx_bytes = 0;
  b.usage.network_rx_bytes = 4000;
  b.usage.memory_bytes = 42;
  b.usage.restarts = 1;
  c.usage.cpu_cores = 0.25;  // a source that reports a rate (the Kubernetes metrics API)
  auto r = ToRates({a, b, c});
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].at_ms, 1000);
  EXPECT_FALSE(r[0].cpu_cores);  // nothing before the first point
  EXPECT_FALSE(r[0].requests_per_minute);
  EXPECT_DOUBLE_EQ(*r[1].cpu_cores, 0.5);
  EXPECT_DOUBLE_EQ(*r[1].network_rx_per_second, 2000.0);
  EXPECT_FALSE(r[1].network_tx_per_second);
  EXPECT_DOUBLE_EQ(*r[1].requests_per_minute, 1800.0);  // 60 requests in 2 s
  EXPECT_EQ(r[1].memory_bytes, 42);
  EXPECT_EQ(r[1].restarts, 1);
  EXPECT_DOUBLE_EQ(*r[2].cpu_cores, 0.25);
  EXPECT_FALSE(r[2].requests_per_minute);  // the router restarted: its counter went back
}

TEST(UsageSamplerTest, RecordsTheRoutersRequestCountsAndKeepsASleepersHistory) {
  ScriptedRuntime rt;
  int64_t now = 1'000'000;
  std::vector<EnvironmentSpec> specs = {Spec("a"), Spec("b")};
  UsageSamplerOptions o;
  o.interval = std::chrono::seconds(10);
  UsageSampler s(
      rt, [&]() -> Result<std::vector<EnvironmentSpec>> { return specs; }, o, [&] { return now; });
  std::map<std::string, int64_t> hits = {{"dev/a", 5}};
  bool router_up = true;
  s.SetRequestCounter([&]() -> Result<std::map<std::string, int64_t>> {
    if (!router_up) return Fail(ErrorCode::kUnavailable, "no nginx");
    return hits;
  });
  s.SampleAll();
  now += 10000;
  hits["dev/a"] = 25;
  s.SampleAll();
  auto a = s.History("dev/a");
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[1].requests, 25);
  EXPECT_EQ(s.History("dev/b").back().requests, 0);  // no request counted yet
  EXPECT_DOUBLE_EQ(*s.HistoryRates("dev/a")[1].requests_per_minute, 120.0);

  // The router does not answer: the point has no count (no made-up zero).
  router_up = false;
  now += 10000;
  s.SampleAll();
  EXPECT_FALSE(s.History("dev/a").back().requests);
  EXPECT_FALSE(s.HistoryRates("dev/a").back().requests_per_minute);

  // Asleep: not sampled, but what it used before is kept for the charts.
  specs[0].sleeping = true;
  const int calls = rt.calls;
  now += 10000;
  s.SampleAll();
  EXPECT_EQ(rt.calls, calls + 1);  // b only
  EXPECT_EQ(s.History("dev/a").size(), 3u);
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
