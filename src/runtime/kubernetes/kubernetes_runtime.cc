#include "runtime/kubernetes/kubernetes_runtime.h"

#include <algorithm>
#include <string_view>
#include <thread>
#include <tuple>

#include "berth/validate.h"
#include "runtime/kubernetes/exec.h"
#include "runtime/kubernetes/manifests.h"
#include "runtime/kubernetes/pod_metrics.h"
#include "util/base64.h"
#include "util/strings.h"

namespace berth::kube {
namespace {

constexpr char kCore[] = "/api/v1";
constexpr char kApps[] = "/apis/apps/v1";

bool IsNotFound(const Error& e) {
  return e.code == ErrorCode::kNotFound;
}

std::string WorkloadCollection(const std::string& kns, const std::string& controller) {
  return controller == "rc" ? NamespacedPath(kCore, kns, "replicationcontrollers")
                            : NamespacedPath(kApps, kns, "deployments");
}

std::string Kind(const std::string& controller) {
  return controller == "rc" ? "ReplicationController" : "Deployment";
}

std::string Uid(const nlohmann::json& obj) {
  if (!obj.contains("metadata")) return "";
  return obj["metadata"].value("uid", "");
}

std::string ResourceVersion(const nlohmann::json& obj) {
  if (!obj.contains("metadata")) return "";
  return obj["metadata"].value("resourceVersion", "");
}

}  // namespace

KubernetesRuntime::KubernetesRuntime(std::shared_ptr<KubeClient> client, KubeRuntimeOptions opts)
    : client_(std::move(client)), opts_(std::move(opts)) {}

std::string KubernetesRuntime::KubeNamespace(std::string_view berth_ns) const {
  return opts_.namespace_prefix + std::string(berth_ns);
}

std::string KubernetesRuntime::ControllerOf(const EnvironmentSpec& spec) const {
  std::string c = spec.controller.empty() ? opts_.default_controller : spec.controller;
  c = util::ToLower(c);
  if (c == "replicationcontroller") c = "rc";
  return c;
}

Status KubernetesRuntime::EnsureNamespace(const std::string& kns) {
  {
    std::lock_guard lock(mu_);
    if (known_namespaces_.count(kns)) return {};
  }
  auto got = client_->Get(std::string(kCore) + "/namespaces/" + kns);
  if (!got) {
    if (!IsNotFound(got.error())) return Fail(got.error());
    auto made = client_->Create(std::string(kCore) + "/namespaces", NamespaceManifest(kns));
    if (!made && made.error().code != ErrorCode::kAlreadyExists) return Fail(made.error());
  }
  std::lock_guard lock(mu_);
  known_namespaces_.insert(kns);
  return {};
}

Result<std::string> KubernetesRuntime::EnsurePullSecret(const std::string& kns) {
  if (!opts_.credentials) return std::string();
  // Read afresh on every apply: a rotated password reaches the Secret with the next rollout.
  auto all = opts_.credentials->All();
  if (!all) return Fail(ErrorCode::kFailed, "registry credentials: " + all.error().message);
  if (all->empty()) return std::string();
  nlohmann::json auths = nlohmann::json::object();
  for (const auto& c : *all) {
    // docker.io is keyed as the Docker CLI writes it, which kubelet matches too.
    const std::string key = c.registry == "docker.io" ? "https://index.docker.io/v1/" : c.registry;
    nlohmann::json e = nlohmann::json::object();
    if (!c.identity_token.empty()) {
      e["identitytoken"] = c.identity_token;
    } else {
      e["username"] = c.username;
      e["password"] = c.password;
      e["auth"] = util::Base64Encode(c.username + ":" + c.password);
    }
    auths[key] = e;
  }
  const std::string content = nlohmann::json{{"auths", auths}}.dump();
  // One per installation, so two installations sharing a namespace never overwrite each other.
  const std::string name =
      ownership_.installation.empty() ? "berth-pull" : "berth-pull-" + ownership_.installation;
  {
    std::lock_guard lock(mu_);
    if (auto it = pull_secret_written_.find(kns);
        it != pull_secret_written_.end() && it->second == content)
      return name;
  }
  const std::string path = NamespacedPath(kCore, kns, "secrets", name);
  if (auto s = RefuseForeign(path, "Secret " + kns + "/" + name); !s) return Fail(s.error());
  if (auto r =
          client_->Apply(path, PullSecretManifest(name, kns, content, ownership_.installation));
      !r)
    return Fail(Wrap(r.error(), "registry pull Secret " + kns + "/" + name));
  std::lock_guard lock(mu_);
  pull_secret_written_[kns] = content;
  return name;
}

Result<VolumeMount> KubernetesRuntime::ResolveVolume(const EnvironmentSpec& spec,
                                                     const VolumeMount& given,
                                                     const std::string& kns) {
  VolumeMount v;
  v.target = spec.volume_mount;
  if (spec.volume_mount.empty()) return v;
  switch (given.kind) {
    case VolumeMount::Kind::kClaim:
      v.kind = VolumeMount::Kind::kClaim;
      v.source = given.source;
      return v;
    case VolumeMount::Kind::kHostPath:
    case VolumeMount::Kind::kBind:  // a node-local directory is a hostPath on Kubernetes
      v.kind = VolumeMount::Kind::kHostPath;
      v.source = given.source;
      return v;
    case VolumeMount::Kind::kNone:
      break;
  }
  if (!opts_.storage_class.empty()) {
    auto pvc =
        ClaimManifest(spec, kns, opts_.storage_class, opts_.claim_size, ownership_.installation);
    std::string path = NamespacedPath(kCore, kns, "persistentvolumeclaims", VolumeName(spec.name));
    if (auto s = RefuseForeign(path, "volume claim " + kns + "/" + VolumeName(spec.name)); !s)
      return Fail(s.error());
    auto r = client_->Apply(path, pvc);
    if (!r) return Fail(Wrap(r.error(), "volume claim"));
    v.kind = VolumeMount::Kind::kClaim;
    v.source = VolumeName(spec.name);
    return v;
  }
  // The original: /mnt/<name>, a GlusterFS directory mounted on every node.
  v.kind = VolumeMount::Kind::kHostPath;
  v.source = opts_.host_path_root + "/" + spec.name;
  return v;
}

Status KubernetesRuntime::ApplyObjects(const EnvironmentSpec& spec, const VolumeMount& volume,
                                       const std::function<void(const std::string&)>& say) {
  if (auto s = ValidateName(spec.name); !s) return s;
  if (auto s = ValidateNamespace(spec.ns); !s) return s;
  std::string controller = ControllerOf(spec);
  if (controller != "deployment" && controller != "rc")
    return Fail(ErrorCode::kInvalidArgument,
                "controller \"" + controller + "\" is not supported (deployment or rc)");
  std::string kns = KubeNamespace(spec.ns);
  if (auto s = ValidateNamespace(kns); !s) return Fail(Wrap(s.error(), "Kubernetes namespace"));
  if (auto s = EnsureNamespace(kns); !s) return s;
  // Names are shared by every installation using this Kubernetes namespace: what another one
  // made is refused before anything is written. An object the caches hold as ours needs no
  // second look; anything else (absent, or someone else's) is asked of the API server.
  auto caches = SyncedCaches();
  auto ours_cached = [&](ObjectCache* cache) {
    if (!cache) return false;
    auto obj = cache->Get(kns, spec.name);
    return obj && InstallationOwner(*obj) == runtime::Owner::kThis;
  };
  for (const char* c : {"deployment", "rc"})
    if (!ours_cached(caches ? caches->Workloads(c) : nullptr))
      if (auto s = RefuseForeign(WorkloadCollection(kns, c) + "/" + spec.name,
                                 Kind(c) + " " + kns + "/" + spec.name);
          !s)
        return s;
  if (!ours_cached(caches ? caches->services.get() : nullptr))
    if (auto s = RefuseForeign(NamespacedPath(kCore, kns, "services", spec.name),
                               "Service " + kns + "/" + spec.name);
        !s)
      return s;
  auto vol = ResolveVolume(spec, volume, kns);
  if (!vol) return Fail(vol.error());
  auto pull_secret = EnsurePullSecret(kns);
  if (!pull_secret) return Fail(pull_secret.error());

  ManifestOptions mo{kns, controller, opts_.image_pull_secrets, *vol, ownership_.installation};
  if (!pull_secret->empty()) mo.image_pull_secrets.push_back(*pull_secret);
  std::string coll = WorkloadCollection(kns, controller);
  // The generation now running decides whether an RC's pods must be recreated.
  int64_t old_generation = 0;
  if (controller == "rc") {
    auto cur = Lookup(caches ? caches->rcs.get() : nullptr, kns, spec.name, coll + "/" + spec.name);
    if (cur)
      old_generation = GenerationOf(*cur);
    else if (!IsNotFound(cur.error()))
      return Fail(cur.error());
  }
  auto manifest =
      controller == "rc" ? ReplicationControllerManifest(spec, mo) : DeploymentManifest(spec, mo);
  say("applying " + Kind(controller) + " " + kns + "/" + spec.name);
  // What the server answers goes into the caches at once, so the Inspect right after sees it.
  auto applied = client_->Apply(coll + "/" + spec.name, manifest);
  if (!applied) return Fail(applied.error());
  if (caches) caches->Workloads(controller)->Observe(*applied);
  auto svc =
      client_->Apply(NamespacedPath(kCore, kns, "services", spec.name), ServiceManifest(spec, mo));
  if (!svc) return Fail(svc.error());
  if (caches) caches->services->Observe(*svc);
  // Switching controller kinds: the other kind must go, with its pods (when the caches know
  // there is none of ours, there is nothing to delete: another's was refused above).
  std::string other = controller == "rc" ? "deployment" : "rc";
  if (!caches || caches->Workloads(other)->Get(kns, spec.name))
    if (auto d =
            client_->Delete(WorkloadCollection(kns, other) + "/" + spec.name, opts_.propagation);
        !d && !IsNotFound(d.error()))
      return Fail(d.error());
  if (controller == "rc" && old_generation != 0 && old_generation != spec.generation) {
    // An RC never replaces pods when its template changes: delete the old generation's pods and
    // let the RC create new ones from the new template.
    say("recreating pods of generation " + std::to_string(old_generation));
    std::string sel = SelectorString(spec) + "," + std::string(runtime::kLabelGeneration) +
                      "!=" + std::to_string(spec.generation);
    if (auto s = client_->DeleteCollection(NamespacedPath(kCore, kns, "pods"), sel, "Background");
        !s)
      return s;
  }
  return {};
}

Status KubernetesRuntime::Apply(const EnvironmentSpec& spec, const VolumeMount& volume,
                                const runtime::ProgressFn& progress) {
  auto say = [&](const std::string& m) {
    if (progress) progress(m);
  };
  if (auto s = ApplyObjects(spec, volume, say); !s) return s;
  const std::string kns = KubeNamespace(spec.ns);
  say("waiting for pods of generation " + std::to_string(spec.generation));
  auto summary = WaitForPods(
      kns, SelectorString(spec), spec.generation,
      [&](const PodSummary& s) {
        return s.phase == Phase::kFailed ||
               (s.phase == Phase::kRunning && s.running_generation == spec.generation);
      },
      opts_.apply_wait);
  if (!summary) {
    if (summary.error().code == ErrorCode::kTimeout) {
      say("still pending after " + std::to_string(opts_.apply_wait.count()) + "s");
      return {};  // Inspect keeps reporting the reason; the controller re-checks
    }
    return Fail(summary.error());
  }
  if (summary->phase == Phase::kFailed)
    return Fail(ErrorCode::kFailed,
                summary->reason + (summary->message.empty() ? "" : ": " + summary->message));
  say("running on " + summary->host_ip);
  return {};
}

Status KubernetesRuntime::Submit(const EnvironmentSpec& spec, const VolumeMount& volume,
                                 const runtime::ProgressFn& progress) {
  return ApplyObjects(spec, volume, [&](const std::string& m) {
    if (progress) progress(m);
  });
}

Status KubernetesRuntime::SubmitSleep(const EnvironmentSpec& spec, const VolumeMount& volume) {
  if (!spec.sleeping) return Fail(ErrorCode::kInvalidArgument, "Sleep of a spec not sleeping");
  // Nothing of ours to stop: nothing is created either (waking creates it).
  auto now = Inspect(spec);
  if (!now) return Fail(now.error());
  if (!now->exists) return {};
  // The same server-side apply as Apply, with replicas 0 (the manifests read spec.sleeping):
  // one field manager owns replicas, so waking is the plain apply with the replicas back.
  return ApplyObjects(spec, volume, [](const std::string&) {});
}

Status KubernetesRuntime::Sleep(const EnvironmentSpec& spec, const VolumeMount& volume) {
  if (auto s = SubmitSleep(spec, volume); !s) return s;
  const std::string kns = KubeNamespace(spec.ns);
  auto deadline = std::chrono::steady_clock::now() + opts_.apply_wait;
  while (std::chrono::steady_clock::now() < deadline) {
    auto list = client_->List(NamespacedPath(kCore, kns, "pods"), SelectorString(spec));
    if (!list) return Fail(list.error());
    if ((*list)["items"].empty()) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return {};  // pods still terminating: Inspect says "Stopping" and the controller looks again
}

Result<PodSummary> KubernetesRuntime::WaitForPods(
    const std::string& kns, const std::string& selector, int64_t want,
    const std::function<bool(const PodSummary&)>& done, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string coll = NamespacedPath(kCore, kns, "pods");
  PodSummary last;
  for (;;) {
    auto list = client_->List(coll, selector);
    if (!list) return Fail(list.error());
    std::map<std::string, nlohmann::json> pods;
    for (const auto& p : (*list)["items"]) pods[Uid(p)] = p;
    last = SummarizePods(pods, want, nullptr);
    if (done(last)) return last;
    std::string rv = ResourceVersion(*list);
    bool finished = false;
    while (!finished) {
      auto left = std::chrono::duration_cast<std::chrono::seconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        return Fail(ErrorCode::kTimeout, "pods " + selector + ": " + last.reason);
      Status w = client_->Watch(coll, selector, rv, int(std::min<int64_t>(left.count(), 60)),
                                [&](const WatchEvent& ev) {
                                  std::string nrv = ResourceVersion(ev.object);
                                  if (!nrv.empty()) rv = nrv;
                                  if (ev.type == "BOOKMARK") return true;
                                  if (ev.type == "DELETED")
                                    pods.erase(Uid(ev.object));
                                  else
                                    pods[Uid(ev.object)] = ev.object;
                                  last = SummarizePods(pods, want, nullptr);
                                  finished = done(last);
                                  return !finished;
                                });
      if (finished) return last;
      if (!w) {
        if (w.error().code == ErrorCode::kGone) break;  // relist
        return Fail(w.error());
      }
    }
  }
}

runtime::WorkloadStatus KubernetesRuntime::Summarize(
    const EnvironmentSpec& spec, const std::string& controller, const std::string& kns,
    const nlohmann::json& wl, const std::map<std::string, nlohmann::json>& pods,
    const nlohmann::json* svc) const {
  runtime::WorkloadStatus st;
  st.exists = true;
  st.id = Kind(controller) + "/" + kns + "/" + spec.name;
  if (svc) st.ports = NodePorts(*svc);
  const nlohmann::json* replicas = nullptr;
  if (auto sp = wl.find("spec"); sp != wl.end() && sp->is_object())
    if (auto r = sp->find("replicas"); r != sp->end() && r->is_number_integer()) replicas = &*r;
  if (spec.sleeping && replicas && replicas->get<int64_t>() == 0) {
    // Scaled to 0 on purpose: sleeping once its pods are gone, not a failure to repair.
    st.phase = pods.empty() ? Phase::kSleeping : Phase::kPending;
    st.reason = pods.empty() ? "Sleeping" : "Stopping";
    return st;
  }
  PodSummary s = SummarizePods(pods, spec.generation, wl);
  st.phase = s.phase;
  st.reason = s.reason;
  st.message = s.message;
  st.host_ip = s.host_ip;
  // Only pods of the wanted generation running count as that generation being observed.
  st.generation = s.phase == Phase::kRunning ? spec.generation : s.running_generation;
  return st;
}

Result<runtime::WorkloadStatus> KubernetesRuntime::Inspect(const EnvironmentSpec& spec) {
  std::string controller = ControllerOf(spec);
  std::string kns = KubeNamespace(spec.ns);
  if (auto c = SyncedCaches()) {
    // From the watch caches: no request. Our own writes reach them at once (Observe).
    auto wl = c->Workloads(controller)->Get(kns, spec.name);
    if (!wl || InstallationOwner(*wl) != runtime::Owner::kThis) return runtime::WorkloadStatus{};
    auto cached = PodsOf(c.get(), kns, spec);  // from the cache: never an error
    std::map<std::string, nlohmann::json> pods;
    for (auto& p : *cached) {
      std::string uid = Uid(p);
      pods[uid] = std::move(p);
    }
    auto svc = c->services->Get(kns, spec.name);
    return Summarize(spec, controller, kns, *wl, pods, svc ? &*svc : nullptr);
  }
  auto wl = client_->Get(WorkloadCollection(kns, controller) + "/" + spec.name);
  if (!wl) {
    if (IsNotFound(wl.error())) return runtime::WorkloadStatus{};  // exists = false
    return Fail(wl.error());
  }
  if (InstallationOwner(*wl) != runtime::Owner::kThis) return runtime::WorkloadStatus{};
  auto listed = PodsOf(nullptr, kns, spec);
  if (!listed) return Fail(listed.error());
  std::map<std::string, nlohmann::json> pods;
  for (auto& p : *listed) {
    std::string uid = Uid(p);
    pods[uid] = std::move(p);
  }
  auto svc = client_->Get(NamespacedPath(kCore, kns, "services", spec.name));
  if (!svc && !IsNotFound(svc.error())) return Fail(svc.error());
  return Summarize(spec, controller, kns, *wl, pods, svc ? &*svc : nullptr);
}

Result<std::vector<nlohmann::json>> KubernetesRuntime::PodsOf(const Caches* caches,
                                                              const std::string& kns,
                                                              const EnvironmentSpec& spec) {
  if (caches) return caches->pods->ByIndex(PodIndex(kns, spec.ns, spec.name));
  auto list = client_->List(NamespacedPath(kCore, kns, "pods"), SelectorString(spec));
  if (!list) return Fail(list.error());
  std::vector<nlohmann::json> pods;
  for (auto& p : (*list)["items"]) pods.push_back(std::move(p));
  return pods;
}

Status KubernetesRuntime::WaitGone(const std::string& collection, const std::string& name,
                                   std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    auto obj = client_->Get(collection + "/" + name);
    if (!obj) return IsNotFound(obj.error()) ? Status{} : Fail(obj.error());
    auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline -
                                                                 std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return Fail(ErrorCode::kTimeout, collection + "/" + name + " is still being deleted");
    bool gone = false;
    Status w = client_->Watch(
        collection, "", ResourceVersion(*obj), int(std::min<int64_t>(left.count(), 60)),
        [&](const WatchEvent& ev) {
          gone = ev.type == "DELETED";
          return !gone;
        },
        "metadata.name=" + name);
    if (gone) return {};
    if (!w && w.error().code != ErrorCode::kGone) return w;
  }
}

Result<nlohmann::json> KubernetesRuntime::Lookup(ObjectCache* cache, const std::string& kns,
                                                 const std::string& name, const std::string& path) {
  if (cache)
    if (auto obj = cache->Get(kns, name)) return std::move(*obj);
  return client_->Get(path);
}

Result<KubernetesRuntime::Deletion> KubernetesRuntime::DeleteOwned(const std::string& kns,
                                                                   const std::string& name) {
  Deletion d;
  auto caches = SyncedCaches();
  // Deletes it if it is ours (once: a terminating object is on its way); another installation's
  // object of the same name is left as it is. The caches answer for what they hold; that an
  // object is gone is always confirmed by the API server, so nothing is left behind.
  auto remove = [&](const std::string& path, const std::string& propagation,
                    ObjectCache* cache) -> Result<bool> {
    auto obj = Lookup(cache, kns, name, path);
    if (!obj) return IsNotFound(obj.error()) ? Result<bool>(false) : Fail(obj.error());
    if (InstallationOwner(*obj) != runtime::Owner::kThis) {
      d.foreign = true;
      return false;
    }
    if (!Terminating(*obj))
      if (auto r = client_->Delete(path, propagation); !r) {
        if (IsNotFound(r.error())) return false;
        return Fail(r.error());
      }
    return true;
  };
  // An explicit propagation policy: without it an RC's pods would be orphaned.
  for (const char* c : {"deployment", "rc"}) {
    const std::string coll = WorkloadCollection(kns, c);
    auto ours =
        remove(coll + "/" + name, opts_.propagation, caches ? caches->Workloads(c) : nullptr);
    if (!ours) return Fail(ours.error());
    if (*ours) d.workloads.push_back(coll);
  }
  auto svc = remove(NamespacedPath(kCore, kns, "services", name), "Background",
                    caches ? caches->services.get() : nullptr);
  if (!svc) return Fail(svc.error());
  d.service = *svc;
  return d;
}

Status KubernetesRuntime::Remove(std::string_view ns_view, std::string_view name_view) {
  std::string ns(ns_view), name(name_view);
  if (auto s = ValidateName(name); !s) return s;
  if (auto s = ValidateNamespace(ns); !s) return s;
  std::string kns = KubeNamespace(ns);
  auto deadline = std::chrono::steady_clock::now() + opts_.remove_wait;
  auto deletion = DeleteOwned(kns, name);
  if (!deletion) return Fail(deletion.error());
  const std::vector<std::string>& workloads = deletion->workloads;
  // Another installation's objects of the same name are left as they are; its pods then carry
  // the same selector labels, so there is nothing of ours to wait for.
  const bool foreign = deletion->foreign;
  for (const auto& coll : workloads)
    if (auto s = WaitGone(coll, name, deadline); !s) return s;
  if (foreign) return {};
  // Foreground deletion has already waited for the pods; Background has not.
  auto left =
      std::chrono::duration_cast<std::chrono::seconds>(deadline - std::chrono::steady_clock::now());
  auto pods = WaitForPods(
      kns, SelectorString(ns, name), 0, [](const PodSummary& s) { return s.all_pods == 0; },
      std::max<std::chrono::seconds>(left, std::chrono::seconds(1)));
  if (!pods) {
    if (IsNotFound(pods.error())) return {};  // the namespace itself is gone
    return Fail(Wrap(pods.error(), "waiting for pods to go"));
  }
  return {};
}

Result<bool> KubernetesRuntime::SubmitRemove(std::string_view ns_view, std::string_view name_view) {
  std::string ns(ns_view), name(name_view);
  if (auto s = ValidateName(name); !s) return Fail(s.error());
  if (auto s = ValidateNamespace(ns); !s) return Fail(s.error());
  const std::string kns = KubeNamespace(ns);
  auto d = DeleteOwned(kns, name);
  if (!d) return Fail(d.error());
  if (!d->workloads.empty() || d->service) return false;
  // A foreign workload's pods carry the same labels: there is nothing of ours to wait for.
  if (d->foreign) return true;
  if (auto c = SyncedCaches(); c && !c->pods->ByIndex(PodIndex(kns, ns, name)).empty())
    return false;  // pods still there; that none are is confirmed below
  auto pods = client_->List(NamespacedPath(kCore, kns, "pods"), SelectorString(ns, name));
  if (!pods) return IsNotFound(pods.error()) ? Result<bool>(true) : Fail(pods.error());
  return Field(*pods, "items").empty();
}

namespace {

// Why the kubelet cannot give `container`'s log yet, or "" if it can (or may). An unscheduled
// pod's log request succeeds with an empty body (no node to ask), and a container that never
// started gets a 400 "is waiting to start": both are better said plainly.
std::string NotLoggableYet(const nlohmann::json& pod, const std::string& container) {
  std::string name = StrField(Field(pod, "metadata"), "name");
  const auto& status = Field(pod, "status");
  if (StrField(Field(pod, "spec"), "nodeName").empty()) {
    std::string why = "pod " + name + " is not scheduled yet";
    for (const auto& c : Field(status, "conditions"))
      if (StrField(c, "type") == "PodScheduled" && !StrField(c, "message").empty())
        why += " (" + StrField(c, "reason") + ": " + StrField(c, "message") + ")";
    return why;
  }
  for (const auto& c : Field(status, "containerStatuses")) {
    if (StrField(c, "name") != container) continue;
    const auto& waiting = Field(Field(c, "state"), "waiting");
    // After a restart (CrashLoopBackOff) the kubelet serves the last instance's log.
    if (waiting.is_null() || !Field(Field(c, "lastState"), "terminated").is_null()) return "";
    std::string why = "container " + container + " of pod " + name + " has not started";
    if (std::string r = StrField(waiting, "reason"); !r.empty()) why += ": " + r;
    if (std::string m = StrField(waiting, "message"); !m.empty()) why += " (" + m + ")";
    return why;
  }
  return "";
}

}  // namespace

Error KubernetesRuntime::NotOurPods(const EnvironmentSpec& spec, const std::string& kns,
                                    const nlohmann::json& workload) const {
  return Error(ErrorCode::kNotFound,
               "environment " + spec.Key() + " has no pod here (" +
                   ownership_.Refusal(Kind(ControllerOf(spec)) + " " + kns + "/" + spec.name,
                                      StrField(Field(Field(workload, "metadata"), "labels"),
                                               runtime::kLabelInstallation)) +
                   ")");
}

Status KubernetesRuntime::Logs(const EnvironmentSpec& spec, const runtime::LogOptions& opts,
                               const runtime::LogSink& sink) {
  std::string kns = KubeNamespace(spec.ns);
  if (auto wl = client_->Get(WorkloadCollection(kns, ControllerOf(spec)) + "/" + spec.name);
      wl && InstallationOwner(*wl) != runtime::Owner::kThis)
    return Fail(NotOurPods(spec, kns, *wl));
  auto list = client_->List(NamespacedPath(kCore, kns, "pods"), SelectorString(spec));
  if (!list) {
    if (IsNotFound(list.error()))
      return Fail(ErrorCode::kNotFound, "environment " + spec.Key() + " has no pod");
    return Fail(list.error());
  }
  // The pod to read: not being deleted, of the newest generation, running rather than not,
  // the most recently created (RFC 3339 times in UTC compare as strings).
  const nlohmann::json* pod = nullptr;
  auto rank = [](const nlohmann::json& p) {
    return std::make_tuple(!Terminating(p), GenerationOf(p),
                           StrField(Field(p, "status"), "phase") == "Running",
                           StrField(Field(p, "metadata"), "creationTimestamp"));
  };
  for (const auto& p : (*list)["items"])
    if (!pod || rank(p) > rank(*pod)) pod = &p;
  if (!pod) return Fail(ErrorCode::kNotFound, "environment " + spec.Key() + " has no pod");
  std::string name = StrField(Field(*pod, "metadata"), "name");
  if (std::string why = NotLoggableYet(*pod, spec.name); !why.empty())
    return Fail(ErrorCode::kUnavailable, "no logs for " + spec.Key() + " yet: " + why);
  std::string q = "?container=" + util::UrlEncode(spec.name);
  if (opts.follow) q += "&follow=true";
  if (opts.tail >= 0) q += "&tailLines=" + std::to_string(opts.tail);
  if (opts.timestamps) q += "&timestamps=true";
  // An error answer (pod gone, container unknown) never reaches the sink: StreamBody returns
  // it as the error.
  auto s =
      client_->StreamBody(NamespacedPath(kCore, kns, "pods", name) + "/log" + q, sink, opts.cancel);
  if (!s) return Fail(Wrap(s.error(), "logs of " + spec.Key() + " (pod " + name + ")"));
  return {};
}

Result<int> KubernetesRuntime::Exec(const EnvironmentSpec& spec,
                                    const std::vector<std::string>& argv,
                                    std::chrono::milliseconds timeout, std::string* output) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string kns = KubeNamespace(spec.ns);
  // Only into this installation's pods: the workload must be ours before its pods are.
  auto caches = SyncedCaches();
  auto wl = Lookup(caches ? caches->Workloads(ControllerOf(spec)) : nullptr, kns, spec.name,
                   WorkloadCollection(kns, ControllerOf(spec)) + "/" + spec.name);
  if (!wl) {
    if (IsNotFound(wl.error()))
      return Fail(ErrorCode::kUnavailable, "environment " + spec.Key() + " has no workload");
    return Fail(wl.error());
  }
  if (InstallationOwner(*wl) != runtime::Owner::kThis) return Fail(NotOurPods(spec, kns, *wl));
  auto pods = PodsOf(caches.get(), kns, spec);
  if (!pods) return Fail(pods.error());
  std::vector<std::string> running;
  for (const auto& p : *pods)
    if (!Terminating(p) && StrField(Field(p, "status"), "phase") == "Running")
      running.push_back(StrField(Field(p, "metadata"), "name"));
  std::sort(running.begin(), running.end());
  if (running.empty())
    return Fail(ErrorCode::kUnavailable,
                "environment " + spec.Key() + " has no running pod to run the command in");
  // Every replica serves the same code from the same volume, so each one reloads.
  for (const auto& pod : running) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return Fail(ErrorCode::kTimeout, "exec in " + spec.Key() + ": timed out");
    std::string out;
    auto code = ExecInPod(*client_, kns, pod, spec.name, argv, left, output ? &out : nullptr);
    if (output) *output += out;
    if (!code) return Fail(code.error());
    if (*code != 0) {
      if (output) *output = "pod " + pod + ": " + *output;
      return *code;
    }
  }
  return 0;
}

