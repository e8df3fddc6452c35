// KubernetesRuntime: runs each environment as a Deployment (or, for the original's clusters,
// a ReplicationController) plus a NodePort Service, written with server-side apply.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "berth/config.h"
#include "berth/runtime.h"
#include "runtime/kubernetes/client.h"
#include "runtime/kubernetes/object_cache.h"
#include "runtime/kubernetes/pod_metrics.h"
#include "runtime/kubernetes/pod_status.h"
#include "runtime/registry_auth.h"

namespace berth::kube {

struct KubeRuntimeOptions {
  std::string namespace_prefix;  // Berth "x" -> Kubernetes prefix + "x"
  std::string default_controller = "deployment";
  std::string storage_class;  // set = a PVC vol-<name> per environment
  std::string claim_size = "1Gi";
  std::string host_path_root = "/mnt";  // else host path <root>/<name>
  std::vector<std::string> image_pull_secrets;
  // Registry logins, written as one dockerconfigjson Secret per namespace and named in every
  // pod's imagePullSecrets (null = none).
  std::shared_ptr<const runtime::RegistryCredentials> credentials;
  // How Remove cascades. Background: the workload goes at once, the garbage collector deletes
  // its ReplicaSets and pods, and Remove watches until the pods are gone (Foreground blocks on
  // the collector's per-level queue and measured several times slower).
  std::string propagation = "Background";
  // Apply waits (by watching pods) until the generation runs, fails, or this passes.
  std::chrono::seconds apply_wait{180};
  std::chrono::seconds remove_wait{180};
};

class KubernetesRuntime : public runtime::Runtime {
 public:
  KubernetesRuntime(std::shared_ptr<KubeClient> client, KubeRuntimeOptions opts);

  std::string Name() const override { return "kubernetes"; }
  // Host directories as hostPath volumes (with a storage class it makes PVCs itself), NodePorts
  // the cluster assigns, pods whose readiness is their own.
  runtime::Capabilities capabilities() const override {
    return {.host_dir_mount = VolumeMount::Kind::kHostPath,
            .allocates_host_ports = false,
            .local_host_ports = false,
            .probe_http = false,
            .async_submit = true,
            .batch_usage = true};
  }
  Status Apply(const EnvironmentSpec& spec, const VolumeMount& volume,
               const runtime::ProgressFn& progress) override;
  // The objects applied, nothing awaited: the pods' progress arrives through WatchChanges and
  // Inspect (a first rollout that cannot start is reported Failed there).
  Status Submit(const EnvironmentSpec& spec, const VolumeMount& volume,
                const runtime::ProgressFn& progress) override;
  Result<runtime::WorkloadStatus> Inspect(const EnvironmentSpec& spec) override;
  // Applies the workload again with 0 replicas (same field manager: waking is the same apply
  // with the replicas back) and waits, up to apply_wait, for its pods to go.
  Status Sleep(const EnvironmentSpec& spec, const VolumeMount& volume) override;
  Status Remove(std::string_view ns, std::string_view name) override;
  // The 0-replica apply only; the deletes of Remove only, then whether nothing of ours is left
  // (workloads and pods): neither waits.
  Status SubmitSleep(const EnvironmentSpec& spec, const VolumeMount& volume) override;
  Result<bool> SubmitRemove(std::string_view ns, std::string_view name) override;
  Status Logs(const EnvironmentSpec& spec, const runtime::LogOptions& opts,
              const runtime::LogSink& sink) override;
  // Runs argv in every running pod of the environment through the pods/exec subresource
  // (exec.h), one after the other: the first non-zero exit code, else 0. kUnavailable when no
  // pod runs or the cluster refuses exec (RBAC, a node without it): the caller rolls out instead.
  Result<int> Exec(const EnvironmentSpec& spec, const std::vector<std::string>& argv,
                   std::chrono::milliseconds timeout, std::string* output) override;
  Result<std::vector<runtime::OwnedWorkload>> ListManaged() override;
  Status Ping(std::chrono::milliseconds deadline) override;
  // CPU and memory from the cluster's metrics API (metrics.k8s.io, served by metrics-server),
  // restarts from the pods; kUnavailable "metrics unavailable: ..." where the cluster does not
  // serve that API. Network counters are not part of it: they stay unknown.
  std::vector<Result<runtime::WorkloadUsage>> UsageOfMany(
      const std::vector<const EnvironmentSpec*>& specs,
      std::chrono::milliseconds deadline) override;
  Result<runtime::WorkloadUsage> Usage(const EnvironmentSpec& spec,
                                       std::chrono::milliseconds deadline) override;
  // One cluster-wide list + watch per kind Berth makes (pod_changes.cc): a pod that crashes,
  // is evicted or rescheduled names its environment at once, and while it runs Inspect and
  // the deletes read these caches instead of the API server.
  std::unique_ptr<runtime::ChangeWatch> WatchChanges(runtime::ChangeFn fn) override;

  // True while WatchChanges runs and its caches have listed (reads then need no request).
  bool CachesSynced() { return SyncedCaches() != nullptr; }

