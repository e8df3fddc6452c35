// The Kubernetes backend against a real control plane (tests/support/k8s): kube-apiserver,
// controller-manager, scheduler and kwok nodes with InternalIP 127.0.0.1.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include "berth/config.h"
#include "net/http_client.h"
#include "runtime/kubernetes/client.h"
#include "runtime/kubernetes/dns.h"
#include "runtime/kubernetes/kubernetes_runtime.h"
#include "runtime/kubernetes/manifests.h"
#include "runtime/kubernetes/object_cache.h"
#include "support/k8s/control_plane.h"
#include "support/ports.h"
#include "unit/runtime/kubernetes/corefile_fixture.h"
#include "util/base64.h"
#include "util/fs.h"
#include "util/process.h"
#include "util/strings.h"

namespace berth::kube {
namespace {

using testing::ControlPlane;
using namespace std::chrono_literals;

// One control plane for the whole binary: starting one takes tens of seconds.
ControlPlane* g_cp = nullptr;
std::string g_start_error;
std::string
    g_runtime_kubeconfig;  // user berth-runtime, bound only to deploy/kubernetes/serve/rbac.yaml

class ControlPlaneEnv : public ::testing::Environment {
 public:
  void SetUp() override {
    if (ControlPlane::SkipRequested()) return;
    testing::ControlPlaneOptions o;
    // Debugging aid: only etcd + kube-apiserver (workload tests then fail, as they must).
    if (std::getenv("BERTH_K8S_APISERVER_ONLY")) o.controllers = o.kwok = false;
    if (std::getenv("BERTH_K8S_NO_KWOK")) o.kwok = false;
    auto cp = ControlPlane::Start(o);
    if (!cp) {
      g_start_error = cp.error().message;
      return;
    }
    cp_ = std::move(*cp);
    g_cp = cp_.get();
    // The RBAC manifest we ship, bound to a certificate user as well as its ServiceAccount.
    auto rbac =
        util::ReadFile(std::string(BERTH_SOURCE_DIR) + "/deploy/kubernetes/serve/rbac.yaml");
    if (!rbac) {
      g_start_error = rbac.error().message;
      return;
    }
    if (auto s = g_cp->ApplyManifest(*rbac); !s) {
      g_start_error = s.error().message;
      return;
    }
    if (auto s = g_cp->ApplyManifest(R"(apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: berth-runtime-user}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: berth}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: berth-runtime}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: berth-dns-user, namespace: kube-system}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: berth-dns}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: berth-runtime}]
)");
        !s) {
      g_start_error = s.error().message;
      return;
    }
    auto kc = g_cp->UserKubeconfig("berth-runtime", {"berth-operators"});
    if (!kc) {
      g_start_error = kc.error().message;
      return;
    }
    g_runtime_kubeconfig = *kc;
  }
  void TearDown() override { cp_.reset(); }

