// Reading the resource metrics API: CPU quantities in every unit metrics-server writes, and the
// sum over an environment's PodMetrics, refusing what it cannot read rather than miscounting.
#include "runtime/kubernetes/pod_metrics.h"

#include <gtest/gtest.h>

#include <string>

namespace berth::kube {
namespace {

TEST(PodMetricsTest, CpuQuantitiesInEveryUnit) {
  EXPECT_DOUBLE_EQ(*CpuQuantityCores("123456789n"), 0.123456789);
  EXPECT_DOUBLE_EQ(*CpuQuantityCores("250u"), 0.00025);
  EXPECT_DOUBLE_EQ(*CpuQuantityCores("12m"), 0.012);
  EXPECT_DOUBLE_EQ(*CpuQuantityCores("2"), 2.0);
  EXPECT_DOUBLE_EQ(*CpuQuantityCores("0.5"), 0.5);
  EXPECT_DOUBLE_EQ(*CpuQuantityCores("0"), 0.0);
  for (const char* bad : {"", "n", "-1", "1e3", "1.2.3", "12k", "1 m", ".", "0x10", "+5"})
    EXPECT_FALSE(CpuQuantityCores(bad)) << bad;
  EXPECT_FALSE(CpuQuantityCores(std::string(65, '9')));  // bounded before it is read
}

TEST(PodMetricsTest, MemoryQuantitiesInEveryUnit) {
  EXPECT_EQ(*MemoryQuantityBytes("10240Ki"), 10240 * 1024);
  EXPECT_EQ(*MemoryQuantityBytes("6Mi"), 6 * 1024 * 1024);
  EXPECT_EQ(*MemoryQuantityBytes("0"), 0);  // a container that has not been measured yet
  EXPECT_EQ(*MemoryQuantityBytes("123456"), 123456);
  EXPECT_EQ(*MemoryQuantityBytes("1.5Gi"), int64_t{3} << 29);
  EXPECT_EQ(*MemoryQuantityBytes("2k"), 2000);
  EXPECT_EQ(*MemoryQuantityBytes("7Ei"), int64_t{7} << 60);
  for (const char* bad : {"", "Ki", "-1Ki", "1e6", "12Q", "1.2.3Mi", "8Ei", "10E", " 1Mi"})
    EXPECT_FALSE(MemoryQuantityBytes(bad)) << bad;
}

TEST(PodMetricsTest, SumsEveryContainerOfEveryPod) {
  auto list = nlohmann::json::parse(R"({"kind":"PodMetricsList","items":[
    {"metadata":{"name":"web-a"},"containers":[
      {"name":"app","usage":{"cpu":"100m","memory":"1Mi"}},
      {"name":"side","usage":{"cpu":"5000000n","memory":"512Ki"}}]},
    {"metadata":{"name":"web-b"},"containers":[{"name":"app","usage":{"cpu":"0","memory":"1024"}}]}]})");
  auto s = SumPodMetrics(list);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->pods, 2);
  EXPECT_NEAR(s->cpu_cores, 0.105, 1e-12);
  EXPECT_EQ(s->memory_bytes, 1048576 + 524288 + 1024);

  // Two pods at the top of the range would wrap around: refused, not summed.
  auto huge = SumPodMetrics(nlohmann::json::parse(R"({"items":[
    {"metadata":{"name":"a"},"containers":[{"usage":{"cpu":"1","memory":"7Ei"}}]},
    {"metadata":{"name":"b"},"containers":[{"usage":{"cpu":"1","memory":"7Ei"}}]}]})"));
  EXPECT_FALSE(huge);

  auto empty = SumPodMetrics(nlohmann::json::parse(R"({"items":[]})"));
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->pods, 0);
}

TEST(PodMetricsTest, WhatItCannotReadIsAnErrorNamingThePod) {
  for (
      const char* body : {
          R"({})",
          R"({"items":{}})",
          R"({"items":[{"metadata":{"name":"p1"}}]})",
          R"({"items":[{"metadata":{"name":"p1"},"containers":[{"usage":{"cpu":"lots","memory":"1Mi"}}]}]})",
          R"({"items":[{"metadata":{"name":"p1"},"containers":[{"usage":{"cpu":"1m","memory":"-5"}}]}]})",
          R"({"items":[{"metadata":{"name":"p1"},"containers":[{"usage":{"cpu":1,"memory":"1Mi"}}]}]})",
      }) {
    auto s = SumPodMetrics(nlohmann::json::parse(body));
    EXPECT_FALSE(s) << body;
    if (!s && std::string(body).find("p1") != std::string::npos) {
      EXPECT_NE(s.error().message.find("p1"), std::string::npos) << s.error().message;
    }
  }
}

}  // namespace
}  // namespace berth::kube