std::optional<std::pair<std::string, std::string>> KubernetesRuntime::OwnerOf(
    const nlohmann::json& obj) const {
  const auto& md = Field(obj, "metadata");
  const auto& labels = Field(md, "labels");
  std::string ns = StrField(labels, runtime::kLabelNamespace);
  std::string name = StrField(labels, runtime::kLabelName);
  // Only what this installation made: the namespace must be prefix + Berth namespace.
  if (ns.empty() || name.empty() || StrField(md, "namespace") != KubeNamespace(ns))
    return std::nullopt;
  return std::make_pair(std::move(ns), std::move(name));
}

Status KubernetesRuntime::Ping(std::chrono::milliseconds deadline) {
  return client_->Ping(deadline);
}

Result<runtime::WorkloadUsage> KubernetesRuntime::Usage(const EnvironmentSpec& spec,
                                                        std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  auto left = [&] {
    return std::max(std::chrono::milliseconds(1),
                    std::chrono::duration_cast<std::chrono::milliseconds>(
                        until - std::chrono::steady_clock::now()));
  };
  const std::string kns = KubeNamespace(spec.ns);
  const std::string selector = SelectorString(spec);
  auto metrics =
      client_->List(std::string(kPodMetricsApi) + "/namespaces/" + kns + "/pods", selector, left());
  if (!metrics) return Fail(MetricsError(metrics.error()));
  auto sum = SumPodMetrics(*metrics);
  if (!sum) return Fail(sum.error());
  auto pods = client_->List(NamespacedPath(kCore, kns, "pods"), selector, left());
  if (!pods) return Fail(pods.error());
  PodCounts counts;
  for (const auto& p : Field(*pods, "items")) counts.Add(p);
  return UsageFrom(spec, *sum, counts);
}