 private:
  std::unique_ptr<ControlPlane> cp_;
};

const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new ControlPlaneEnv);

#define REQUIRE_CONTROL_PLANE()                                                        \
  do {                                                                                 \
    if (ControlPlane::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_KUBERNETES=1"; \
    ASSERT_NE(g_cp, nullptr) << "control plane did not start: " << g_start_error;      \
    ASSERT_FALSE(g_runtime_kubeconfig.empty()) << g_start_error;                       \
  } while (0)

Config RuntimeConfig(const std::string& kubeconfig) {
  Config c;
  c.kubeconfig = kubeconfig;
  c.kube_namespace_prefix = "berth-";
  return c;
}

std::unique_ptr<KubernetesRuntime> MakeRuntime(const Config& c) {
  auto rt = MakeKubernetesRuntime(c);
  EXPECT_TRUE(rt) << rt.error().message;
  if (!rt) return nullptr;
  return std::unique_ptr<KubernetesRuntime>(static_cast<KubernetesRuntime*>(rt->release()));
}

EnvironmentSpec Spec(const std::string& name, const std::string& controller = "") {
  EnvironmentSpec s;
  s.ns = "team";
  s.name = name;
  s.image = "registry.local/dev/java:1";
  s.ports = DefaultPorts();
  s.controller = controller;
  return s;
}

KubeClient Admin() {
  return KubeClient(g_cp->AdminConnection());
}

int PodsWithGeneration(KubeClient& admin, const std::string& kns, const std::string& name,
                       int64_t gen, int* total = nullptr) {
  auto pods = admin.List("/api/v1/namespaces/" + kns + "/pods", SelectorString("team", name));
  if (!pods) return -1;
  int n = 0;
  if (total) *total = int((*pods)["items"].size());
  for (const auto& p : (*pods)["items"])
    if (!p["metadata"].contains("deletionTimestamp") && GenerationOf(p) == gen) ++n;
  return n;
}

TEST(KubernetesRuntimeTest, DeploymentCreateInspectRebuildDelete) {
  REQUIRE_CONTROL_PLANE();
  auto rt = MakeRuntime(RuntimeConfig(g_runtime_kubeconfig));
  ASSERT_NE(rt, nullptr);
  auto spec = Spec("web");
  std::vector<std::string> progress;
  auto applied =
      rt->Apply(spec, VolumeMount{}, [&](const std::string& m) { progress.push_back(m); });
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_FALSE(progress.empty());

  // Read back what the API server stored.
  auto admin = Admin();
  auto dep = admin.Get("/apis/apps/v1/namespaces/berth-team/deployments/web");
  ASSERT_TRUE(dep) << dep.error().message;
  EXPECT_EQ((*dep)["metadata"]["labels"]["app.kubernetes.io/managed-by"], "berth");
  EXPECT_EQ((*dep)["metadata"]["labels"]["berth.dev/namespace"], "team");
  EXPECT_EQ((*dep)["metadata"]["labels"]["berth.dev/name"], "web");
  EXPECT_EQ((*dep)["metadata"]["labels"]["berth.dev/generation"], "1");
  const auto& pod = (*dep)["spec"]["template"]["spec"];
  EXPECT_EQ(pod["dnsPolicy"], "ClusterFirst");
  EXPECT_EQ(pod["volumes"][0]["name"], "vol-web");
  EXPECT_EQ(pod["volumes"][0]["hostPath"]["path"], "/mnt/web");
  const auto& c = pod["containers"][0];
  EXPECT_EQ(c["name"], "web");
  EXPECT_EQ(c["imagePullPolicy"], "Always");
  EXPECT_EQ(c["resources"]["limits"]["cpu"], "500m");
  EXPECT_EQ(c["resources"]["limits"]["memory"], "2000Mi");
  EXPECT_EQ(c["resources"]["requests"]["cpu"], "10m");
  EXPECT_EQ(c["resources"]["requests"]["memory"], "100Mi");
  EXPECT_EQ(c["volumeMounts"][0]["mountPath"], "/apps");
  bool managed_by_berth = false;
  for (const auto& mf : (*dep)["metadata"]["managedFields"])
    if (mf.value("manager", "") == "berth" && mf.value("operation", "") == "Apply")
      managed_by_berth = true;
  EXPECT_TRUE(managed_by_berth) << "written with server-side apply, field manager berth";

  auto svc = admin.Get("/api/v1/namespaces/berth-team/services/web");
  ASSERT_TRUE(svc) << svc.error().message;
  EXPECT_EQ((*svc)["spec"]["type"], "NodePort");
  ASSERT_EQ((*svc)["spec"]["ports"].size(), 3u);

  auto st = rt->Inspect(spec);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_TRUE(st->exists);
  EXPECT_EQ(st->phase, Phase::kRunning) << st->reason << " " << st->message;
  EXPECT_EQ(st->host_ip, "127.0.0.1");
  EXPECT_EQ(st->generation, 1);
  for (const char* port : {"ssh", "http", "https"}) {
    ASSERT_TRUE(st->ports.count(port)) << port;
    EXPECT_GE(st->ports[port], 30000);
    EXPECT_LE(st->ports[port], 32767);
  }

  // Re-applying the same spec changes nothing: same object generation, same NodePorts.
  int64_t gen_before = (*dep)["metadata"]["generation"];
  ASSERT_TRUE(rt->Apply(spec, VolumeMount{}, nullptr));
  auto dep2 = admin.Get("/apis/apps/v1/namespaces/berth-team/deployments/web");
  ASSERT_TRUE(dep2);
  EXPECT_EQ((*dep2)["metadata"]["generation"], gen_before);
  auto st_again = rt->Inspect(spec);
  ASSERT_TRUE(st_again);
  EXPECT_EQ(st_again->ports, st->ports);

  // rebuild: a rollout restart; Apply returns once the new generation's pods run.
  spec.generation = 2;
  auto rebuilt = rt->Apply(spec, VolumeMount{}, nullptr);
  ASSERT_TRUE(rebuilt) << rebuilt.error().message;
  auto st2 = rt->Inspect(spec);
  ASSERT_TRUE(st2);
  EXPECT_EQ(st2->phase, Phase::kRunning);
  EXPECT_EQ(st2->generation, 2);
  EXPECT_EQ(st2->ports, st->ports) << "NodePorts survive a rebuild";
  EXPECT_EQ(PodsWithGeneration(admin, "berth-team", "web", 2), 1);
  auto dep3 = admin.Get("/apis/apps/v1/namespaces/berth-team/deployments/web");
  ASSERT_TRUE(dep3);
  EXPECT_EQ((*dep3)["spec"]["template"]["metadata"]["annotations"][kRestartAnnotation], "2");

  // delete cascades and waits until everything is gone.
  auto removed = rt->Remove("team", "web");
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_EQ(admin.Get("/apis/apps/v1/namespaces/berth-team/deployments/web").error().code,
            ErrorCode::kNotFound);
  EXPECT_EQ(admin.Get("/api/v1/namespaces/berth-team/services/web").error().code,
            ErrorCode::kNotFound);
  auto rs =
      admin.List("/apis/apps/v1/namespaces/berth-team/replicasets", SelectorString("team", "web"));
  ASSERT_TRUE(rs);
  EXPECT_EQ((*rs)["items"].size(), 0u);
  int total = -1;
  PodsWithGeneration(admin, "berth-team", "web", 2, &total);
  EXPECT_EQ(total, 0);
  auto gone = rt->Inspect(spec);
  ASSERT_TRUE(gone);
  EXPECT_FALSE(gone->exists);
  EXPECT_TRUE(rt->Remove("team", "web")) << "removing twice is fine";
}

TEST(KubernetesRuntimeTest, SleepScalesToZeroKeepingNodePortsAndWakeScalesBack) {
  REQUIRE_CONTROL_PLANE();
  auto rt = MakeRuntime(RuntimeConfig(g_runtime_kubeconfig));
  ASSERT_NE(rt, nullptr);
  auto spec = Spec("dozy");
  ASSERT_TRUE(rt->Apply(spec, VolumeMount{}, nullptr));
  auto awake = rt->Inspect(spec);
  ASSERT_TRUE(awake);
  ASSERT_EQ(awake->phase, Phase::kRunning) << awake->reason;
  auto admin = Admin();

  spec.sleeping = true;
  auto slept = rt->Sleep(spec, VolumeMount{});
  ASSERT_TRUE(slept) << slept.error().message;
  auto dep = admin.Get("/apis/apps/v1/namespaces/berth-team/deployments/dozy");
  ASSERT_TRUE(dep) << dep.error().message;
  EXPECT_EQ((*dep)["spec"]["replicas"], 0);
  int total = -1;
  PodsWithGeneration(admin, "berth-team", "dozy", 1, &total);
  EXPECT_EQ(total, 0) << "no pod left: sleeping frees the node's CPU and memory";
  auto st = rt->Inspect(spec);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_TRUE(st->exists);
  EXPECT_EQ(st->phase, Phase::kSleeping) << st->reason;
  EXPECT_EQ(st->ports, awake->ports) << "the Service and its NodePorts stay";
  EXPECT_TRUE(rt->Sleep(spec, VolumeMount{})) << "sleeping twice is fine";
  // The same workload without `sleeping` is not sleeping: the controller would wake it.
  spec.sleeping = false;
  auto not_asked = rt->Inspect(spec);
  ASSERT_TRUE(not_asked);
  EXPECT_NE(not_asked->phase, Phase::kSleeping);

  // Wake: the plain apply, one field manager for replicas, no conflict.
  auto woke = rt->Apply(spec, VolumeMount{}, nullptr);
  ASSERT_TRUE(woke) << woke.error().message;
  dep = admin.Get("/apis/apps/v1/namespaces/berth-team/deployments/dozy");
  ASSERT_TRUE(dep);
  EXPECT_EQ((*dep)["spec"]["replicas"], 1);
  auto again = rt->Inspect(spec);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->phase, Phase::kRunning) << again->reason;
  EXPECT_EQ(again->ports, awake->ports);
  ASSERT_TRUE(rt->Remove("team", "dozy"));
}

TEST(KubernetesRuntimeTest, ReplicationControllerWithClaimAsTheOriginal) {
  REQUIRE_CONTROL_PLANE();
  // A statically provisioned volume the claim binds to (the PV controller binds it).
  ASSERT_TRUE(g_cp->ApplyManifest(R"(apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: berth-test}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: Immediate
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv-legacy}
spec:
  capacity: {storage: 5Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: berth-test
  hostPath: {path: /tmp/berth-pv-legacy}
)"));
  auto cfg = RuntimeConfig(g_runtime_kubeconfig);
  cfg.kube_storage_class = "berth-test";
  cfg.image_pull_secrets = {"harbor"};
  auto rt = MakeRuntime(cfg);
  ASSERT_NE(rt, nullptr);
  auto spec = Spec("legacy", "rc");
  auto applied = rt->Apply(spec, VolumeMount{}, nullptr);
  ASSERT_TRUE(applied) << applied.error().message;

  auto admin = Admin();
  auto rc = admin.Get("/api/v1/namespaces/berth-team/replicationcontrollers/legacy");
  ASSERT_TRUE(rc) << rc.error().message;
  const auto& pod = (*rc)["spec"]["template"]["spec"];
  EXPECT_EQ(pod["volumes"][0]["name"], "vol-legacy");
  EXPECT_EQ(pod["volumes"][0]["persistentVolumeClaim"]["claimName"], "vol-legacy");
  EXPECT_EQ(pod["imagePullSecrets"][0]["name"], "harbor");
  EXPECT_EQ(pod["dnsPolicy"], "ClusterFirst");
  EXPECT_EQ(pod["containers"][0]["ports"][0]["containerPort"], 22);
  auto pvc = admin.Get("/api/v1/namespaces/berth-team/persistentvolumeclaims/vol-legacy");
  ASSERT_TRUE(pvc);
  EXPECT_EQ((*pvc)["spec"]["storageClassName"], "berth-test");
  EXPECT_EQ((*pvc)["status"]["phase"], "Bound");

  auto st = rt->Inspect(spec);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->phase, Phase::kRunning);
  EXPECT_EQ(st->host_ip, "127.0.0.1");
  EXPECT_EQ(st->ports.size(), 3u);

  // rebuild: an RC keeps old pods when its template changes; Berth recreates them.
  spec.generation = 2;
  ASSERT_TRUE(rt->Apply(spec, VolumeMount{}, nullptr));
  auto st2 = rt->Inspect(spec);
  ASSERT_TRUE(st2);
  EXPECT_EQ(st2->generation, 2);
  EXPECT_EQ(PodsWithGeneration(admin, "berth-team", "legacy", 2), 1);
  EXPECT_EQ(PodsWithGeneration(admin, "berth-team", "legacy", 1), 0);

  ASSERT_TRUE(rt->Remove("team", "legacy"));
  int total = -1;
  PodsWithGeneration(admin, "berth-team", "legacy", 2, &total);
  EXPECT_EQ(total, 0) << "the RC's pods were deleted with it, not orphaned";
  EXPECT_TRUE(admin.Get("/api/v1/namespaces/berth-team/persistentvolumeclaims/vol-legacy"))
      << "the volume outlives the workload";
}

TEST(KubernetesRuntimeTest, GivenNodePortIsUsedAndConflictsAreReported) {
  REQUIRE_CONTROL_PLANE();
  auto rt = MakeRuntime(RuntimeConfig(g_runtime_kubeconfig));
  ASSERT_NE(rt, nullptr);
  auto spec = Spec("fixed");
  spec.ports[1].host_port = 30880;
  ASSERT_TRUE(rt->Apply(spec, VolumeMount{}, nullptr));
  auto st = rt->Inspect(spec);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->ports["http"], 30880);

  // Someone else takes ownership of the image with their own apply: Berth reports the
  // conflict instead of overwriting it.
  auto r = g_cp->Kubectl({"-n", "berth-team", "set", "image", "deployment/fixed", "fixed=other:2"});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->exit_code, 0) << r->err;
  spec.image = "registry.local/dev/java:2";
  auto conflict = rt->Apply(spec, VolumeMount{}, nullptr);
  ASSERT_FALSE(conflict);
  EXPECT_EQ(conflict.error().code, ErrorCode::kConflict) << conflict.error().message;
  EXPECT_NE(conflict.error().message.find("image"), std::string::npos) << conflict.error().message;

  // An invalid NodePort: 422 with the field named.
  auto bad = Spec("badport");
  bad.ports[0].host_port = 80;
  auto invalid = rt->Apply(bad, VolumeMount{}, nullptr);
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(invalid.error().message.find("spec.ports[0].nodePort"), std::string::npos)
      << invalid.error().message;
  ASSERT_TRUE(rt->Remove("team", "badport"));
  ASSERT_TRUE(rt->Remove("team", "fixed"));
}

