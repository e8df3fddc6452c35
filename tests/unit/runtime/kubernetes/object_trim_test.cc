// The watch caches keep objects trimmed: what every cached reader derives from an object
// (the status summary, node ports, generation, ownership, termination) is the same before and
// after, on objects as a real API server sends them, and the trimmed text is much smaller.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "runtime/kubernetes/object_cache.h"
#include "runtime/kubernetes/pod_status.h"

namespace berth::kube {
namespace {

using nlohmann::json;

// A pod as kube-apiserver 1.36 returned it (kwok node), with a waiting container.
json RealPod(const std::string& phase, const json& container_state) {
  return json::
      parse(R"({"apiVersion":"v1","kind":"Pod","metadata":{"creationTimestamp":"2026-12-01T00:06:48Z",
  "generateName":"s0-684dc65676-","generation":1,"labels":{"app.kubernetes.io/managed-by":"berth",
  "berth.dev/generation":"3","berth.dev/installation":"9812e59808796109","berth.dev/name":"s0",
  "berth.dev/namespace":"default","pod-template-hash":"684dc65676"},"name":"s0-684dc65676-n8m8v",
  "namespace":"default","ownerReferences":[{"apiVersion":"apps/v1","blockOwnerDeletion":true,
  "controller":true,"kind":"ReplicaSet","name":"s0-684dc65676","uid":"8481f303-ac86-40ef-bcd0-88395e802e04"}],
  "managedFields":[{"manager":"kube-controller-manager","operation":"Update","apiVersion":"v1",
  "time":"2026-12-01T00:06:48Z","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{}}}],
  "annotations":{"kwok.x-k8s.io/node":"fake"},
  "resourceVersion":"279","uid":"c54ec3c9-f6f9-4b51-a02e-453c974df205"},
  "spec":{"nodeName":"kwok-node-0","containers":[{"name":"s0","image":"registry.invalid/berth/app:1"}]},
  "status":{"conditions":[{"lastProbeTime":null,"lastTransitionTime":"2026-12-01T00:06:48Z","status":"True","type":"Initialized"},
  {"lastProbeTime":null,"lastTransitionTime":"2026-12-01T00:06:48Z","status":"False","type":"Ready"},
  {"lastProbeTime":null,"lastTransitionTime":"2026-12-01T00:06:48Z","status":"True","type":"PodScheduled"}],
  "containerStatuses":[{"image":"registry.invalid/berth/app:1","imageID":"","lastState":{},"name":"s0",
  "ready":false,"restartCount":2,"started":false,"containerID":"containerd://abc"}],
  "hostIP":"127.0.0.1","hostIPs":[{"ip":"127.0.0.1"}],"podIP":"10.244.0.2","podIPs":[{"ip":"10.244.0.2"}],
  "qosClass":"Burstable","startTime":"2026-12-01T00:06:48Z"}})")
          .patch(json::array({{{"op", "add"}, {"path", "/status/phase"}, {"value", phase}},
                              {{"op", "add"},
                               {"path", "/status/containerStatuses/0/state"},
                               {"value", container_state}}}));
}

json Trimmed(json obj, void (*trim)(json&)) {
  trim(obj);
  return obj;
}

void ExpectSameSummary(const json& pod, const json& controller) {
  auto a = SummarizePods({{"u", pod}}, 3, controller);
  auto b = SummarizePods({{"u", Trimmed(pod, TrimPod)}}, 3, Trimmed(controller, TrimWorkload));
  EXPECT_EQ(a.phase, b.phase);
  EXPECT_EQ(a.reason, b.reason);
  EXPECT_EQ(a.message, b.message);
  EXPECT_EQ(a.host_ip, b.host_ip);
  EXPECT_EQ(a.running_generation, b.running_generation);
  EXPECT_EQ(a.live_pods, b.live_pods);
  EXPECT_EQ(a.all_pods, b.all_pods);
}

TEST(ObjectTrim, PodsSummarizeTheSameAndShrink) {
  const json deployment = json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{
  "creationTimestamp":"2026-12-01T00:06:48Z","generation":1,"labels":{"berth.dev/generation":"3"},
  "name":"s0","namespace":"default","resourceVersion":"286","uid":"330d85f6"},
  "spec":{"progressDeadlineSeconds":600,"replicas":1,"revisionHistoryLimit":10,"selector":{"matchLabels":{"a":"b"}},
  "strategy":{"type":"Recreate"},"template":{"spec":{"containers":[{"name":"s0"}]}}},
  "status":{"conditions":[{"lastTransitionTime":"2026-12-01T00:06:48Z","lastUpdateTime":"2026-12-01T00:06:48Z",
  "message":"pods \"s0\" is forbidden: exceeded quota","reason":"FailedCreate","status":"True","type":"ReplicaFailure"}],
  "observedGeneration":1,"replicas":1}})");
  const json states[] = {
      json::parse(R"({"running":{"startedAt":"2026-12-01T00:06:48Z"}})"),
      json::parse(
          R"({"waiting":{"reason":"ImagePullBackOff","message":"Back-off pulling image"}})"),
      json::parse(R"({"waiting":{"reason":"CrashLoopBackOff","message":"back-off 5m0s"}})"),
      json::parse(R"({"waiting":{"reason":"ContainerCreating"}})")};
  for (const auto& st : states)
    for (const char* phase : {"Running", "Pending", "Failed"}) {
      SCOPED_TRACE(std::string(phase) + " " + st.dump());
      auto pod = RealPod(phase, st);
      ExpectSameSummary(pod, nullptr);
      ExpectSameSummary(pod, deployment);
      auto gone = pod;
      gone["metadata"]["deletionTimestamp"] = "2026-12-01T00:07:00Z";
      ExpectSameSummary(gone, deployment);
      EXPECT_EQ(Terminating(Trimmed(gone, TrimPod)), true);
      EXPECT_EQ(GenerationOf(Trimmed(pod, TrimPod)), GenerationOf(pod));
    }
  // Unschedulable: the scheduler's condition message is what the user reads.
  auto unsched = RealPod("Pending", json::object());
  unsched["spec"].erase("nodeName");
  unsched["status"]["conditions"][2] = {{"type", "PodScheduled"},
                                        {"status", "False"},
                                        {"reason", "Unschedulable"},
                                        {"message", "0/1 nodes are available"},
                                        {"lastTransitionTime", "2026-12-01T00:06:48Z"}};
  ExpectSameSummary(unsched, nullptr);