namespace {

// The environment an object of ours belongs to: its Kubernetes namespace and the labels naming
// the environment, so only objects that the environment's own namespaced label selector
// (Usage) would list are counted. EnvIn gives the same key from the environment.
std::string EnvOfObject(const nlohmann::json& obj) {
  const auto& md = Field(obj, "metadata");
  const auto& labels = Field(md, "labels");
  return StrField(md, "namespace") + "/" + StrField(labels, runtime::kLabelNamespace) + "/" +
         StrField(labels, runtime::kLabelName);
}
std::string EnvIn(const std::string& kns, const EnvironmentSpec& spec) {
  return kns + "/" + spec.ns + "/" + spec.name;
}

}  // namespace

Error KubernetesRuntime::MetricsError(const Error& e) {
  // No such API (404), or one registered whose server is down (503).
  if (IsNotFound(e) || e.code == ErrorCode::kUnavailable)
    return Error(ErrorCode::kUnavailable,
                 "metrics unavailable: the cluster does not serve metrics.k8s.io (install "
                 "metrics-server for CPU and memory figures): " +
                     e.message);
  return e;
}

void KubernetesRuntime::PodCounts::Add(const nlohmann::json& pod) {
  if (Terminating(pod)) return;
  ++live;
  for (const auto& cs : Field(Field(pod, "status"), "containerStatuses"))
    if (const auto& n = Field(cs, "restartCount"); n.is_number_integer())
      restarts += n.get<int64_t>();
}

