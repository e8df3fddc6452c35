// Usage from the engine's one-shot stats: Docker's cgroups v2 and v1 shapes, Podman's compat
// shape, and bodies with fields missing, null or of the wrong type.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "runtime/docker/docker_api.h"

namespace berth::runtime::docker {
namespace {

using nlohmann::json;

TEST(DockerStatsTest, DockerCgroupsV2) {
  auto stats = json::parse(R"({
    "read": "2024-05-01T10:00:00.123Z",
    "cpu_stats": {"cpu_usage": {"total_usage": 2500000000, "usage_in_kernelmode": 1},
                  "system_cpu_usage": 99999, "online_cpus": 2},
    "memory_stats": {"usage": 52428800, "limit": 2097152000,
                     "stats": {"inactive_file": 10485760, "active_file": 5}},
    "networks": {"eth0": {"rx_bytes": 1000, "tx_bytes": 300},
                 "eth1": {"rx_bytes": 24, "tx_bytes": 12}}
  })");
  auto inspect = json::parse(R"({"Id": "abc", "RestartCount": 3})");
  auto u = UsageFromStats(stats, &inspect);
  ASSERT_TRUE(u.cpu_seconds);
  EXPECT_DOUBLE_EQ(*u.cpu_seconds, 2.5);
  EXPECT_EQ(u.memory_bytes, 52428800 - 10485760);  // without the inactive page cache
  EXPECT_EQ(u.memory_limit_bytes, 2097152000);
  EXPECT_EQ(u.network_rx_bytes, 1024);
  EXPECT_EQ(u.network_tx_bytes, 312);
  EXPECT_EQ(u.restarts, 3);
}

TEST(DockerStatsTest, DockerCgroupsV1) {
  auto stats = json::parse(R"({
    "cpu_stats": {"cpu_usage": {"total_usage": 1000000}},
    "memory_stats": {"usage": 4096, "limit": 8192, "stats": {"total_inactive_file": 1024}},
    "networks": {"eth0": {"rx_bytes": 1, "tx_bytes": 2}}
  })");
  auto u = UsageFromStats(stats, nullptr);
  EXPECT_DOUBLE_EQ(*u.cpu_seconds, 0.001);
  EXPECT_EQ(u.memory_bytes, 3072);
  EXPECT_EQ(u.memory_limit_bytes, 8192);
  EXPECT_EQ(u.restarts, 0);
}

TEST(DockerStatsTest, PodmanCompat) {
  // Podman 4's compat answer: no memory_stats.stats, "networks" keyed by interface, ids and
  // names beside; rootless containers without a network have no "networks" at all.
  auto stats = json::parse(R"({
    "name": "berth-default.web", "id": "0123",
    "cpu_stats": {"cpu_usage": {"total_usage": 123456789, "percpu_usage": [1, 2]},
                  "system_cpu_usage": 0, "online_cpus": 2, "throttling_data": {}},
    "memory_stats": {"usage": 7340032, "max_usage": 0, "limit": 536870912},
    "networks": {"eth0": {"rx_bytes": 5000, "rx_packets": 3, "tx_bytes": 700}}
  })");
  auto inspect = json::parse(R"({"Id": "0123", "RestartCount": 0})");
  auto u = UsageFromStats(stats, &inspect);
  EXPECT_NEAR(*u.cpu_seconds, 0.123456789, 1e-12);
  EXPECT_EQ(u.memory_bytes, 7340032);
  EXPECT_EQ(u.memory_limit_bytes, 536870912);
  EXPECT_EQ(u.network_rx_bytes, 5000);
  EXPECT_EQ(u.network_tx_bytes, 700);
  EXPECT_EQ(u.restarts, 0);

  json no_net = stats;
  no_net.erase("networks");
  auto n = UsageFromStats(no_net, &inspect);
  EXPECT_FALSE(n.network_rx_bytes);
  EXPECT_FALSE(n.network_tx_bytes);
}

TEST(DockerStatsTest, MissingNullAndWrongTypesLeaveFiguresUnset) {
  for (const char* body : {
           R"({})",
           R"({"cpu_stats": null, "memory_stats": null, "networks": null})",
           R"({"cpu_stats": {"cpu_usage": {"total_usage": "lots"}},
               "memory_stats": {"usage": -5, "limit": 0},
               "networks": {"eth0": null, "eth1": {"rx_bytes": true}}})",
           R"({"cpu_stats": [], "memory_stats": "x", "networks": []})",
           R"([1, 2, 3])",
       }) {
    SCOPED_TRACE(body);
    auto u = UsageFromStats(json::parse(body), nullptr);
    EXPECT_FALSE(u.cpu_seconds);
    EXPECT_FALSE(u.memory_bytes);
    EXPECT_FALSE(u.memory_limit_bytes);
    EXPECT_FALSE(u.network_rx_bytes);
    EXPECT_FALSE(u.network_tx_bytes);
    EXPECT_EQ(u.restarts, 0);
  }
  // A cache larger than the usage (racy counters) does not make memory negative.
  auto u = UsageFromStats(
      json::parse(R"({"memory_stats": {"usage": 100, "stats": {"inactive_file": 500}}})"), nullptr);
  EXPECT_EQ(u.memory_bytes, 100);
  auto bad_restarts = json::parse(R"({"RestartCount": "3"})");
  EXPECT_EQ(UsageFromStats(json::object(), &bad_restarts).restarts, 0);
}

}  // namespace
}  // namespace berth::runtime::docker
