// Kubernetes backend benchmark: N environments created until Running and deleted until gone,
// (a) by Berth's KubernetesRuntime driven by W workers, as the controller drives it, and
// (b) by `kubectl apply -f` of the same manifests one after another, waiting with
//     `kubectl wait --for=jsonpath={.status.phase}=Running` and deleting with
//     `kubectl delete --cascade=<propagation> --wait` then `kubectl wait --for=delete pod -l
//     <the environment's labels>`: like Remove, until every pod is gone (delete --wait alone
//     waits for the Deployment and Service, not for the pods the garbage collector removes).
// Needs a running cluster: bench/k8s/run.sh starts the loopback control plane and runs this.
//   k8s_bench --kubeconfig FILE --kubectl PATH [--count 100] [--workers 8]
//             [--propagation Foreground|Background] [--controller deployment|rc]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "berth/config.h"
#include "common/parallel.h"
#include "runtime/kubernetes/kubernetes_runtime.h"
#include "runtime/kubernetes/manifests.h"
#include "util/fs.h"
#include "util/process.h"
#include "util/strings.h"

using namespace berth;
using bench::Clock;
using bench::Parallel;
using bench::Seconds;

namespace {

std::string g_controller = "deployment";  // --controller: deployment | rc (the original's)

EnvironmentSpec Spec(const std::string& ns, int i) {
  EnvironmentSpec s;
  s.controller = g_controller;
  s.ns = ns;
  s.name = "env-" + std::to_string(i);
  s.image = "registry.local/dev/app:1";
  s.ports = DefaultPorts();
  return s;
}

Status Kubectl(const std::string& kubectl, const std::string& kubeconfig,
               std::vector<std::string> args) {
  args.insert(args.begin(), {kubectl, "--kubeconfig=" + kubeconfig});
  auto r = util::RunCommand(args, std::chrono::seconds(300));
  if (!r) return Fail(r.error());
  if (r->exit_code != 0) return Fail(ErrorCode::kFailed, "kubectl: " + r->err);
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  std::string kubeconfig, kubectl = "kubectl";
  int count = 100, workers = 8;
  std::string propagation = "";  // "" = the runtime default
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--kubeconfig")
      kubeconfig = argv[i + 1];
    else if (a == "--kubectl")
      kubectl = argv[i + 1];
    else if (a == "--count")
      count = std::stoi(argv[i + 1]);
    else if (a == "--workers")
      workers = std::stoi(argv[i + 1]);
    else if (a == "--propagation")
      propagation = argv[i + 1];
    else if (a == "--controller")
      g_controller = argv[i + 1];
  }
  if (g_controller != "deployment" && g_controller != "rc") {
    std::cerr << "--controller must be deployment or rc\n";
    return 2;
  }
  Config cfg;
  cfg.kubeconfig = kubeconfig;
  cfg.kube_namespace_prefix = "bench-";
  auto made = kube::MakeKubernetesRuntime(cfg);
  if (!made) {
    std::cerr << made.error().message << "\n";
    return 1;
  }
  auto& base = static_cast<kube::KubernetesRuntime&>(**made);
  auto ro = base.options();
  if (!propagation.empty()) ro.propagation = propagation;
  kube::KubernetesRuntime rt(std::make_shared<kube::KubeClient>(base.client().connection()), ro);

  // (a) Berth.
  auto t0 = Clock::now();
  int fa = Parallel(count, workers,
                    [&](int i) { return rt.Apply(Spec("berth", i), VolumeMount{}, nullptr); });
  auto t1 = Clock::now();
  int fr = Parallel(count, workers,
                    [&](int i) { return rt.Remove("berth", "env-" + std::to_string(i)); });
  auto t2 = Clock::now();

  // (b) kubectl, the same objects, one after another.
  util::TempDir dir("berth-k8s-bench");
  kube::ManifestOptions mo{
      "bench-kubectl", g_controller, {}, {VolumeMount::Kind::kHostPath, "", "/apps"}};
  std::vector<std::string> files;
  for (int i = 0; i < count; ++i) {
    auto s = Spec("kubectl", i);
    mo.volume.source = "/mnt/" + s.name;
    nlohmann::json list = {{"apiVersion", "v1"},
                           {"kind", "List"},
                           {"items",
                            {g_controller == "rc" ? kube::ReplicationControllerManifest(s, mo)
                                                  : kube::DeploymentManifest(s, mo),
                             kube::ServiceManifest(s, mo)}}};
    files.push_back(dir.path() + "/" + s.name + ".json");
    (void)util::WriteFileAtomic(files.back(), list.dump(2));
  }
  (void)Kubectl(kubectl, kubeconfig, {"create", "namespace", "bench-kubectl"});
  auto t3 = Clock::now();
  int fk = 0;
  for (int i = 0; i < count; ++i) {
    auto s = Kubectl(kubectl, kubeconfig, {"apply", "-f", files[i]});
    // Until Running, as Berth waits: the pod may not exist yet right after the apply.
    for (int tries = 0; s && tries < 600; ++tries) {
      auto w = Kubectl(kubectl, kubeconfig,
                       {"-n", "bench-kubectl", "wait", "pod", "-l",
                        kube::SelectorString("kubectl", "env-" + std::to_string(i)),
                        "--for=jsonpath={.status.phase}=Running", "--timeout=300s"});
      if (w) break;
      if (w.error().message.find("no matching resources") == std::string::npos) s = w;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!s) {
      ++fk;
      std::fprintf(stderr, "kubectl env %d: %s\n", i, s.error().message.c_str());
    }
  }
  auto t4 = Clock::now();
  int fkd = 0;
  for (int i = 0; i < count; ++i) {
    auto s = Kubectl(
        kubectl, kubeconfig,
        {"delete", "-f", files[i], "--cascade=" + util::ToLower(ro.propagation), "--wait=true"});
    // The same end state as Remove: no pod of the environment left (none matching is done).
    if (s)
      s = Kubectl(kubectl, kubeconfig,
                  {"-n", "bench-kubectl", "wait", "pod", "-l",
                   kube::SelectorString("kubectl", "env-" + std::to_string(i)), "--for=delete",
                   "--timeout=300s"});
    if (!s) {
      ++fkd;
      std::fprintf(stderr, "kubectl delete env %d: %s\n", i, s.error().message.c_str());
    }
  }
  auto t5 = Clock::now();

  double bc = Seconds(t0, t1), bd = Seconds(t1, t2), kc = Seconds(t3, t4), kd = Seconds(t4, t5);
  std::printf("environments: %d, Berth workers: %d, controller: %s\n", count, workers,
              g_controller.c_str());
  std::printf("%-36s %10s %10s %10s\n", "", "create(s)", "delete(s)", "total(s)");
  std::printf("%-36s %10.1f %10.1f %10.1f\n", "berth KubernetesRuntime (parallel)", bc, bd,
              bc + bd);
  std::printf("%-36s %10.1f %10.1f %10.1f\n", "kubectl apply/delete (sequential)", kc, kd, kc + kd);
  std::printf("ratio kubectl/berth: create %.1fx, delete %.1fx, total %.1fx\n", kc / bc, kd / bd,
              (kc + kd) / (bc + bd));
  std::printf("failures: berth create %d delete %d, kubectl create %d delete %d\n", fa, fr, fk,
              fkd);
  return (fa || fr || fk || fkd) ? 1 : 0;
}