TEST(KubernetesRuntimeTest, UnschedulableIsReportedWithReason) {
  REQUIRE_CONTROL_PLANE();
  auto rt = MakeRuntime(RuntimeConfig(g_runtime_kubeconfig));
  ASSERT_NE(rt, nullptr);
  KubeRuntimeOptions o = rt->options();
  o.apply_wait = 3s;
  auto client = std::make_shared<KubeClient>(rt->client().connection());
  KubernetesRuntime short_wait(client, o);
  auto spec = Spec("huge");
  spec.resources.cpu_request = "1000";
  spec.resources.cpu_limit = "1000";
  ASSERT_TRUE(short_wait.Apply(spec, VolumeMount{}, nullptr));  // still pending: not an error
  // The scheduler needs a moment to say why; wait by watching, as the controller would.
  auto s = short_wait.WaitForPods(
      "berth-team", SelectorString(spec), 1,
      [](const PodSummary& p) { return p.reason == "Unschedulable"; }, 60s);
  ASSERT_TRUE(s) << s.error().message;
  auto st = short_wait.Inspect(spec);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->phase, Phase::kPending);
  EXPECT_EQ(st->reason, "Unschedulable");
  // The scheduler's own explanation. On a loaded machine the node lifecycle controller may
  // also have tainted the fake node for a late heartbeat; the scheduler then names the taint.
  EXPECT_TRUE(st->message.find("Insufficient cpu") != std::string::npos ||
              st->message.find("untolerated taint") != std::string::npos)
      << st->message;
  ASSERT_TRUE(short_wait.Remove("team", "huge"));
}

TEST(KubernetesRuntimeTest, ListOwnedFindsOrphans) {
  REQUIRE_CONTROL_PLANE();
  auto rt = MakeRuntime(RuntimeConfig(g_runtime_kubeconfig));
  ASSERT_NE(rt, nullptr);
  ASSERT_TRUE(rt->Apply(Spec("owned"), VolumeMount{}, nullptr));
  // An object labelled as Berth's whose environment Berth no longer knows.
  ASSERT_TRUE(g_cp->ApplyManifest(R"(apiVersion: v1
kind: Service
metadata:
  name: leftover
  namespace: berth-team
  labels: {app.kubernetes.io/managed-by: berth, berth.dev/namespace: team, berth.dev/name: leftover}
spec:
  type: ClusterIP
  ports: [{name: http, port: 80}]
---
apiVersion: v1
kind: Service
metadata:
  name: foreign
  namespace: default
  labels: {app.kubernetes.io/managed-by: berth, berth.dev/namespace: elsewhere, berth.dev/name: foreign}
spec:
  ports: [{name: http, port: 80}]
)"));
  auto owned = rt->ListOwned();
  ASSERT_TRUE(owned) << owned.error().message;
  std::set<std::string> names;
  for (const auto& w : *owned) names.insert(w.ns + "/" + w.name);
  EXPECT_TRUE(names.count("team/owned"));
  EXPECT_TRUE(names.count("team/leftover"));
  EXPECT_FALSE(names.count("elsewhere/foreign")) << "not in this installation's namespaces";
  ASSERT_TRUE(rt->Remove("team", "leftover"));
  ASSERT_TRUE(rt->Remove("team", "owned"));
  auto after = rt->ListOwned();
  ASSERT_TRUE(after);
  for (const auto& w : *after) EXPECT_NE(w.name, "leftover");
}

// Two installations on one cluster with the same namespace prefix: every object carries the
// installation's id; the second neither sees, lists, changes nor removes the first's objects,
// and a name the first holds is refused naming it.
TEST(KubernetesRuntimeTest, AnotherInstallationsObjectsAreNeverTouched) {
  REQUIRE_CONTROL_PLANE();
  auto first = MakeRuntime(RuntimeConfig(g_runtime_kubeconfig));
  auto second = MakeRuntime(RuntimeConfig(g_runtime_kubeconfig));
  ASSERT_TRUE(first && second);
  first->SetOwnership({"aaaaaaaaaaaaaaaa", {}});
  second->SetOwnership({"bbbbbbbbbbbbbbbb", {}});
  auto spec = Spec("twice");
  ASSERT_TRUE(first->Apply(spec, VolumeMount{}, nullptr));
  const std::string dep_path = "/apis/apps/v1/namespaces/berth-team/deployments/twice";
  auto dep = first->client().Get(dep_path);
  ASSERT_TRUE(dep) << dep.error().message;
  EXPECT_EQ((*dep)["metadata"]["labels"].value("berth.dev/installation", ""), "aaaaaaaaaaaaaaaa");
  EXPECT_EQ((*dep)["spec"]["template"]["metadata"]["labels"].value("berth.dev/installation", ""),
            "aaaaaaaaaaaaaaaa");
  EXPECT_FALSE((*dep)["spec"]["selector"]["matchLabels"].contains("berth.dev/installation"));
  auto svc = first->client().Get("/api/v1/namespaces/berth-team/services/twice");
  ASSERT_TRUE(svc) << svc.error().message;
  EXPECT_EQ((*svc)["metadata"]["labels"].value("berth.dev/installation", ""), "aaaaaaaaaaaaaaaa");

  auto seen = second->Inspect(spec);
  ASSERT_TRUE(seen) << seen.error().message;
  EXPECT_FALSE(seen->exists);
  auto applied = second->Apply(spec, VolumeMount{}, nullptr);
  ASSERT_FALSE(applied);
  EXPECT_EQ(applied.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(applied.error().message.find("aaaaaaaaaaaaaaaa"), std::string::npos)
      << applied.error().message;
  auto theirs = second->ListOwned();
  ASSERT_TRUE(theirs) << theirs.error().message;
  for (const auto& w : *theirs) EXPECT_FALSE(w.ns == "team" && w.name == "twice");
  auto mine = first->ListOwned();
  ASSERT_TRUE(mine) << mine.error().message;
  bool listed = false;
  for (const auto& w : *mine) listed = listed || (w.ns == "team" && w.name == "twice");
  EXPECT_TRUE(listed);

  ASSERT_TRUE(second->Remove("team", "twice"));
  auto after = first->client().Get(dep_path);
  ASSERT_TRUE(after) << "the second installation deleted the first's Deployment";
  EXPECT_EQ((*after)["metadata"].value("uid", ""), (*dep)["metadata"].value("uid", ""));
  EXPECT_TRUE(first->client().Get("/api/v1/namespaces/berth-team/services/twice"));
  auto still = first->Inspect(spec);
  ASSERT_TRUE(still);
  EXPECT_TRUE(still->exists);
  ASSERT_TRUE(first->Remove("team", "twice"));
}

// A watch cache that started empty (a new cluster: its first list had nothing to train a
// dictionary on) trains one once it holds enough objects, packs them, and still answers with
// exactly what the API server holds, for the objects it packed then and those after.
TEST(KubernetesRuntimeTest, AWatchCacheThatStartedEmptyPacksOnceItHasGrown) {
  REQUIRE_CONTROL_PLANE();
  auto client = std::make_shared<KubeClient>(g_cp->AdminConnection());
  ASSERT_TRUE(client->Create(
      "/api/v1/namespaces",
      {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "packing"}}}}));
  ObjectCacheOptions o;
  o.collection = "/api/v1/configmaps";
  o.selector = "berth-test=packing";
  ObjectCache cache(client, o);
  cache.Start();
  ASSERT_TRUE(cache.WaitForSync(30s));
  EXPECT_EQ(cache.size(), 0u);
  // Past the point of training, and enough that packing pays for the dictionary's tables.
  const size_t n = util::TextDictionary::kTrainAt * 3 + 40;
  auto name = [](size_t i) { return "cm" + std::to_string(i); };
  for (size_t i = 0; i < n; ++i) {
    nlohmann::json cm = {
        {"apiVersion", "v1"},
        {"kind", "ConfigMap"},
        {"metadata",
         {{"name", name(i)}, {"namespace", "packing"}, {"labels", {{"berth-test", "packing"}}}}},
        {"data", {{"index", std::to_string(i)}, {"square", std::to_string(i * i)}}}};
    ASSERT_TRUE(client->Create("/api/v1/namespaces/packing/configmaps", cm));
  }
  for (int i = 0; i < 300 && cache.size() < n; ++i) std::this_thread::sleep_for(100ms);
  ASSERT_EQ(cache.size(), n);
  size_t plain = 0;
  for (size_t i = 0; i < n; ++i) {
    auto cached = cache.Get("packing", name(i));
    ASSERT_TRUE(cached) << name(i);
    auto live = client->Get("/api/v1/namespaces/packing/configmaps/" + name(i));
    ASSERT_TRUE(live) << live.error().message;
    EXPECT_EQ(*cached, *live) << name(i);
    plain += cached->dump().size();
  }
  // Packed: the texts and their dictionary's tables (~200 KB, shared by however many objects)
  // hold less than the plain texts would (at 5,000 objects, about a tenth).
  EXPECT_LT(cache.bytes(), plain) << "plain " << plain;
  cache.Stop();
  (void)client->Delete("/api/v1/namespaces/packing", "Background");
}

