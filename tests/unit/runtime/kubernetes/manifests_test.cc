#include "runtime/kubernetes/manifests.h"

#include <gtest/gtest.h>

#include "runtime/kubernetes/pod_status.h"

namespace berth::kube {
namespace {

EnvironmentSpec Spec() {
  EnvironmentSpec s;
  s.ns = "default";
  s.name = "test-java";
  s.image = "registry.local/java:1";
  s.ports = DefaultPorts();
  s.generation = 3;
  return s;
}

// Every object and pod carries the installation; no selector does (a Deployment's selector is
// immutable, and earlier releases' objects have no such label).
TEST(ManifestsTest, EveryObjectCarriesTheInstallationButNoSelector) {
  ManifestOptions o{"berth-default", "deployment", {}, {}, "0123456789abcdef"};
  const std::string key = "berth.dev/installation";
  for (const auto& m : {DeploymentManifest(Spec(), o), ReplicationControllerManifest(Spec(), o)}) {
    EXPECT_EQ(m["metadata"]["labels"][key], "0123456789abcdef") << m["kind"];
    EXPECT_EQ(m["spec"]["template"]["metadata"]["labels"][key], "0123456789abcdef");
  }
  EXPECT_FALSE(DeploymentManifest(Spec(), o)["spec"]["selector"]["matchLabels"].contains(key));
  EXPECT_FALSE(ReplicationControllerManifest(Spec(), o)["spec"]["selector"].contains(key));
  auto svc = ServiceManifest(Spec(), o);
  EXPECT_EQ(svc["metadata"]["labels"][key], "0123456789abcdef");
  EXPECT_FALSE(svc["spec"]["selector"].contains(key));
  EXPECT_EQ(ClaimManifest(Spec(), "berth-default", "fast", "1Gi",
                          "0123456789abcdef")["metadata"]["labels"][key],
            "0123456789abcdef");
  // No id (a runtime used on its own): no label, as before.
  ManifestOptions none{"berth-default", "deployment", {}, {}};
  EXPECT_FALSE(DeploymentManifest(Spec(), none)["metadata"]["labels"].contains(key));
}

TEST(ManifestsTest, ReplicationControllerAsTheOriginal) {
  ManifestOptions o{
      "berth-default", "rc", {"harbor"}, {VolumeMount::Kind::kHostPath, "/mnt/test-java", "/apps"}};
  auto rc = ReplicationControllerManifest(Spec(), o);
  EXPECT_EQ(rc["kind"], "ReplicationController");
  EXPECT_EQ(rc["metadata"]["namespace"], "berth-default");
  EXPECT_EQ(rc["metadata"]["labels"]["app.kubernetes.io/managed-by"], "berth");
  EXPECT_EQ(rc["metadata"]["labels"]["berth.dev/generation"], "3");
  EXPECT_FALSE(rc["spec"]["selector"].contains("berth.dev/generation"));
  const auto& pod = rc["spec"]["template"]["spec"];
  EXPECT_EQ(pod["dnsPolicy"], "ClusterFirst");
  EXPECT_EQ(pod["imagePullSecrets"][0]["name"], "harbor");
  EXPECT_EQ(pod["volumes"][0]["name"], "vol-test-java");
  EXPECT_EQ(pod["volumes"][0]["hostPath"]["path"], "/mnt/test-java");
  const auto& c = pod["containers"][0];
  EXPECT_EQ(c["name"], "test-java");
  EXPECT_EQ(c["imagePullPolicy"], "Always");
  EXPECT_EQ(c["volumeMounts"][0]["mountPath"], "/apps");
  EXPECT_EQ(c["resources"]["limits"]["cpu"], "500m");
  EXPECT_EQ(c["resources"]["limits"]["memory"], "2000Mi");
  EXPECT_EQ(c["resources"]["requests"]["cpu"], "10m");
  EXPECT_EQ(c["resources"]["requests"]["memory"], "100Mi");
  EXPECT_EQ(c["ports"][0]["containerPort"], 22);
  EXPECT_EQ(rc["spec"]["template"]["metadata"]["annotations"][kRestartAnnotation], "3");
}

TEST(ManifestsTest, DeploymentClaimAndService) {
  auto s = Spec();
  s.ports[1].host_port = 30080;
  ManifestOptions o{"ns", "deployment", {}, {VolumeMount::Kind::kClaim, "vol-test-java", "/apps"}};
  auto d = DeploymentManifest(s, o);
  EXPECT_EQ(d["apiVersion"], "apps/v1");
  EXPECT_EQ(d["spec"]["strategy"]["type"], "Recreate");
  EXPECT_EQ(d["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"],
            "vol-test-java");
  EXPECT_FALSE(d["spec"]["template"]["spec"].contains("imagePullSecrets"));
  auto svc = ServiceManifest(s, o);
  EXPECT_EQ(svc["spec"]["type"], "NodePort");
  EXPECT_FALSE(svc["spec"]["ports"][0].contains("nodePort"));  // the API server allocates it
  EXPECT_EQ(svc["spec"]["ports"][1]["nodePort"], 30080);
  auto pvc = ClaimManifest(s, "ns", "gluster", "1Gi");
  EXPECT_EQ(pvc["metadata"]["name"], "vol-test-java");
  EXPECT_EQ(pvc["spec"]["storageClassName"], "gluster");
  // No volume at all when the spec has no mount.
  s.volume_mount.clear();
  EXPECT_FALSE(DeploymentManifest(s, o)["spec"]["template"]["spec"].contains("volumes"));
}

TEST(ManifestsTest, ASleepingSpecHasZeroReplicasAndKeepsEverythingElse) {
  auto s = Spec();
  ManifestOptions o{"ns", "deployment", {}, {VolumeMount::Kind::kClaim, "vol-test-java", "/apps"}};
  auto awake = DeploymentManifest(s, o);
  s.sleeping = true;
  auto asleep = DeploymentManifest(s, o);
  EXPECT_EQ(awake["spec"]["replicas"], 1);
  EXPECT_EQ(asleep["spec"]["replicas"], 0);
  EXPECT_EQ(asleep["spec"]["template"], awake["spec"]["template"]);
  EXPECT_EQ(ReplicationControllerManifest(s, o)["spec"]["replicas"], 0);
  EXPECT_EQ(ServiceManifest(s, o), ServiceManifest(Spec(), o));  // NodePorts stay
}

TEST(ManifestsTest, Selector) {
  EXPECT_EQ(SelectorString("a", "b"),
            "app.kubernetes.io/managed-by=berth,berth.dev/namespace=a,berth.dev/name=b");
}

nlohmann::json Pod(const std::string& uid, int64_t gen, const std::string& phase,
                   nlohmann::json extra_status = nlohmann::json::object()) {
  nlohmann::json p = {
      {"metadata", {{"uid", uid}, {"labels", {{"berth.dev/generation", std::to_string(gen)}}}}},
      {"status", {{"phase", phase}, {"hostIP", "127.0.0.1"}}}};
  for (auto& [k, v] : extra_status.items()) p["status"][k] = v;
  return p;
}

TEST(PodStatusTest, RunningOnlyForTheWantedGeneration) {
  std::map<std::string, nlohmann::json> pods = {{"a", Pod("a", 1, "Running")}};
  auto s = SummarizePods(pods, 1, nullptr);
  EXPECT_EQ(s.phase, Phase::kRunning);
  EXPECT_EQ(s.host_ip, "127.0.0.1");
  EXPECT_EQ(s.running_generation, 1);
  auto next = SummarizePods(pods, 2, nullptr);  // rebuild asked for 2: not there yet
  EXPECT_EQ(next.phase, Phase::kPending);
  EXPECT_EQ(next.running_generation, 1);
  pods["b"] = Pod("b", 2, "Pending");
  EXPECT_EQ(SummarizePods(pods, 2, nullptr).reason, "ContainerCreating");
}

TEST(PodStatusTest, FailureReasons) {
  nlohmann::json waiting = {
      {"containerStatuses",
       {{{"name", "x"},
         {"state",
          {{"waiting",
            {{"reason", "ImagePullBackOff"}, {"message", "Back-off pulling image"}}}}}}}}};
  auto s = SummarizePods({{"a", Pod("a", 1, "Pending", waiting)}}, 1, nullptr);
  EXPECT_EQ(s.phase, Phase::kFailed);
  EXPECT_EQ(s.reason, "ImagePullBackOff");
  EXPECT_EQ(s.message, "Back-off pulling image");

  nlohmann::json unsched = {{"conditions",
                             {{{"type", "PodScheduled"},
                               {"status", "False"},
                               {"reason", "Unschedulable"},
                               {"message", "0/1 nodes are available: 1 Insufficient cpu."}}}}};
  auto u = SummarizePods({{"a", Pod("a", 1, "Pending", unsched)}}, 1, nullptr);
  EXPECT_EQ(u.phase, Phase::kPending);
  EXPECT_EQ(u.reason, "Unschedulable");
  EXPECT_NE(u.message.find("Insufficient cpu"), std::string::npos);

  nlohmann::json rc = {{"status",
                        {{"conditions",
                          {{{"type", "ReplicaFailure"},
                            {"status", "True"},
                            {"reason", "FailedCreate"},
                            {"message", "forbidden"}}}}}}};
  auto f = SummarizePods({}, 1, rc);
  EXPECT_EQ(f.reason, "FailedCreate");
  EXPECT_EQ(f.message, "forbidden");
}

TEST(PodStatusTest, TerminatingPodsDoNotCount) {
  auto p = Pod("a", 1, "Running");
  p["metadata"]["deletionTimestamp"] = "2026-11-26T00:00:00Z";
  auto s = SummarizePods({{"a", p}}, 1, nullptr);
  EXPECT_EQ(s.phase, Phase::kPending);
  EXPECT_EQ(s.live_pods, 0);
  EXPECT_EQ(s.all_pods, 1);
}

TEST(PodStatusTest, NodePorts) {
  nlohmann::json svc = {
      {"spec",
       {{"ports",
         {{{"name", "ssh"}, {"nodePort", 31498}}, {{"name", "http"}, {"nodePort", 30879}}}}}}};
  auto p = NodePorts(svc);
  EXPECT_EQ(p["ssh"], 31498);
  EXPECT_EQ(p["http"], 30879);
}

}  // namespace
}  // namespace berth::kube