std::vector<Result<runtime::WorkloadUsage>> KubernetesRuntime::UsageOfMany(
    const std::vector<const EnvironmentSpec*>& specs, std::chrono::milliseconds deadline) {
  std::vector<Result<runtime::WorkloadUsage>> out;
  out.reserve(specs.size());
  auto fail_all = [&](const Error& e) {
    for (size_t i = 0; i < specs.size(); ++i) out.push_back(Fail(e));
    return out;
  };
  if (specs.empty()) return out;
  // One cluster-wide list of our pods' metrics for the whole round (metrics-server labels each
  // PodMetrics as its pod), grouped by environment.
  const std::string ours = std::string(runtime::kLabelManagedBy) + "=" + kManagedByValue;
  auto metrics = client_->List(std::string(kPodMetricsApi) + "/pods", ours, deadline);
  if (!metrics) return fail_all(MetricsError(metrics.error()));
  std::map<std::string, nlohmann::json> by_env;  // EnvOfObject -> {"items": [...]}
  if (auto items = metrics->find("items"); items != metrics->end() && items->is_array())
    for (auto& m : *items) {
      auto& list = by_env[EnvOfObject(m)];
      if (list.is_null()) list = {{"items", nlohmann::json::array()}};
      list["items"].push_back(std::move(m));
    }
  // Restarts and live pods: from the pod cache when it runs, else one list of our pods.
  std::map<std::string, PodCounts> counts;
  auto caches = SyncedCaches();
  if (!caches) {
    auto pods = client_->List("/api/v1/pods", ours, deadline);
    if (!pods) return fail_all(pods.error());
    for (const auto& p : Field(*pods, "items")) counts[EnvOfObject(p)].Add(p);
  }
  const nlohmann::json none = {{"items", nlohmann::json::array()}};
  for (const auto* spec : specs) {
    const std::string kns = KubeNamespace(spec->ns);
    const std::string key = EnvIn(kns, *spec);
    PodCounts c;
    if (caches) {
      for (const auto& p : caches->pods->ByIndex(PodIndex(kns, spec->ns, spec->name))) c.Add(p);
    } else if (auto it = counts.find(key); it != counts.end()) {
      c = it->second;
    }
    auto it = by_env.find(key);
    auto sum = SumPodMetrics(it != by_env.end() ? it->second : none);
    if (!sum) {
      out.push_back(Fail(sum.error()));
      continue;
    }
    out.push_back(UsageFrom(*spec, *sum, c));
  }
  return out;
}