// While WatchChanges runs, Inspect and the submits read the watch caches (ObjectCache): they
// must answer as the API server does, see the runtime's own writes at once, still refuse
// names someone else holds, and never call an environment gone before the API server says so.
TEST(KubernetesRuntimeTest, WatchCachesAnswerAsTheApiServerDoes) {
  REQUIRE_CONTROL_PLANE();
  auto cached = MakeRuntime(RuntimeConfig(g_runtime_kubeconfig));
  auto direct = MakeRuntime(RuntimeConfig(g_runtime_kubeconfig));
  ASSERT_TRUE(cached && direct);
  cached->SetOwnership({"dddddddddddddddd", {}});
  direct->SetOwnership({"dddddddddddddddd", {}});
  std::mutex mu;
  std::set<std::string> changed;
  auto watch = cached->WatchChanges([&](const std::string& ns, const std::string& name) {
    std::lock_guard<std::mutex> l(mu);
    changed.insert(ns + "/" + name);
  });
  for (int i = 0; i < 100 && !cached->CachesSynced(); ++i) std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(cached->CachesSynced());

  auto spec = Spec("cached");
  ASSERT_TRUE(cached->Submit(spec, VolumeMount{}, nullptr));
  // Its own write is in the cache at once: the workload exists with its NodePorts.
  auto now = cached->Inspect(spec);
  ASSERT_TRUE(now) << now.error().message;
  EXPECT_TRUE(now->exists);
  EXPECT_EQ(now->ports.size(), 3u);
  std::optional<runtime::WorkloadStatus> c;
  for (int i = 0; i < 300; ++i) {
    auto st = cached->Inspect(spec);
    ASSERT_TRUE(st) << st.error().message;
    if (st->phase == Phase::kRunning) {
      c = *st;
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(c) << "never Running through the caches";
  {
    std::lock_guard<std::mutex> l(mu);
    EXPECT_TRUE(changed.count("team/cached")) << "the pod's changes name the environment";
  }
  auto d = direct->Inspect(spec);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(c->exists, d->exists);
  EXPECT_EQ(c->phase, d->phase);
  EXPECT_EQ(c->generation, d->generation);
  EXPECT_EQ(c->host_ip, d->host_ip);
  EXPECT_EQ(c->ports, d->ports);
  EXPECT_EQ(c->id, d->id);

  // A Deployment someone made by hand (no Berth labels, so never in the caches) and one of
  // another installation (in them) are both refused, as without caches.
  ASSERT_TRUE(g_cp->ApplyManifest(R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: handmade, namespace: berth-team}
spec:
  replicas: 0
  selector: {matchLabels: {app: handmade}}
  template:
    metadata: {labels: {app: handmade}}
    spec: {containers: [{name: c, image: registry.local/x:1}]}
)"));
  auto refused = cached->Submit(Spec("handmade"), VolumeMount{}, nullptr);
  ASSERT_FALSE(refused) << "a Deployment made by hand was taken over";
  auto handmade = Admin().Get("/apis/apps/v1/namespaces/berth-team/deployments/handmade");
  ASSERT_TRUE(handmade);
  EXPECT_FALSE((*handmade)["metadata"].contains("labels") &&
               (*handmade)["metadata"]["labels"].contains("app.kubernetes.io/managed-by"));
  auto other = MakeRuntime(RuntimeConfig(g_runtime_kubeconfig));
  ASSERT_TRUE(other);
  other->SetOwnership({"cccccccccccccccc", {}});
  ASSERT_TRUE(other->Submit(Spec("theirs"), VolumeMount{}, nullptr));
  for (int i = 0; i < 50; ++i) std::this_thread::sleep_for(20ms);  // let the watch bring it
  auto refused2 = cached->Submit(Spec("theirs"), VolumeMount{}, nullptr);
  ASSERT_FALSE(refused2);
  EXPECT_EQ(refused2.error().code, ErrorCode::kAlreadyExists) << refused2.error().message;
  auto theirs = cached->Inspect(Spec("theirs"));
  ASSERT_TRUE(theirs);
  EXPECT_FALSE(theirs->exists) << "another installation's workload is not ours";
  // Orphan collection's listing comes from the caches too, and says the same.
  auto from_cache = cached->ListOwned();
  auto from_api = direct->ListOwned();
  ASSERT_TRUE(from_cache && from_api);
  auto names = [](const std::vector<runtime::OwnedWorkload>& v) {
    std::set<std::string> out;
    for (const auto& w : v) out.insert(w.ns + "/" + w.name + "@" + std::to_string(w.generation));
    return out;
  };
  EXPECT_EQ(names(*from_cache), names(*from_api));
  EXPECT_TRUE(names(*from_cache).count("team/cached@1"));
  EXPECT_FALSE(names(*from_cache).count("team/theirs@1"));

  // Deleted: gone only once the API server has no object and no pod of it left.
  bool gone = false;
  for (int i = 0; i < 600 && !gone; ++i) {
    auto r = cached->SubmitRemove("team", "cached");
    ASSERT_TRUE(r) << r.error().message;
    gone = *r;
    if (!gone) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(gone);
  auto admin = Admin();
  EXPECT_EQ(admin.Get("/apis/apps/v1/namespaces/berth-team/deployments/cached").error().code,
            ErrorCode::kNotFound);
  EXPECT_EQ(admin.Get("/api/v1/namespaces/berth-team/services/cached").error().code,
            ErrorCode::kNotFound);
  int total = -1;
  PodsWithGeneration(admin, "berth-team", "cached", 1, &total);
  EXPECT_EQ(total, 0);
  auto after = cached->Inspect(spec);
  ASSERT_TRUE(after);
  EXPECT_FALSE(after->exists);
  EXPECT_TRUE(other->Remove("team", "theirs"));
  EXPECT_TRUE(
      admin.Delete("/apis/apps/v1/namespaces/berth-team/deployments/handmade", "Background"));
  watch.reset();
  EXPECT_FALSE(cached->CachesSynced()) << "the caches go with the watch";
}

TEST(KubernetesRuntimeTest, UserWithoutRightsGetsClear403) {
  REQUIRE_CONTROL_PLANE();
  auto kc = g_cp->UserKubeconfig("alice", {"developers"});
  ASSERT_TRUE(kc) << kc.error().message;
  auto rt = MakeRuntime(RuntimeConfig(*kc));
  ASSERT_NE(rt, nullptr);
  auto r = rt->Apply(Spec("denied"), VolumeMount{}, nullptr);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(r.error().message.find("may not get namespaces at cluster scope"), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("User \"alice\""), std::string::npos) << r.error().message;
  auto l = rt->ListOwned();
  ASSERT_FALSE(l);
  EXPECT_NE(l.error().message.find("may not list deployments.apps at cluster scope"),
            std::string::npos)
      << l.error().message;
}

// A release's reload command: pods/exec over the WebSocket, through the API server to the
// kubelet (kwok runs it on this host, in pod_exec_dir()), in every running pod, as the user the
// shipped RBAC binds. A user without pods/exec is refused before anything runs (kUnavailable:
// the release manager rolls out instead).
TEST(KubernetesRuntimeTest, ExecRunsInEveryPodThroughTheExecSubresource) {
  REQUIRE_CONTROL_PLANE();
  auto rt = MakeRuntime(RuntimeConfig(g_runtime_kubeconfig));
  ASSERT_NE(rt, nullptr);
  auto spec = Spec("reloader");
  spec.replicas = 2;
  ASSERT_TRUE(rt->Apply(spec, VolumeMount{}, nullptr));
  const std::string log = g_cp->pod_exec_dir() + "/reloads.log";
  std::string out;
  auto ok =
      rt->Exec(spec, {"/bin/sh", "-c", "echo reloaded >> reloads.log; echo warned >&2"}, 60s, &out);
  ASSERT_TRUE(ok) << ok.error().message << "\n" << g_cp->LogTail("kwok");
  EXPECT_EQ(*ok, 0);
  auto ran = util::ReadFile(log);
  ASSERT_TRUE(ran) << ran.error().message;
  EXPECT_EQ(*ran, "reloaded\nreloaded\n") << "once in each of the two pods";
  EXPECT_NE(out.find("warned"), std::string::npos) << out;

  // A failing command fails the call. A kubelet reports NonZeroExitCode with the code (the
  // unit tests read that Status); kwok's local exec reports the same end as an internal error
  // naming the exit status, which is a failure too, never a success or a fallback.
  out.clear();
  auto three = rt->Exec(spec, {"/bin/sh", "-c", "echo cannot reload; exit 3"}, 60s, &out);
  if (three) {
    EXPECT_EQ(*three, 3);
    EXPECT_EQ(out.rfind("pod reloader-", 0), 0u) << out;
  } else {
    EXPECT_EQ(three.error().code, ErrorCode::kFailed) << three.error().message;
    EXPECT_NE(three.error().message.find("exit status 3"), std::string::npos)
        << three.error().message;
    EXPECT_NE(three.error().message.find("pod berth-team/reloader-"), std::string::npos)
        << three.error().message;
  }
  EXPECT_NE(out.find("cannot reload"), std::string::npos) << out;
  // Arguments travel as they are: no shell on Berth's side re-reads them.
  auto quoted = rt->Exec(spec, {"/bin/sh", "-c", "printf '%s' \"$0\" >> args.log", "a b&c;$(x)"},
                         60s, nullptr);
  ASSERT_TRUE(quoted) << quoted.error().message;
  EXPECT_EQ(util::ReadFile(g_cp->pod_exec_dir() + "/args.log").value_or(""),
            "a b&c;$(x)a b&c;$(x)");

  // No pod running (asleep): nothing to run it in.
  auto none = Spec("reloader-none");
  auto nothing = rt->Exec(none, {"/bin/true"}, 10s, nullptr);
  ASSERT_FALSE(nothing);
  EXPECT_EQ(nothing.error().code, ErrorCode::kUnavailable);

  // RBAC that lets a user read the workload and its pods but not exec into them.
  ASSERT_TRUE(g_cp->ApplyManifest(R"(apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: berth-test-no-exec}
rules:
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: berth-test-no-exec}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: berth-test-no-exec}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: no-exec}]
)"));
  auto kc = g_cp->UserKubeconfig("no-exec", {});
  ASSERT_TRUE(kc) << kc.error().message;
  auto limited = MakeRuntime(RuntimeConfig(*kc));
  ASSERT_NE(limited, nullptr);
  auto refused = limited->Exec(spec, {"/bin/sh", "-c", "echo never >> reloads.log"}, 30s, nullptr);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable) << refused.error().message;
  EXPECT_NE(refused.error().message.find("refused"), std::string::npos) << refused.error().message;
  EXPECT_NE(refused.error().message.find("pods/exec"), std::string::npos)
      << refused.error().message;
  EXPECT_EQ(util::ReadFile(log).value_or(""), "reloaded\nreloaded\n") << "nothing ran";
  ASSERT_TRUE(rt->Remove(spec.ns, spec.name));
}

