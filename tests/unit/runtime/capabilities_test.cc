// The runtimes' declared capabilities, which callers branch on instead of runtime names, and the
// registry that constructs a runtime from `[runtime] kind`.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "berth/runtime.h"
#include "runtime/runtime_registry.h"
#include "util/fs.h"

namespace berth::runtime {
namespace {

Config DockerConfig(const std::string& docker_host) {
  Config c = DefaultConfig();
  c.runtime = "docker";
  c.docker_host = docker_host;
  return c;
}

TEST(RuntimeCapabilitiesTest, ALocalDockerEngineBindsHostDirsAndPortsOnThisHost) {
  auto rt = MakeRuntime(DockerConfig("unix:///run/berth-test-no-such.sock"));
  ASSERT_TRUE(rt) << rt.error().message;
  const Capabilities c = (*rt)->capabilities();
  EXPECT_EQ(c.host_dir_mount, VolumeMount::Kind::kBind);
  EXPECT_TRUE(c.allocates_host_ports);  // Berth picks the published ports
  EXPECT_TRUE(c.local_host_ports);      // ... on this host, so a bind probe tells a busy one
  EXPECT_TRUE(c.probe_http);            // and the controller can reach them
}

TEST(RuntimeCapabilitiesTest, ARemoteDockerEnginesPortsAreNotThisHosts) {
  auto rt = MakeRuntime(DockerConfig("tcp://192.0.2.1:2375"));
  ASSERT_TRUE(rt) << rt.error().message;
  const Capabilities c = (*rt)->capabilities();
  EXPECT_EQ(c.host_dir_mount, VolumeMount::Kind::kBind);
  EXPECT_TRUE(c.allocates_host_ports);
  EXPECT_FALSE(c.local_host_ports);
  EXPECT_TRUE(c.probe_http);
}

TEST(RuntimeCapabilitiesTest, KubernetesMountsHostPathsAndTheClusterAssignsNodePorts) {
  util::TempDir dir("berth-caps");
  const std::string kubeconfig = dir.path() + "/kubeconfig";
  ASSERT_TRUE(util::WriteFileAtomic(kubeconfig, R"(apiVersion: v1
kind: Config
current-context: c
clusters:
- name: c
  cluster:
    server: https://192.0.2.1:6443
users:
- name: u
  user:
    token: t
contexts:
- name: c
  context:
    cluster: c
    user: u
)"));
  Config cfg = DefaultConfig();
  cfg.runtime = "kubernetes";
  cfg.kubeconfig = kubeconfig;
  auto rt = MakeRuntime(cfg);  // nothing connects yet
  ASSERT_TRUE(rt) << rt.error().message;
  const Capabilities c = (*rt)->capabilities();
  EXPECT_EQ(c.host_dir_mount, VolumeMount::Kind::kHostPath);  // a path on every node
  EXPECT_FALSE(c.allocates_host_ports);                       // NodePorts
  EXPECT_FALSE(c.local_host_ports);
  EXPECT_FALSE(c.probe_http);  // readiness is the pod's
}

TEST(RuntimeCapabilitiesTest, TheDefaultsAreThoseOfARemoteDockerLikeEngine) {
  const Capabilities c;
  EXPECT_EQ(c.host_dir_mount, VolumeMount::Kind::kBind);
  EXPECT_TRUE(c.allocates_host_ports);
  EXPECT_FALSE(c.local_host_ports);
  EXPECT_FALSE(c.probe_http);
}

TEST(RuntimeRegistryTest, UnknownRuntimeIsInvalidAndNamesTheKnownOnes) {
  Config c = DefaultConfig();
  c.runtime = "lxd";
  auto rt = MakeRuntime(c);
  ASSERT_FALSE(rt);
  EXPECT_EQ(rt.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(rt.error().message.find("docker, kubernetes"), std::string::npos) << rt.error().message;
}

TEST(RuntimeRegistryTest, MoreRuntimesCanBeRegistered) {
  auto names = RuntimeNames();
  for (const char* builtin : {"docker", "kubernetes"})
    EXPECT_NE(std::find(names.begin(), names.end(), builtin), names.end()) << builtin;
  int made = 0;
  auto reg = RegisterRuntime("test-runtime", [&](const Config&) {
    ++made;
    return MakeRuntime(DockerConfig("tcp://192.0.2.1:2375"));
  });
  ASSERT_TRUE(reg) << reg.error().message;
  Config c = DefaultConfig();
  c.runtime = "test-runtime";
  auto rt = MakeRuntime(c);
  ASSERT_TRUE(rt) << rt.error().message;
  EXPECT_EQ(made, 1);
  auto dup = RegisterRuntime("docker", [](const Config& c) { return MakeRuntime(c); });
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists);
  EXPECT_FALSE(RegisterRuntime("", [](const Config& c) { return MakeRuntime(c); }));
}

}  // namespace
}  // namespace berth::runtime