Result<runtime::WorkloadUsage> KubernetesRuntime::UsageFrom(const EnvironmentSpec& spec,
                                                            const PodMetricsSum& sum,
                                                            const PodCounts& pods) {
  const int live = pods.live;
  runtime::WorkloadUsage u;
  u.restarts = pods.restarts;
  if (sum.pods == 0)
    return Fail(ErrorCode::kUnavailable,
                live > 0 ? "metrics unavailable: the metrics API has no figures for " +
                               std::to_string(live) +
                               " pod(s) yet (metrics-server reports a pod about a minute after "
                               "it starts)"
                         : "metrics unavailable: no pods run");
  u.cpu_cores = sum.cpu_cores;
  u.memory_bytes = sum.memory_bytes;
  // The figures are the sum over the environment's pods, so the limit is too.
  if (auto lim = MemoryToBytes(spec.resources.memory_limit))
    u.memory_limit_bytes = *lim * std::max<int64_t>(1, spec.replicas);
  return u;
}

runtime::Owner KubernetesRuntime::InstallationOwner(const nlohmann::json& obj) const {
  const auto& md = Field(obj, "metadata");
  const auto& labels = Field(md, "labels");
  return ownership_.Of(StrField(labels, runtime::kLabelManagedBy),
                       StrField(labels, runtime::kLabelInstallation),
                       StrField(md, "namespace") + "/" + StrField(labels, runtime::kLabelName));
}

