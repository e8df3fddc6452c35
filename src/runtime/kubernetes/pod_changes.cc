// KubernetesRuntime::WatchChanges: one list + watch (an ObjectCache) per kind Berth makes —
// pods, Deployments, ReplicationControllers, Services — across namespaces. Each change names
// its environment to the controller at once, and while the watch runs, Inspect reads these
// caches instead of asking the API server.
#include <spdlog/spdlog.h>

#include "berth/validate.h"
#include "runtime/kubernetes/kubernetes_runtime.h"
#include "runtime/kubernetes/manifests.h"

namespace berth::kube {

using nlohmann::json;

namespace {

// The caches live as long as the watch handed to the controller.
class CachedChanges final : public runtime::ChangeWatch {
 public:
  explicit CachedChanges(std::function<void()> stop) : stop_(std::move(stop)) {}
  ~CachedChanges() override { stop_(); }

 private:
  std::function<void()> stop_;
};

}  // namespace

std::string KubernetesRuntime::PodIndex(const std::string& kns, const std::string& ns,
                                        const std::string& name) {
  return kns + "|" + ns + "/" + name;
}

std::unique_ptr<runtime::ChangeWatch> KubernetesRuntime::WatchChanges(runtime::ChangeFn fn) {
  const std::string selector = std::string(runtime::kLabelManagedBy) + "=" + kManagedByValue;
  auto notify = [this, fn](const json& obj) {
    if (InstallationOwner(obj) == runtime::Owner::kOther) return;  // its own Berth follows it
    auto owner = OwnerOf(obj);
    if (owner && ValidateNamespace(owner->first) && ValidateName(owner->second))
      fn(owner->first, owner->second);
  };
  auto caches = std::make_shared<Caches>();
  auto make = [&](const char* coll, std::function<void(json&)> trim,
                  std::function<std::string(const json&)> index) {
    return std::make_unique<ObjectCache>(
        client_, ObjectCacheOptions{coll, selector, std::move(trim), std::move(index), notify});
  };
  caches->pods = make("/api/v1/pods", TrimPod, [](const json& pod) {
    const auto& md = Field(pod, "metadata");
    const auto& labels = Field(md, "labels");
    return PodIndex(StrField(md, "namespace"), StrField(labels, runtime::kLabelNamespace),
                    StrField(labels, runtime::kLabelName));
  });
  caches->deployments = make("/apis/apps/v1/deployments", TrimWorkload, nullptr);
  caches->rcs = make("/api/v1/replicationcontrollers", TrimWorkload, nullptr);
  caches->services = make("/api/v1/services", TrimService, nullptr);
  for (auto* c : {&caches->pods, &caches->deployments, &caches->rcs, &caches->services})
    (*c)->Start();
  {
    std::lock_guard lock(mu_);
    caches_ = caches;
  }
  return std::make_unique<CachedChanges>([this, caches] {
    {
      std::lock_guard lock(mu_);
      if (caches_ == caches) caches_.reset();
    }
    for (auto* c : {&caches->pods, &caches->deployments, &caches->rcs, &caches->services})
      (*c)->Stop();
  });
}

std::shared_ptr<KubernetesRuntime::Caches> KubernetesRuntime::SyncedCaches() {
  std::shared_ptr<Caches> c;
  {
    std::lock_guard lock(mu_);
    c = caches_;
  }
  if (!c || !c->pods->synced() || !c->deployments->synced() || !c->rcs->synced() ||
      !c->services->synced())
    return nullptr;
  return c;
}

ObjectCache* KubernetesRuntime::Caches::Workloads(const std::string& controller) const {
  return controller == "rc" ? rcs.get() : deployments.get();
}

}  // namespace berth::kube