// The readiness ping (/readyz, the controller's outage check): the API server's /version with
// the shipped RBAC, and a clear kUnavailable at once where nothing listens.
TEST(KubernetesRuntimeTest, PingAnswersAndAClosedPortIsUnavailable) {
  REQUIRE_CONTROL_PLANE();
  auto rt = MakeRuntime(RuntimeConfig(g_runtime_kubeconfig));
  ASSERT_NE(rt, nullptr);
  auto ok = rt->Ping(2s);
  EXPECT_TRUE(ok) << ok.error().message;

  auto text = util::ReadFile(g_runtime_kubeconfig);
  ASSERT_TRUE(text) << text.error().message;
  std::string moved = *text;
  const std::string dead = "https://127.0.0.1:" + std::to_string(testing::FreeLoopbackPort());
  for (auto pos = moved.find(g_cp->server()); pos != std::string::npos;
       pos = moved.find(g_cp->server(), pos + dead.size()))
    moved.replace(pos, g_cp->server().size(), dead);
  ASSERT_NE(moved, *text);
  util::TempDir dir("berth-k8s-ping");
  ASSERT_TRUE(util::WriteFileAtomic(dir.path() + "/kubeconfig", moved));
  auto down = MakeRuntime(RuntimeConfig(dir.path() + "/kubeconfig"));
  ASSERT_NE(down, nullptr);
  auto bad = down->Ping(2s);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kUnavailable) << bad.error().message;
  EXPECT_NE(bad.error().message.find(dead), std::string::npos) << bad.error().message;
}

// Pod logs through the pod log subresource: kube-apiserver proxies to kwok's kubelet server
// (at the node's InternalIP and kubeletEndpoint port), which reads g_cp->pod_log_file().
TEST(KubernetesRuntimeTest, LogsStreamThroughTheApiServerFromTheKubelet) {
  REQUIRE_CONTROL_PLANE();
  // As the user bound only to deploy/kubernetes/serve/rbac.yaml: pods/log get is enough.
  auto rt = MakeRuntime(RuntimeConfig(g_runtime_kubeconfig));
  ASSERT_NE(rt, nullptr);
  auto spec = Spec("talker");
  auto applied = rt->Apply(spec, VolumeMount{}, nullptr);
  ASSERT_TRUE(applied) << applied.error().message;
  ASSERT_TRUE(g_cp->AppendPodLog({"booting talker", "listening on :8080"}));
  ASSERT_TRUE(g_cp->AppendPodLog({"warning: no cache"}, "stderr"));

  auto collect = [&](runtime::LogOptions o, std::string* out) {
    return rt->Logs(spec, o, [out](std::string_view c) {
      out->append(c);
      return true;
    });
  };
  // Everything, stdout and stderr interleaved as written.
  std::string all;
  auto s = collect({}, &all);
  ASSERT_TRUE(s) << s.error().message << "\n" << g_cp->LogTail("kwok");
  EXPECT_EQ(all, "booting talker\nlistening on :8080\nwarning: no cache\n");

  // tail.
  std::string tail;
  runtime::LogOptions to;
  to.tail = 2;
  ASSERT_TRUE(collect(to, &tail));
  EXPECT_EQ(tail, "listening on :8080\nwarning: no cache\n");
  std::string none;
  to.tail = 0;
  ASSERT_TRUE(collect(to, &none));
  EXPECT_EQ(none, "");

  // timestamps: the kubelet prefixes each line with its RFC 3339 time.
  std::string stamped;
  runtime::LogOptions tso;
  tso.timestamps = true;
  tso.tail = 1;
  ASSERT_TRUE(collect(tso, &stamped));
  EXPECT_TRUE(std::regex_match(
      stamped, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z warning: no cache\n)")))
      << stamped;

  // follow with tail=1: the last line at once, then what is written while following; the
  // sink returning false ends the stream (cancellation) without an error.
  std::mutex mu;
  std::condition_variable cv;
  std::string followed;
  std::atomic<bool> stop{false};
  Status follow_status;
  runtime::LogOptions fo;
  fo.follow = true;
  fo.tail = 1;
  std::thread follower([&] {
    follow_status = rt->Logs(spec, fo, [&](std::string_view c) {
      std::lock_guard lock(mu);
      followed.append(c);
      cv.notify_all();
      return !stop.load();
    });
    std::lock_guard lock(mu);
    cv.notify_all();
  });
  auto wait_for = [&](const std::string& text) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, 30s, [&] { return followed.find(text) != std::string::npos; });
  };
  EXPECT_TRUE(wait_for("warning: no cache\n")) << followed;
  ASSERT_TRUE(g_cp->AppendPodLog({"request 1 served"}));
  EXPECT_TRUE(wait_for("request 1 served\n")) << followed;
  ASSERT_TRUE(g_cp->AppendPodLog({"request 2 served", "request 3 served"}));
  EXPECT_TRUE(wait_for("request 3 served\n")) << followed;
  stop = true;
  auto stopped_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(g_cp->AppendPodLog({"after cancel"}));  // the next chunk sees the cancellation
  follower.join();
  EXPECT_LT(std::chrono::steady_clock::now() - stopped_at, 30s);
  EXPECT_TRUE(follow_status) << follow_status.error().message;
  EXPECT_EQ(followed.rfind("warning: no cache\nrequest 1 served\nrequest 2 served\n", 0), 0u)
      << followed;
  EXPECT_EQ(followed.find("booting talker"), std::string::npos) << "tail=1 while following";

  // An environment without a pod: a clear NotFound, nothing written to the sink.
  std::string missing_out;
  auto ghost = Spec("ghost");
  auto gone = rt->Logs(ghost, {}, [&](std::string_view c) {
    missing_out.append(c);
    return true;
  });
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound) << gone.error().message;
  EXPECT_NE(gone.error().message.find("team/ghost"), std::string::npos) << gone.error().message;
  EXPECT_EQ(missing_out, "");

  // A pod that does not exist (gone between the LIST and the log request): the API server's
  // 404, mapped to NotFound with its message.
  auto pod404 = rt->client().StreamBody("/api/v1/namespaces/berth-team/pods/no-such-pod/log",
                                        [](std::string_view) { return true; });
  ASSERT_FALSE(pod404);
  EXPECT_EQ(pod404.error().code, ErrorCode::kNotFound) << pod404.error().message;
  EXPECT_NE(pod404.error().message.find("\"no-such-pod\" in namespace \"berth-team\" not found"),
            std::string::npos)
      << pod404.error().message;

  // A log request the API server refuses (here: no such container in the pod) answers with a
  // JSON Status: it becomes the error, and none of it reaches the sink.
  auto admin = Admin();
  nlohmann::json stray = {
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata",
       {{"name", "stray-0"},
        {"labels",
         {{"app.kubernetes.io/managed-by", "berth"},
          {"berth.dev/namespace", "team"},
          {"berth.dev/name", "stray"},
          {"berth.dev/generation", "1"}}}}},
      {"spec",
       {{"nodeName", "kwok-node-0"},
        {"containers", {{{"name", "not-stray"}, {"image", "registry.local/dev/java:1"}}}}}}};
  ASSERT_TRUE(admin.Create("/api/v1/namespaces/berth-team/pods", stray));
  std::string refused_out;
  auto refused = rt->Logs(Spec("stray"), {}, [&](std::string_view c) {
    refused_out.append(c);
    return true;
  });
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("container stray is not valid for pod stray-0"),
            std::string::npos)
      << refused.error().message;
  EXPECT_EQ(refused_out, "");
  ASSERT_TRUE(admin.Delete("/api/v1/namespaces/berth-team/pods/stray-0", "Background"));

  // A pod that is not scheduled: said plainly (the API server would answer an empty 200).
  KubeRuntimeOptions o = rt->options();
  o.apply_wait = 1s;
  KubernetesRuntime short_wait(std::make_shared<KubeClient>(rt->client().connection()), o);
  auto huge = Spec("hugelogs");
  huge.resources.cpu_request = "1000";
  huge.resources.cpu_limit = "1000";
  ASSERT_TRUE(short_wait.Apply(huge, VolumeMount{}, nullptr));
  auto pending = short_wait.WaitForPods(
      "berth-team", SelectorString(huge), 1,
      [](const PodSummary& p) { return p.reason == "Unschedulable"; }, 60s);
  ASSERT_TRUE(pending) << pending.error().message;
  std::string pending_out;
  auto unscheduled = short_wait.Logs(huge, {}, [&](std::string_view c) {
    pending_out.append(c);
    return true;
  });
  ASSERT_FALSE(unscheduled);
  EXPECT_EQ(unscheduled.error().code, ErrorCode::kUnavailable) << unscheduled.error().message;
  EXPECT_NE(unscheduled.error().message.find("is not scheduled yet (Unschedulable: "),
            std::string::npos)
      << unscheduled.error().message;
  EXPECT_EQ(pending_out, "");
  ASSERT_TRUE(short_wait.Remove("team", "hugelogs"));

  ASSERT_TRUE(rt->Remove("team", "talker"));
  std::string after_remove;
  auto removed = collect({}, &after_remove);
  ASSERT_FALSE(removed);
  EXPECT_EQ(removed.error().code, ErrorCode::kNotFound) << removed.error().message;
  EXPECT_EQ(after_remove, "");
}