Status KubernetesRuntime::RefuseForeign(const std::string& path, const std::string& what) {
  auto obj = client_->Get(path);
  if (!obj) return IsNotFound(obj.error()) ? Status{} : Fail(obj.error());
  auto owner = InstallationOwner(*obj);
  if (owner != runtime::Owner::kOther && owner != runtime::Owner::kLegacy) return {};
  return Fail(ErrorCode::kAlreadyExists,
              ownership_.Refusal(what, StrField(Field(Field(*obj, "metadata"), "labels"),
                                                runtime::kLabelInstallation)));
}

Result<std::vector<runtime::OwnedWorkload>> KubernetesRuntime::ListManaged() {
  std::string sel = std::string(runtime::kLabelManagedBy) + "=" + kManagedByValue;
  std::map<std::string, runtime::OwnedWorkload> found;
  // From the watch caches when they run: a cluster-wide list of thousands of objects per kind
  // on every collection pass would cost the API server more than everything else Berth asks.
  auto caches = SyncedCaches();
  const std::pair<const char*, ObjectCache*> kinds[] = {
      {"/apis/apps/v1/deployments", caches ? caches->deployments.get() : nullptr},
      {"/api/v1/replicationcontrollers", caches ? caches->rcs.get() : nullptr},
      {"/api/v1/services", caches ? caches->services.get() : nullptr}};
  auto note = [this, &found](const nlohmann::json& item) {
    auto owner = OwnerOf(item);
    if (!owner) return;
    const auto& [ns, name] = *owner;
    const auto& md = Field(item, "metadata");
    auto& w = found[ns + "/" + name];
    w.ns = ns;
    w.name = name;
    int64_t g = GenerationOf(item);
    if (g > w.generation) w.generation = g;
    // The same id as InstallationOwner's, so adoption recognises it.
    w.id = StrField(md, "namespace") + "/" + name;
    // An environment whose objects disagree (one labelled by another installation) must
    // not look like this one's: the first non-empty label seen wins.
    if (w.installation.empty())
      w.installation = StrField(Field(md, "labels"), runtime::kLabelInstallation);
  };
  for (const auto& [coll, cache] : kinds) {
    if (cache) {
      cache->ForEach(note);
      continue;
    }
    auto list = client_->List(coll, sel);
    if (!list) return Fail(list.error());
    for (const auto& item : (*list)["items"]) note(item);
  }
  std::vector<runtime::OwnedWorkload> out;
  for (auto& [k, v] : found) out.push_back(std::move(v));
  return out;
}

