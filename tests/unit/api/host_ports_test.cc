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

// The spec's half of moving a port another process took after allocation (the controller asks
// for it after a failed start): only held auto-assigned ports of the named incarnation move,
// each in one transaction with its new reservation and the old one's release.
TEST_F(HostPortsTest, HeldAutoAssignedPortsMoveAndPinnedOnesStay) {
  std::set<int> held;
  EnvironmentService service(*st, cfg, [&](int port) { return held.count(port) > 0; });
  auto v = service.Create(Spec("web", 31150));
  ASSERT_TRUE(v) << v.error().message;
  const int ssh = v->spec.PortFor("ssh"), https = v->spec.PortFor("https");

  // Nothing held: nothing moves, nothing is written.
  auto none = service.MoveHeldPorts("default", "web", v->spec.uid);
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_TRUE(none->empty());

  held = {ssh, 31150};  // an auto-assigned port and the pinned one
  // Another incarnation's request (a stale controller pass) changes nothing.
  auto stale = service.MoveHeldPorts("default", "web", "not-" + v->spec.uid);
  ASSERT_TRUE(stale) << stale.error().message;
  EXPECT_TRUE(stale->empty());

  auto moved = service.MoveHeldPorts("default", "web", v->spec.uid);
  ASSERT_TRUE(moved) << moved.error().message;
  ASSERT_EQ(moved->size(), 1u);
  EXPECT_EQ((*moved)[0].name, "ssh");
  EXPECT_EQ((*moved)[0].from, ssh);
  const int to = (*moved)[0].to;
  EXPECT_NE(to, ssh);
  EXPECT_GE(to, cfg.port_min);
  EXPECT_LE(to, cfg.port_max);
  EXPECT_FALSE(held.count(to));
  EXPECT_EQ((*moved)[0].Describe(), std::to_string(ssh) + " (ssh) -> " + std::to_string(to));

  auto after = service.Get("default", "web");
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_EQ(after->spec.PortFor("ssh"), to);
  EXPECT_EQ(after->spec.PortFor("http"), 31150);  // pinned: the user's to free
  EXPECT_EQ(after->spec.PortFor("https"), https);
  EXPECT_EQ(after->spec.generation, v->spec.generation);
  auto old_claim = st->Get(store::keys::Port(ssh));
  ASSERT_TRUE(old_claim);
  EXPECT_FALSE(*old_claim);
  auto new_claim = st->Get(store::keys::Port(to));
  ASSERT_TRUE(new_claim && *new_claim);
  EXPECT_EQ((*new_claim)->value, "default/web");

  // Being deleted: the API moves nothing any more.
  held.insert(to);
  ASSERT_TRUE(service.Delete("default", "web", false));
  auto deleting = service.MoveHeldPorts("default", "web", v->spec.uid);
  ASSERT_TRUE(deleting) << deleting.error().message;
  EXPECT_TRUE(deleting->empty());
}

// A reservation the environment no longer owns (another writer's) is not released by a move.
TEST_F(HostPortsTest, AMoveReleasesOnlyItsOwnReservation) {
  std::set<int> held;
  EnvironmentService service(*st, cfg, [&](int port) { return held.count(port) > 0; });
  auto v = service.Create(Spec("web", 31150));
  ASSERT_TRUE(v) << v.error().message;
  const int ssh = v->spec.PortFor("ssh");
  ASSERT_TRUE(st->Put(store::keys::Port(ssh), "default/other"));
  held = {ssh};
  auto moved = service.MoveHeldPorts("default", "web", v->spec.uid);
  ASSERT_TRUE(moved) << moved.error().message;
  ASSERT_EQ(moved->size(), 1u);
  auto claim = st->Get(store::keys::Port(ssh));
  ASSERT_TRUE(claim && *claim);
  EXPECT_EQ((*claim)->value, "default/other");
}

}  // namespace
}  // namespace berth::api