TEST(KubernetesClientTest, WatchFromCompactedVersionIsGone) {
  REQUIRE_CONTROL_PLANE();
  auto admin = Admin();
  auto list = admin.List("/api/v1/namespaces/default/configmaps", "");
  ASSERT_TRUE(list);
  std::string old_rv = (*list)["metadata"]["resourceVersion"];
  nlohmann::json cm = {
      {"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "compact-me"}}}};
  ASSERT_TRUE(admin.Create("/api/v1/namespaces/default/configmaps", cm));
  cm["metadata"]["name"] = "compact-me-too";
  auto made = admin.Create("/api/v1/namespaces/default/configmaps", cm);
  ASSERT_TRUE(made) << made.error().message;
  std::string new_rv = (*made)["metadata"]["resourceVersion"];
  // Compact etcd past old_rv (its JSON gateway), as the API server does every few minutes.
  net::HttpClient etcd(net::ClientOptions{g_cp->etcd_endpoint()});
  net::HttpRequest compact;
  compact.method = "POST";
  compact.path = "/v3/kv/compaction";
  compact.body = nlohmann::json{{"revision", new_rv}, {"physical", true}}.dump();
  auto cr = etcd.Send(compact);
  ASSERT_TRUE(cr && cr->status == 200) << (cr ? cr->body : cr.error().message);
  Status w = admin.Watch("/api/v1/namespaces/default/configmaps", "", old_rv, 5,
                         [](const WatchEvent&) { return true; });
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, ErrorCode::kGone) << w.error().message;
}

// --- kubeconfig variants, each proven by asking the API server who we are -------------------

Result<std::string> WhoAmI(KubeClient& c) {
  nlohmann::json review = {{"apiVersion", "authentication.k8s.io/v1"},
                           {"kind", "SelfSubjectReview"}};
  auto r = c.Create("/apis/authentication.k8s.io/v1/selfsubjectreviews", review);
  if (!r) return Fail(r.error());
  return (*r)["status"]["userInfo"].value("username", "");
}

// A bound service-account token from the TokenRequest API (what `kubectl create token` does).
Result<std::string> SaToken(const std::string& sa) {
  auto admin = Admin();
  nlohmann::json req = {{"apiVersion", "authentication.k8s.io/v1"},
                        {"kind", "TokenRequest"},
                        {"spec", {{"expirationSeconds", 3600}}}};
  auto r = admin.Create("/api/v1/namespaces/berth-system/serviceaccounts/" + sa + "/token", req);
  if (!r) return Fail(r.error());
  return (*r)["status"].value("token", "");
}

std::string TokenKubeconfig(const std::string& user_block) {
  return "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: " +
         g_cp->server() + "\n    certificate-authority: " + g_cp->ca_file() +
         "\nusers:\n- name: u\n  user:\n" + user_block +
         "contexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n";
}

Result<std::string> WhoAmIWith(const LoadOptions& o) {
  auto conn = LoadConnection(o);
  if (!conn) return Fail(conn.error());
  KubeClient c(*conn);
  return WhoAmI(c);
}

LoadOptions Isolated(const std::string& kubeconfig) {
  LoadOptions o;
  o.kubeconfig = kubeconfig;
  o.kubeconfig_env = "";
  o.home = "/nonexistent";
  o.service_host = "";
  o.service_port = "";
  return o;
}

TEST(KubeconfigVariantsTest, ClientCertificateFilesAndData) {
  REQUIRE_CONTROL_PLANE();
  auto embedded = g_cp->UserKubeconfig("carol", {"g1"}, true);
  auto files = g_cp->UserKubeconfig("dave", {"g1"}, false);
  ASSERT_TRUE(embedded && files);
  EXPECT_EQ(*WhoAmIWith(Isolated(*embedded)), "carol");
  EXPECT_EQ(*WhoAmIWith(Isolated(*files)), "dave");
}

TEST(KubeconfigVariantsTest, BearerTokenTokenFileAndRotation) {
  REQUIRE_CONTROL_PLANE();
  ASSERT_TRUE(g_cp->ApplyManifest(
      "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: other, namespace: berth-system}\n"));
  auto tok = SaToken("berth");
  auto other = SaToken("other");
  ASSERT_TRUE(tok && other) << (tok ? other.error().message : tok.error().message);
  util::TempDir dir("berth-kc-token");
  std::string kc = dir.path() + "/token.kubeconfig";
  ASSERT_TRUE(util::WriteFileAtomic(kc, TokenKubeconfig("    token: " + *tok + "\n")));
  EXPECT_EQ(*WhoAmIWith(Isolated(kc)), "system:serviceaccount:berth-system:berth");

  // tokenFile: re-read when it rotates.
  ASSERT_TRUE(util::WriteFileAtomic(dir.path() + "/tok", *tok));
  ASSERT_TRUE(util::WriteFileAtomic(kc, TokenKubeconfig("    tokenFile: tok\n")));
  auto conn = LoadConnection(Isolated(kc));
  ASSERT_TRUE(conn) << conn.error().message;
  KubeClient c(*conn);
  EXPECT_EQ(*WhoAmI(c), "system:serviceaccount:berth-system:berth");
  std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(util::WriteFileAtomic(dir.path() + "/tok", *other));
  EXPECT_EQ(*WhoAmI(c), "system:serviceaccount:berth-system:other");

  // A bad token is a clear 401.
  ASSERT_TRUE(util::WriteFileAtomic(kc, TokenKubeconfig("    token: not-a-token\n")));
  auto bad = WhoAmIWith(Isolated(kc));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(bad.error().message.find("unauthorized"), std::string::npos) << bad.error().message;
}

TEST(KubeconfigVariantsTest, ExecPluginTokenAndCertificate) {
  REQUIRE_CONTROL_PLANE();
  auto tok = SaToken("berth");
  ASSERT_TRUE(tok);
  util::TempDir dir("berth-kc-exec");
  // A tiny plugin, run via argv with the env from the kubeconfig; counts its runs.
  ASSERT_TRUE(
      util::WriteFileAtomic(dir.path() + "/plugin.sh",
                            "#!/bin/sh\necho run >> \"$COUNT_FILE\"\n"
                            "printf '{\"kind\":\"ExecCredential\",\"apiVersion\":"
                            "\"client.authentication.k8s.io/v1\",\"status\":{\"token\":\"%s\"}}' "
                            "\"$(cat \"$1\")\"\n",
                            0755));
  ASSERT_TRUE(util::WriteFileAtomic(dir.path() + "/secret", *tok));
  std::string kc = dir.path() + "/exec.kubeconfig";
  ASSERT_TRUE(util::WriteFileAtomic(
      kc, TokenKubeconfig("    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
                          "      command: ./plugin.sh\n      args: [secret]\n"
                          "      interactiveMode: Never\n      env:\n      - name: COUNT_FILE\n"
                          "        value: " +
                          dir.path() + "/count\n")));
  auto conn = LoadConnection(Isolated(kc));
  ASSERT_TRUE(conn) << conn.error().message;
  // The plugin's relative path resolves against the kubeconfig's directory; args are relative
  // to the working directory, as with kubectl: run from there.
  conn->exec->args = {dir.path() + "/secret"};
  KubeClient c(*conn);
  EXPECT_EQ(*WhoAmI(c), "system:serviceaccount:berth-system:berth");
  EXPECT_EQ(*WhoAmI(c), "system:serviceaccount:berth-system:berth");
  auto runs = util::ReadFile(dir.path() + "/count");
  ASSERT_TRUE(runs);
  EXPECT_EQ(util::Split(*runs, '\n').size(), 1u) << "the credential is cached until it expires";

  // A plugin that hands out a client certificate instead.
  auto cert = g_cp->IssueClientCert("erin", {"g"});
  ASSERT_TRUE(cert);
  auto pem = util::ReadFile(cert->cert_file);
  auto key = util::ReadFile(cert->key_file);
  ASSERT_TRUE(pem && key);
  nlohmann::json cred = {{"kind", "ExecCredential"},
                         {"apiVersion", "client.authentication.k8s.io/v1"},
                         {"status", {{"clientCertificateData", *pem}, {"clientKeyData", *key}}}};
  ASSERT_TRUE(util::WriteFileAtomic(dir.path() + "/cred.json", cred.dump()));
  ASSERT_TRUE(util::WriteFileAtomic(dir.path() + "/certplugin.sh",
                                    "#!/bin/sh\ncat \"$(dirname \"$0\")/cred.json\"\n", 0755));
  ASSERT_TRUE(util::WriteFileAtomic(
      kc, TokenKubeconfig("    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
                          "      command: " +
                          dir.path() + "/certplugin.sh\n")));
  EXPECT_EQ(*WhoAmIWith(Isolated(kc)), "erin");
}

TEST(KubeconfigVariantsTest, KubeconfigEnvMergeAndInCluster) {
  REQUIRE_CONTROL_PLANE();
  auto a = g_cp->UserKubeconfig("frank", {}, true);
  ASSERT_TRUE(a);
  util::TempDir dir("berth-kc-merge");
  // Second file: same context name pointing at a user that would fail; the first file wins.
  ASSERT_TRUE(util::WriteFileAtomic(
      dir.path() + "/second",
      "apiVersion: v1\nkind: Config\ncurrent-context: other\n"
      "contexts:\n- name: berth-test\n  context: {cluster: nowhere, user: nobody}\n"));
  LoadOptions o = Isolated("");
  o.kubeconfig_env = *a + ":" + dir.path() + "/second";
  EXPECT_EQ(*WhoAmIWith(o), "frank");

  // In-cluster: the service-account directory and KUBERNETES_SERVICE_HOST/PORT.
  auto tok = SaToken("berth");
  ASSERT_TRUE(tok);
  std::string sa = dir.path() + "/sa";
  ASSERT_TRUE(util::MakeDirs(sa));
  ASSERT_TRUE(util::WriteFileAtomic(sa + "/token", *tok));
  ASSERT_TRUE(util::WriteFileAtomic(sa + "/ca.crt", *util::ReadFile(g_cp->ca_file())));
  ASSERT_TRUE(util::WriteFileAtomic(sa + "/namespace", "berth-system"));
  LoadOptions in = Isolated("");
  in.service_account_dir = sa;
  in.service_host = "127.0.0.1";
  in.service_port = std::to_string(g_cp->port());
  auto conn = LoadConnection(in);
  ASSERT_TRUE(conn) << conn.error().message;
  EXPECT_TRUE(conn->in_cluster);
  KubeClient c(*conn);
  EXPECT_EQ(*WhoAmI(c), "system:serviceaccount:berth-system:berth");
}

// --- cluster DNS ------------------------------------------------------------------------------

using fixtures::kCorefile;

TEST(ClusterDnsTest, KubeDnsConfigMapRoundTrip) {
  REQUIRE_CONTROL_PLANE();
  auto admin = Admin();
  (void)admin.Delete("/api/v1/namespaces/kube-system/configmaps/coredns", "");
  (void)admin.Delete("/api/v1/namespaces/kube-system/configmaps/kube-dns", "");
  ASSERT_TRUE(g_cp->ApplyManifest(R"(apiVersion: v1
kind: ConfigMap
metadata: {name: kube-dns, namespace: kube-system, labels: {addonmanager.kubernetes.io/mode: EnsureExists}}
data:
  federations: '{"myfed": "example.com"}'
)"));
  auto conn = LoadConnection(Isolated(g_runtime_kubeconfig));
  ASSERT_TRUE(conn);
  KubeClient c(*conn);  // the RBAC user: the berth-dns Role is enough
  DnsChange change;
  change.stub_domains = StubDomains{{"corp.example", {"172.16.133.100"}}};
  change.upstream = std::vector<std::string>{"8.8.8.8", "219.141.133.10"};
  auto set = SetClusterDns(c, "auto", change);
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_EQ(set->provider, "kube-dns");
  auto cm = admin.Get("/api/v1/namespaces/kube-system/configmaps/kube-dns");
  ASSERT_TRUE(cm);
  EXPECT_EQ((*cm)["data"]["stubDomains"], "{\"corp.example\": [\"172.16.133.100\"]}");
  EXPECT_EQ((*cm)["data"]["upstreamNameservers"], "[\"8.8.8.8\", \"219.141.133.10\"]");
  EXPECT_EQ((*cm)["data"]["federations"], "{\"myfed\": \"example.com\"}");
  EXPECT_EQ((*cm)["metadata"]["labels"]["addonmanager.kubernetes.io/mode"], "EnsureExists");
  auto shown = ShowClusterDns(c, "auto");
  ASSERT_TRUE(shown);
  EXPECT_EQ(shown->stub_domains, *change.stub_domains);
  EXPECT_EQ(shown->upstream, *change.upstream);
  // Four upstreams: refused before anything is written.
  DnsChange four;
  four.upstream = std::vector<std::string>{"1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4"};
  EXPECT_FALSE(SetClusterDns(c, "auto", four));
}

TEST(ClusterDnsTest, CoreDnsCorefileRoundTripViaCli) {
  REQUIRE_CONTROL_PLANE();
  auto admin = Admin();
  (void)admin.Delete("/api/v1/namespaces/kube-system/configmaps/coredns", "");
  nlohmann::json cm = {{"apiVersion", "v1"},
                       {"kind", "ConfigMap"},
                       {"metadata", {{"name", "coredns"}, {"namespace", "kube-system"}}},
                       {"data", {{"Corefile", kCorefile}, {"other", "untouched"}}}};
  ASSERT_TRUE(admin.Create("/api/v1/namespaces/kube-system/configmaps", cm));
  auto run = [](std::vector<std::string> args) {
    std::vector<std::string> argv{BERTH_BINARY, "-o", "json", "dns"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--kubeconfig=" + g_runtime_kubeconfig);
    return util::RunCommand(argv, 60s);
  };
  auto set = run(
      {"set", "--stub-domain", "corp.example=10.1.0.1,10.1.0.2", "--upstream", "8.8.8.8,1.1.1.1"});
  ASSERT_TRUE(set);
  ASSERT_EQ(set->exit_code, 0) << set->err << set->out;
  auto out = nlohmann::json::parse(set->out);
  EXPECT_EQ(out["provider"], "coredns");
  EXPECT_EQ(out["stubDomains"]["corp.example"], (std::vector<std::string>{"10.1.0.1", "10.1.0.2"}));
  EXPECT_EQ(out["upstreamNameservers"], (std::vector<std::string>{"8.8.8.8", "1.1.1.1"}));

  auto stored = admin.Get("/api/v1/namespaces/kube-system/configmaps/coredns");
  ASSERT_TRUE(stored);
  std::string corefile = (*stored)["data"]["Corefile"];
  std::string want = kCorefile;
  want.replace(want.find("/etc/resolv.conf"), 16, "8.8.8.8 1.1.1.1");
  want += "corp.example:53 {\n    errors\n    cache 30\n    forward . 10.1.0.1 10.1.0.2\n}\n";
  EXPECT_EQ(corefile, want);
  EXPECT_EQ((*stored)["data"]["other"], "untouched");

  auto show = run({"show"});
  ASSERT_TRUE(show);
  ASSERT_EQ(show->exit_code, 0) << show->err;
  EXPECT_EQ(nlohmann::json::parse(show->out)["stubDomains"].size(), 1u);

  auto bad = run({"set", "--upstream", "8.8.8.8;reboot"});
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->exit_code, 2) << bad->err;
  // Back to the original: clearing restores the Corefile byte for byte.
  auto clear = run({"set", "--clear-stub-domains", "--clear-upstream"});
  ASSERT_TRUE(clear);
  ASSERT_EQ(clear->exit_code, 0) << clear->err;
  auto restored = admin.Get("/api/v1/namespaces/kube-system/configmaps/coredns");
  ASSERT_TRUE(restored);
  EXPECT_EQ((*restored)["data"]["Corefile"], kCorefile);
}

TEST(KubernetesRuntimeTest, RegistryLoginsBecomeAPullSecretKeptInStep) {
  REQUIRE_CONTROL_PLANE();
  util::TempDir dir{"berth-kube-registry"};
  const std::string pw = dir.path() + "/pw";
  ASSERT_TRUE(util::WriteFileAtomic(pw, "first\n", 0600));
  Config c = RuntimeConfig(g_runtime_kubeconfig);
  c.docker_config = dir.path();  // no config.json there: only the toml login
  c.registries = {{"harbor.example.com", "ci-bot", "", pw}};
  auto rt = MakeRuntime(c);  // as the user bound only to rbac.yaml: its secrets rule is enough
  ASSERT_NE(rt, nullptr);
  auto spec = Spec("pulls");
  ASSERT_TRUE(rt->Apply(spec, VolumeMount{}, nullptr));
  KubeClient admin = Admin();
  auto secret_login = [&](std::string* name_out) -> nlohmann::json {
    auto dep = admin.Get("/apis/apps/v1/namespaces/berth-team/deployments/pulls");
    EXPECT_TRUE(dep) << dep.error().message;
    if (!dep) return {};
    const auto& refs = (*dep)["spec"]["template"]["spec"]["imagePullSecrets"];
    EXPECT_EQ(refs.size(), 1u) << refs.dump();
    if (refs.size() != 1) return {};
    const std::string name = refs[0]["name"];
    EXPECT_EQ(name.rfind("berth-pull", 0), 0u) << name;
    if (name_out) *name_out = name;
    auto sec = admin.Get("/api/v1/namespaces/berth-team/secrets/" + name);
    EXPECT_TRUE(sec) << sec.error().message;
    if (!sec) return {};
    EXPECT_EQ((*sec)["type"], "kubernetes.io/dockerconfigjson");
    auto text = util::Base64Decode((*sec)["data"][".dockerconfigjson"].get<std::string>());
    EXPECT_TRUE(text);
    return nlohmann::json::parse(text.value_or("{}"))["auths"]["harbor.example.com"];
  };
  std::string name;
  auto first = secret_login(&name);
  EXPECT_EQ(first["username"], "ci-bot");
  EXPECT_EQ(first["password"], "first");
  EXPECT_EQ(first["auth"], util::Base64Encode("ci-bot:first"));

  // The password rotates: the next rollout carries it.
  ASSERT_TRUE(util::WriteFileAtomic(pw, "second\n", 0600));
  spec.generation = 2;
  ASSERT_TRUE(rt->Apply(spec, VolumeMount{}, nullptr));
  EXPECT_EQ(secret_login(nullptr)["password"], "second");

  // No logins, no Secret named (and none needed).
  Config none = RuntimeConfig(g_runtime_kubeconfig);
  none.docker_config = dir.path();
  auto plain = MakeRuntime(none);
  ASSERT_NE(plain, nullptr);
  auto other = Spec("nopull");
  ASSERT_TRUE(plain->Apply(other, VolumeMount{}, nullptr));
  auto dep = admin.Get("/apis/apps/v1/namespaces/berth-team/deployments/nopull");
  ASSERT_TRUE(dep);
  EXPECT_FALSE((*dep)["spec"]["template"]["spec"].contains("imagePullSecrets"));
  ASSERT_TRUE(plain->Remove("team", "nopull"));
  ASSERT_TRUE(rt->Remove("team", "pulls"));
}

// Usage from the resource metrics API. Without metrics-server the cluster has no
// metrics.k8s.io: a clear "metrics unavailable". metrics-server then stands in as a
// CustomResourceDefinition serving PodMetrics under metrics.k8s.io on the real API server, so the
// request, the label selector, the RBAC rule (the runtime runs as a user bound only to
// rbac.yaml) and the sums go through the real thing.
TEST(KubernetesRuntimeTest, UsageComesFromTheMetricsApiOrSaysItIsUnavailable) {
  REQUIRE_CONTROL_PLANE();
  auto rt = MakeRuntime(RuntimeConfig(g_runtime_kubeconfig));
  ASSERT_NE(rt, nullptr);
  auto spec = Spec("metered");
  spec.replicas = 2;
  spec.resources.memory_limit = "256Mi";
  ASSERT_TRUE(rt->Apply(spec, VolumeMount{}, nullptr));
  auto admin = Admin();

  auto none = rt->Usage(spec, 5s);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(none.error().message.find("metrics unavailable"), std::string::npos)
      << none.error().message;
  EXPECT_NE(none.error().message.find("metrics.k8s.io"), std::string::npos);
  // The sampler's round asks once for every environment; the same answer for each.
  auto idle = Spec("idle");  // never applied: no pods
  auto none_many = rt->UsageOfMany({&spec, &idle}, 5s);
  ASSERT_EQ(none_many.size(), 2u);
  for (const auto& r : none_many) {
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("metrics unavailable"), std::string::npos);
  }

  const std::string crd_path =
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/pods.metrics.k8s.io";
  auto crd = nlohmann::json::parse(R"({
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "pods.metrics.k8s.io",
      "annotations": {"api-approved.kubernetes.io": "unapproved, a test stand-in for metrics-server"}},
    "spec": {"group": "metrics.k8s.io", "scope": "Namespaced",
      "names": {"plural": "pods", "singular": "podmetrics", "kind": "PodMetrics", "listKind": "PodMetricsList"},
      "versions": [{"name": "v1beta1", "served": true, "storage": true,
        "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}})");
  ASSERT_TRUE(admin.Apply(crd_path, crd, true, "berth-test-fixture"));
  const std::string metrics = "/apis/metrics.k8s.io/v1beta1/namespaces/berth-team/pods";
  bool served = false;
  for (int i = 0; i < 100 && !served; ++i) {
    served = static_cast<bool>(admin.List(metrics, ""));
    if (!served) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(served) << "the PodMetrics stand-in was never served";

  // Pods running, no figures yet: what metrics-server says in its first minute.
  auto early = rt->Usage(spec, 5s);
  ASSERT_FALSE(early);
  EXPECT_NE(early.error().message.find("no figures for 2 pod(s) yet"), std::string::npos)
      << early.error().message;

  auto pods = admin.List("/api/v1/namespaces/berth-team/pods", SelectorString("team", "metered"));
  ASSERT_TRUE(pods) << pods.error().message;
  ASSERT_EQ((*pods)["items"].size(), 2u);
  const char* cpu[] = {"150000000n", "50m"};
  const char* mem[] = {"10240Ki", "6Mi"};
  int i = 0;
  for (const auto& p : (*pods)["items"]) {
    nlohmann::json pm = {
        {"apiVersion", "metrics.k8s.io/v1beta1"},
        {"kind", "PodMetrics"},
        {"metadata", {{"name", p["metadata"]["name"]}, {"labels", p["metadata"]["labels"]}}},
        {"timestamp", "2026-11-30T12:00:00Z"},
        {"window", "15s"},
        {"containers", nlohmann::json::array({nlohmann::json{
                           {"name", "app"}, {"usage", {{"cpu", cpu[i]}, {"memory", mem[i]}}}}})}};
    ASSERT_TRUE(admin.Create(metrics, pm)) << "PodMetrics " << i;
    ++i;
  }
  // Another environment's pod in the same namespace is not counted.
  ASSERT_TRUE(admin.Create(
      metrics,
      {{"apiVersion", "metrics.k8s.io/v1beta1"},
       {"kind", "PodMetrics"},
       {"metadata", {{"name", "someone-else"}, {"labels", {{"app", "other"}}}}},
       {"containers", nlohmann::json::array({nlohmann::json{
                          {"name", "app"}, {"usage", {{"cpu", "4"}, {"memory", "1Gi"}}}}})}}));

  auto u = rt->Usage(spec, 5s);
  ASSERT_TRUE(u) << u.error().message;
  ASSERT_TRUE(u->cpu_cores);
  EXPECT_NEAR(*u->cpu_cores, 0.2, 1e-9);
  EXPECT_FALSE(u->cpu_seconds) << "the metrics API gives a rate, not a counter";
  EXPECT_EQ(u->memory_bytes, 10240 * 1024 + 6 * 1024 * 1024);
  EXPECT_EQ(u->memory_limit_bytes, 2 * 256 * 1024 * 1024);
  EXPECT_FALSE(u->network_rx_bytes);
  EXPECT_EQ(u->restarts, 0);
  // The same figures from the round's one cluster-wide list (as the RBAC user), grouped by
  // environment: the other pod's metrics are not counted, and an environment without pods
  // says so.
  auto many = rt->UsageOfMany({&idle, &spec}, 5s);
  ASSERT_EQ(many.size(), 2u);
  ASSERT_FALSE(many[0]);
  EXPECT_NE(many[0].error().message.find("no pods run"), std::string::npos)
      << many[0].error().message;
  ASSERT_TRUE(many[1]) << many[1].error().message;
  EXPECT_EQ(many[1]->cpu_cores, u->cpu_cores);
  EXPECT_EQ(many[1]->memory_bytes, u->memory_bytes);
  EXPECT_EQ(many[1]->memory_limit_bytes, u->memory_limit_bytes);
  EXPECT_EQ(many[1]->restarts, u->restarts);

  ASSERT_TRUE(admin.Delete(crd_path, "Background"));
  ASSERT_TRUE(rt->Remove("team", "metered"));
}

}  // namespace
}  // namespace berth::kube
