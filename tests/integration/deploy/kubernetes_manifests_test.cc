// The Kubernetes manifests (deploy/kubernetes, kustomize) and the Helm chart (deploy/helm/berth)
// against the real kube-apiserver of the Kubernetes tier: `kubectl kustomize` and
// `helm template` output applied with server-side dry-run (every object valid for this API
// version, every field known), `helm lint`, and the chart rendering the same objects as the
// kustomize bases (kind, namespace, name; the ClusterRole's rules equal).
// helm comes from tests/support/k8s/ensure_helm.sh (pinned, built from the Go module proxy).
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <set>
#include <tuple>

#include "support/k8s/control_plane.h"
#include "util/fs.h"
#include "util/process.h"

namespace berth::testing {
namespace {

using nlohmann::json;

std::string Source(const std::string& rel) {
  return std::string(BERTH_SOURCE_DIR) + "/" + rel;
}

// HELM_VERSION from tests/support/k8s/versions.sh, and ensure_helm.sh's cache path.
std::string Helm() {
  if (const char* h = std::getenv("BERTH_HELM")) return h;
  std::ifstream in(Source("tests/support/k8s/versions.sh"));
  std::string line, version;
  while (std::getline(in, line))
    if (line.rfind("HELM_VERSION=", 0) == 0) version = line.substr(13);
  const char* cache = std::getenv("BERTH_CACHE");
  const char* home = std::getenv("HOME");
  std::string root = cache ? cache : std::string(home ? home : "/root") + "/.cache/berth";
  return root + "/helm-" + version + "/bin/helm";
}

util::CommandResult Exec(const std::vector<std::string>& argv) {
  auto r = util::RunCommand(argv, std::chrono::seconds(120));
  if (!r) return util::CommandResult{-1, "", r.error().message, false};
  return *r;
}

json ToJson(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      json j = json::object();
      for (const auto& kv : n) j[kv.first.as<std::string>()] = ToJson(kv.second);
      return j;
    }
    case YAML::NodeType::Sequence: {
      json j = json::array();
      for (const auto& e : n) j.push_back(ToJson(e));
      return j;
    }
    case YAML::NodeType::Scalar:
      return n.as<std::string>();
    default:
      return nullptr;
  }
}

std::vector<json> Objects(const std::string& yaml) {
  std::vector<json> out;
  for (const auto& doc : YAML::LoadAll(yaml))
    if (doc.IsMap()) out.push_back(ToJson(doc));
  return out;
}

using ObjectId = std::tuple<std::string, std::string, std::string>;  // kind, namespace, name
std::set<ObjectId> Ids(const std::vector<json>& objs) {
  std::set<ObjectId> ids;
  for (const auto& o : objs)
    ids.insert({o.value("kind", ""), o["metadata"].value("namespace", ""),
                o["metadata"].value("name", "")});
  return ids;
}

json ClusterRoleRules(const std::vector<json>& objs) {
  for (const auto& o : objs)
    if (o.value("kind", "") == "ClusterRole") return o["rules"];
  return nullptr;
}

class KubernetesManifests : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (ControlPlane::SkipRequested()) return;
    ControlPlaneOptions o;
    o.controllers = false;  // server-side dry-run needs only the API server
    o.kwok = false;
    auto cp = ControlPlane::Start(o);
    ASSERT_TRUE(cp) << cp.error().message;
    cp_ = cp->release();
    // Namespaced objects are dry-run into an existing namespace.
    auto ns = cp_->Kubectl({"create", "namespace", "berth-system"});
    ASSERT_TRUE(ns && ns->exit_code == 0) << (ns ? ns->err : ns.error().message);
  }
  static void TearDownTestSuite() {
    delete cp_;
    cp_ = nullptr;
  }
  void SetUp() override {
    if (ControlPlane::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_KUBERNETES=1";
    ASSERT_NE(cp_, nullptr);
  }

  std::string Kustomize(const std::string& dir) {
    auto r = cp_->Kubectl({"kustomize", Source(dir)});
    EXPECT_TRUE(r && r->exit_code == 0) << dir << ": " << (r ? r->err : r.error().message);
    return r ? r->out : "";
  }
  std::string HelmTemplate(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv{
        Helm(), "template", "berth", Source("deploy/helm/berth"), "--namespace", "berth-system"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto r = Exec(argv);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }
  // Server-side apply, dry-run: the API server validates (and defaults) every object.
  void DryRun(const std::string& yaml, const std::string& what) {
    ASSERT_FALSE(yaml.empty()) << what;
    util::TempDir d("berth-manifests");
    ASSERT_TRUE(util::WriteFileAtomic(d.path() + "/m.yaml", yaml));
    auto r =
        cp_->Kubectl({"apply", "--server-side", "--dry-run=server", "--field-manager=berth-test",
                      "--validate=strict", "-f", d.path() + "/m.yaml"});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->exit_code, 0) << what << ":\n" << r->out << r->err;
  }

  static ControlPlane* cp_;
};