KubeRuntimeOptions RuntimeOptionsFromConfig(const berth::Config& cfg) {
  KubeRuntimeOptions o;
  o.namespace_prefix = cfg.kube_namespace_prefix;
  if (!cfg.kube_controller.empty()) o.default_controller = cfg.kube_controller;
  o.storage_class = cfg.kube_storage_class;
  if (!cfg.kube_host_path_root.empty()) o.host_path_root = cfg.kube_host_path_root;
  while (o.host_path_root.size() > 1 && o.host_path_root.back() == '/') o.host_path_root.pop_back();
  o.image_pull_secrets = cfg.image_pull_secrets;
  o.credentials = std::make_shared<runtime::RegistryCredentials>(cfg.registries, cfg.docker_config);
  return o;
}

Result<std::unique_ptr<runtime::Runtime>> MakeKubernetesRuntime(const berth::Config& cfg) {
  LoadOptions lo;
  lo.kubeconfig = cfg.kubeconfig;
  lo.context = cfg.kube_context;
  auto conn = LoadConnection(lo);
  if (!conn) return Fail(Wrap(conn.error(), "kubernetes"));
  auto o = RuntimeOptionsFromConfig(cfg);
  std::string c = util::ToLower(o.default_controller);
  if (c != "deployment" && c != "rc" && c != "replicationcontroller")
    return Fail(ErrorCode::kInvalidArgument,
                "kube_controller \"" + o.default_controller + "\" must be deployment or rc");
  for (const auto& s : o.image_pull_secrets)
    if (auto v = ValidateDomain(s); !v)
      return Fail(ErrorCode::kInvalidArgument,
                  "image pull secret \"" + s + "\" is not a valid name");
  auto client = std::make_shared<KubeClient>(std::move(*conn));
  return std::unique_ptr<runtime::Runtime>(new KubernetesRuntime(client, std::move(o)));
}

}  // namespace berth::kube