  auto pod = RealPod("Running", states[0]);
  auto small = Trimmed(pod, TrimPod);
  EXPECT_EQ(small["metadata"]["labels"], pod["metadata"]["labels"]);
  EXPECT_EQ(small["metadata"]["uid"], pod["metadata"]["uid"]);
  EXPECT_EQ(small["metadata"]["resourceVersion"], pod["metadata"]["resourceVersion"]);
  EXPECT_LT(small.dump().size() * 2, pod.dump().size());
  auto wl = Trimmed(deployment, TrimWorkload);
  EXPECT_EQ(wl["spec"], json({{"replicas", 1}}));
  EXPECT_EQ(GenerationOf(wl), GenerationOf(deployment));
}

TEST(ObjectTrim, ServicesKeepTheirNodePorts) {
  const json svc = json::parse(R"({"apiVersion":"v1","kind":"Service","metadata":{
  "creationTimestamp":"2026-12-01T00:06:48Z","labels":{"berth.dev/installation":"9812e59808796109"},
  "name":"s0","namespace":"default","resourceVersion":"268","uid":"3f0957f6"},"spec":{"clusterIP":"10.0.86.13",
  "clusterIPs":["10.0.86.13"],"externalTrafficPolicy":"Cluster","internalTrafficPolicy":"Cluster",
  "ipFamilies":["IPv4"],"ipFamilyPolicy":"SingleStack","ports":[{"name":"ssh","nodePort":27337,"port":22,
  "protocol":"TCP","targetPort":22},{"name":"http","nodePort":40554,"port":80,"protocol":"TCP","targetPort":80}],
  "selector":{"berth.dev/name":"s0"},"sessionAffinity":"None","type":"NodePort"},"status":{"loadBalancer":{}}})");
  auto small = Trimmed(svc, TrimService);
  EXPECT_EQ(NodePorts(small), NodePorts(svc));
  EXPECT_EQ(NodePorts(small).size(), 2u);
  EXPECT_EQ(small["metadata"]["labels"], svc["metadata"]["labels"]);
  EXPECT_LT(small.dump().size() * 3, svc.dump().size() * 2);
}

}  // namespace
}  // namespace berth::kube
