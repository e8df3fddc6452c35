// Host-port allocation follows the runtime's capabilities (allocates_host_ports), not its name:
// Berth picks ports a Docker engine publishes; a cluster assigns NodePorts itself.
#include <gtest/gtest.h>

#include <set>

#include "api/environment_service.h"
#include "util/fs.h"

namespace berth::api {
namespace {

class HostPortsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::OpenStore("sqlite://" + dir.path() + "/b.db");
    ASSERT_TRUE(s) << s.error().message;
    st = std::move(*s);
    cfg = DefaultConfig();
    cfg.port_min = 31100;
    cfg.port_max = 31199;
  }
  static EnvironmentSpec Spec(const std::string& name, int pinned_http) {
    EnvironmentSpec s;
    s.name = name;
    s.image = "localhost/app:1";
    s.ports = DefaultPorts();
    for (auto& p : s.ports)
      if (p.name == "http") p.host_port = pinned_http;
    return s;
  }
  util::TempDir dir{"berth-hostports"};
  std::unique_ptr<store::Store> st;
  Config cfg;
};

TEST_F(HostPortsTest, BerthAllocatesWhenTheRuntimePublishesWhatItPicks) {
  runtime::Capabilities docker;  // the defaults: allocates_host_ports
  EnvironmentService service(*st, cfg, {}, docker);
  auto v = service.Create(Spec("web", 31150));
  ASSERT_TRUE(v) << v.error().message;
  std::set<int> ports;
  for (const auto& p : v->spec.ports) {
    EXPECT_GE(p.host_port, cfg.port_min) << p.name;
    EXPECT_LE(p.host_port, cfg.port_max) << p.name;
    EXPECT_EQ(p.auto_assigned, p.name != "http") << p.name;
    ports.insert(p.host_port);
  }
  EXPECT_EQ(ports.size(), v->spec.ports.size());
  EXPECT_TRUE(ports.count(31150));
}

TEST_F(HostPortsTest, OnlyPinnedPortsAreReservedWhenTheClusterAssignsThem) {
  runtime::Capabilities kubernetes;
  kubernetes.allocates_host_ports = false;  // NodePorts
  EnvironmentService service(*st, cfg, {}, kubernetes);
  auto v = service.Create(Spec("web", 31150));
  ASSERT_TRUE(v) << v.error().message;
  for (const auto& p : v->spec.ports) {
    EXPECT_EQ(p.host_port, p.name == "http" ? 31150 : 0) << p.name;
  }
  // The pinned port is still reserved: a second environment cannot take it.
  auto dup = service.Create(Spec("other", 31150));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists);
}

}  // namespace
}  // namespace berth::api