ControlPlane* KubernetesManifests::cp_ = nullptr;

TEST_F(KubernetesManifests, KustomizeBasesAreAcceptedByTheApiServer) {
  const std::string all = Kustomize("deploy/kubernetes");
  auto ids = Ids(Objects(all));
  for (const ObjectId& want :
       {ObjectId{"Deployment", "berth-system", "berth-serve"},
        ObjectId{"Service", "berth-system", "berth-serve"},
        ObjectId{"PodDisruptionBudget", "berth-system", "berth-serve"},
        ObjectId{"ConfigMap", "berth-system", "berth-config"},
        ObjectId{"ServiceAccount", "berth-system", "berth"}, ObjectId{"ClusterRole", "", "berth"},
        ObjectId{"Role", "kube-system", "berth-dns"},
        ObjectId{"DaemonSet", "berth-system", "berth-router"}})
    EXPECT_TRUE(ids.count(want)) << std::get<0>(want) << " " << std::get<2>(want);
  DryRun(all, "deploy/kubernetes");
  DryRun(Kustomize("deploy/kubernetes/serve"), "serve base alone");
  DryRun(Kustomize("deploy/kubernetes/router"), "router base alone");
  const std::string edge = Kustomize("deploy/kubernetes/examples/edge-host-network");
  EXPECT_NE(edge.find("hostNetwork: true"), std::string::npos);
  EXPECT_NE(edge.find("registry.example.com/berth:0.1.0"), std::string::npos);
  DryRun(edge, "edge-host-network overlay");
}

TEST_F(KubernetesManifests, HelmChartLintsAndIsAcceptedByTheApiServer) {
  auto lint = Exec({Helm(), "lint", Source("deploy/helm/berth")});
  EXPECT_EQ(lint.exit_code, 0) << lint.out << lint.err;
  DryRun(HelmTemplate(), "helm template (defaults)");
  const std::string host = HelmTemplate({"--set", "router.hostNetwork=true", "--set",
                                         "baseDomains={a.example.com,b.example.com}", "--set",
                                         "store=etcd://10.0.0.1:2379\\,10.0.0.2:2379"});
  EXPECT_NE(host.find("hostNetwork: true"), std::string::npos);
  EXPECT_NE(host.find(R"(base_domains = ["a.example.com", "b.example.com"])"), std::string::npos)
      << host;
  DryRun(host, "helm template (hostNetwork, two base domains)");
}

TEST_F(KubernetesManifests, TheChartRendersTheSameObjectsAsTheKustomizeBases) {
  auto kust = Objects(Kustomize("deploy/kubernetes"));
  auto helm = Objects(HelmTemplate());
  std::set<ObjectId> k = Ids(kust), h = Ids(helm);
  k.erase({"Namespace", "", "berth-system"});  // helm installs into --namespace
  EXPECT_EQ(k, h);
  EXPECT_EQ(ClusterRoleRules(kust), ClusterRoleRules(helm))
      << "deploy/helm/berth/files/cluster-rules.yaml differs from "
         "deploy/kubernetes/serve/rbac.yaml";
}

}  // namespace
}  // namespace berth::testing