  std::string KubeNamespace(std::string_view berth_ns) const;
  // The Berth environment an object belongs to, from its owner labels — only if it lives in
  // that environment's Kubernetes namespace, i.e. this installation made it; nullopt otherwise.
  std::optional<std::pair<std::string, std::string>> OwnerOf(const nlohmann::json& obj) const;
  // Which installation an object belongs to. Its workload id (for adoption) is
  // "<kubernetes namespace>/<environment name>", shared by the environment's objects.
  runtime::Owner InstallationOwner(const nlohmann::json& obj) const;
  KubeClient& client() { return *client_; }
  const KubeRuntimeOptions& options() const { return opts_; }

  // Watches the environment's pods until `done(summary)` is true or `timeout` passes
  // (kTimeout). Relists when the watch's resource version is too old.
  Result<PodSummary> WaitForPods(const std::string& kns, const std::string& selector,
                                 int64_t want_generation,
                                 const std::function<bool(const PodSummary&)>& done,
                                 std::chrono::seconds timeout);

 private:
  // An environment's live pods and their containers' restarts.
  struct PodCounts {
    int live = 0;
    int64_t restarts = 0;
    void Add(const nlohmann::json& pod);  // a terminating pod does not count
  };
  // "metrics unavailable: …" where the cluster serves no metrics.k8s.io, else `e`.
  static Error MetricsError(const Error& e);
  // The usage from the environment's summed PodMetrics and its pods.
  static Result<runtime::WorkloadUsage> UsageFrom(const EnvironmentSpec& spec,
                                                  const PodMetricsSum& sum, const PodCounts& pods);
  std::string ControllerOf(const EnvironmentSpec& spec) const;
  Status EnsureNamespace(const std::string& kns);
  Result<VolumeMount> ResolveVolume(const EnvironmentSpec& spec, const VolumeMount& given,
                                    const std::string& kns);
  // OK if nothing is at `path` or it is this installation's; kAlreadyExists naming the owner if
  // another installation (or an unadopted earlier release) made it.
  Status RefuseForeign(const std::string& path, const std::string& what);
  // Writes the namespace's pull Secret from the current logins when they changed; its name, or
  // "" when there are no logins.
  Result<std::string> EnsurePullSecret(const std::string& kns);
  // Apply's objects (namespace, workload, Service), refusing another installation's names.
  Status ApplyObjects(const EnvironmentSpec& spec, const VolumeMount& volume,
                      const std::function<void(const std::string&)>& say);
  // Remove's first step and SubmitRemove's only one: deletes this installation's workload and
  // Service of `name` (unless already terminating) and says which of ours still exist.
  struct Deletion {
    std::vector<std::string> workloads;  // collections holding a workload of ours
    bool service = false;                // our Service still exists
    bool foreign = false;                // another installation holds an object of this name
  };
  Result<Deletion> DeleteOwned(const std::string& kns, const std::string& name);
  Status WaitGone(const std::string& collection, const std::string& name,
                  std::chrono::steady_clock::time_point deadline);

  // The objects WatchChanges follows, while it runs.
  struct Caches {
    std::unique_ptr<ObjectCache> pods, deployments, rcs, services;
    ObjectCache* Workloads(const std::string& controller) const;
  };
  // The caches when every one has listed; nullptr = ask the API server.
  std::shared_ptr<Caches> SyncedCaches();
  // The object `kns`/`name` from `cache` when it holds it, else from the API server (`path`);
  // absence is only ever the API server's word.
  Result<nlohmann::json> Lookup(ObjectCache* cache, const std::string& kns, const std::string& name,
                                const std::string& path);
  // An environment's pods: from the pods cache when `caches` is set (no request), else listed
  // by its label selector.
  Result<std::vector<nlohmann::json>> PodsOf(const Caches* caches, const std::string& kns,
                                             const EnvironmentSpec& spec);
  // The pods cache's index of an environment's pods.
  static std::string PodIndex(const std::string& kns, const std::string& ns,
                              const std::string& name);
  // Logs and Exec refuse an environment whose workload another installation made: this says so.
  Error NotOurPods(const EnvironmentSpec& spec, const std::string& kns,
                   const nlohmann::json& workload) const;
  // Inspect's reading of the objects, wherever they came from.
  runtime::WorkloadStatus Summarize(const EnvironmentSpec& spec, const std::string& controller,
                                    const std::string& kns, const nlohmann::json& workload,
                                    const std::map<std::string, nlohmann::json>& pods,
                                    const nlohmann::json* service) const;

  std::shared_ptr<KubeClient> client_;
  KubeRuntimeOptions opts_;
  std::mutex mu_;
  std::shared_ptr<Caches> caches_;
  std::set<std::string> known_namespaces_;
  std::map<std::string, std::string> pull_secret_written_;  // namespace -> the content written
};

KubeRuntimeOptions RuntimeOptionsFromConfig(const berth::Config& cfg);

// Connects as kubectl would with cfg.kubeconfig / cfg.kube_context and builds the runtime.
Result<std::unique_ptr<runtime::Runtime>> MakeKubernetesRuntime(const berth::Config& cfg);

}  // namespace berth::kube

namespace berth::runtime {
using berth::kube::MakeKubernetesRuntime;
}
