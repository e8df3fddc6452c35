#include "runtime/docker/docker_runtime.h"

#include <chrono>
#include <ctime>
#include <set>
#include <thread>
#include <tuple>

#include <spdlog/spdlog.h>

#include "berth/validate.h"
#include "net/port_probe.h"
#include "runtime/watch_loop.h"
#include "util/strings.h"

namespace berth::runtime {

Result<std::unique_ptr<Runtime>> MakeDockerRuntime(const berth::Config& config) {
  auto ep = docker::ResolveDockerHost(config.docker_host);
  if (!ep) return Fail(ep.error());
  docker::DockerRuntimeOptions opts;
  opts.host_ip = config.host_ip.empty() ? "127.0.0.1" : config.host_ip;
  if (auto s = ValidateHostIp(opts.host_ip); !s) return Fail(Wrap(s.error(), "host_ip"));
  opts.network = config.network;
  opts.probe_host_ports = !ep->unix_socket.empty();
  opts.credentials = std::make_shared<RegistryCredentials>(config.registries, config.docker_config);
  return std::unique_ptr<Runtime>(std::make_unique<docker::DockerRuntime>(
      std::make_unique<docker::DockerClient>(std::move(*ep)), std::move(opts)));
}

}  // namespace berth::runtime

namespace berth::runtime::docker {
namespace {

using nlohmann::json;

constexpr int kApplyAttempts = 3;
constexpr auto kRemoveWait = std::chrono::seconds(60);
// Grace for the workload's own shutdown before the engine kills it.
constexpr int kSleepStopSeconds = 10;

void Report(const ProgressFn& progress, const std::string& msg) {
  if (progress) progress(msg);
}

std::string StateOf(const json& inspect) {
  auto s = inspect.find("State");
  if (s == inspect.end() || !s->is_object()) return "";
  auto st = s->find("Status");
  return st != s->end() && st->is_string() ? st->get<std::string>() : "";
}

const json& LabelsOf(const json& obj, bool from_inspect) {
  static const json kEmpty = json::object();
  const json* base = &obj;
  if (from_inspect) {
    auto c = obj.find("Config");
    if (c == obj.end() || !c->is_object()) return kEmpty;
    base = &*c;
  }
  auto l = base->find("Labels");
  return l != base->end() && l->is_object() ? *l : kEmpty;
}

std::string LabelOf(const json& labels, std::string_view key) {
  auto it = labels.find(std::string(key));
  return it != labels.end() && it->is_string() ? it->get<std::string>() : "";
}

// Whose a container is, from its labels (`from_inspect`: an inspect body, else a list entry).
Owner OwnerOf(const Ownership& ownership, const json& c, bool from_inspect) {
  const json& labels = LabelsOf(c, from_inspect);
  return ownership.Of(LabelOf(labels, kLabelManagedBy), InstallationOf(labels), c.value("Id", ""));
}

Status CheckIdentity(std::string_view ns, std::string_view name) {
  if (auto s = ValidateNamespace(ns); !s) return s;
  return ValidateName(name);
}

}  // namespace

DockerRuntime::DockerRuntime(std::unique_ptr<DockerClient> client, DockerRuntimeOptions opts)
    : client_(std::move(client)), opts_(std::move(opts)) {}

Status DockerRuntime::EnsureImage(const EnvironmentSpec& spec, const ProgressFn& progress) {
  if (spec.pull_policy != PullPolicy::kAlways) {
    auto img = client_->InspectImage(spec.image);
    if (img) return {};
    if (img.error().code != ErrorCode::kNotFound) return Fail(img.error());
    if (spec.pull_policy == PullPolicy::kNever)
      return Fail(ErrorCode::kFailed, "image not found: " + spec.image +
                                          " is not present and the pull policy is Never");
  }
  std::string auth;
  if (opts_.credentials) {
    const std::string registry = RegistryOf(spec.image);
    auto cred = opts_.credentials->For(registry);
    // A login that is configured but unreadable fails the pull with that reason: pulling
    // anonymously would only hide it behind an "unauthorized".
    if (!cred)
      return Fail(ErrorCode::kFailed,
                  "credentials for registry " + registry + ": " + cred.error().message);
    if (*cred) {
      auth = XRegistryAuth(**cred);
      Report(progress, "Using credentials for " + registry + " from " + (*cred)->source);
    }
  }
  Report(progress, "Pulling image " + spec.image);
  if (auto s = client_->PullImage(spec.image, progress, auth); !s) return s;
  Report(progress, "Pulled image " + spec.image);
  return {};
}

Status DockerRuntime::CreateAndStart(const EnvironmentSpec& spec, const VolumeMount& volume,
                                     const std::string& name, const ProgressFn& progress) {
  auto body = BuildCreateBody(spec, volume,
                              CreateOptions{opts_.host_ip, opts_.network, ownership_.installation});
  if (!body) return Fail(body.error());
  if (auto s = WaitHostPortsFree(spec, progress); !s) return s;
  Report(progress, "Creating container " + name);
  auto id = client_->CreateContainer(name, *body);
  if (!id) {
    // The engine refused this spec (a missing image or network, a bad mount...): the
    // environment cannot run as asked, which is kFailed. A 404 that names the image says so.
    const Error& e = id.error();
    if (e.code == ErrorCode::kAlreadyExists || e.code == ErrorCode::kUnavailable ||
        e.code == ErrorCode::kTimeout)
      return Fail(e);
    bool image = e.code == ErrorCode::kNotFound &&
                 util::ToLower(e.message).find("image") != std::string::npos;
    return Fail(ErrorCode::kFailed, (image ? "image not found: " : "") + e.message);
  }
  Report(progress, "Starting container " + name);
  if (auto s = client_->StartContainer(*id); !s) {
    // No half-made container: what could not start is removed.
    (void)RemoveOne(*id);
    if (s.error().code == ErrorCode::kUnavailable || s.error().code == ErrorCode::kTimeout)
      return s;
    return Fail(ErrorCode::kFailed, s.error().message);
  }
  return {};
}

Status DockerRuntime::WaitHostPortsFree(const EnvironmentSpec& spec, const ProgressFn& progress) {
  if (!opts_.probe_host_ports) return {};
  auto deadline = std::chrono::steady_clock::now() + opts_.port_wait;
  bool reported = false;
  for (;;) {
    const PortSpec* busy = nullptr;
    for (const auto& p : spec.ports) {
      if (p.host_port == 0) continue;
      auto free = net::TcpPortFree(opts_.host_ip, p.host_port);
      if (!free) return {};  // cannot tell from here: let the engine decide
      if (!*free) {
        busy = &p;
        break;
      }
    }
    if (!busy) return {};
    std::string what = "host port " + std::to_string(busy->host_port) + " (" + busy->name +
                       ") on " + opts_.host_ip + " is in use";
    if (std::chrono::steady_clock::now() >= deadline)
      return Fail(ErrorCode::kUnavailable, what + " by another process");
    if (!reported) Report(progress, "Waiting: " + what);
    reported = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

Status DockerRuntime::Apply(const EnvironmentSpec& spec, const VolumeMount& volume,
                            const ProgressFn& progress) {
  if (auto s = CheckIdentity(spec.ns, spec.name); !s) return s;
  if (auto s = ValidateImageRef(spec.image); !s) return s;
  const std::string name = ContainerName(spec.ns, spec.name);
  for (int attempt = 0; attempt < kApplyAttempts; ++attempt) {
    auto existing = client_->InspectContainer(name);
    if (!existing && existing.error().code != ErrorCode::kNotFound) return Fail(existing.error());
    if (existing) {
      const json& labels = LabelsOf(*existing, true);
      if (!IsOwned(labels))
        return Fail(ErrorCode::kAlreadyExists,
                    "container name " + name + " is taken by a container Berth does not manage");
      // Another installation's container (or an unadopted one of an earlier release) keeps
      // its name: refusing is the only answer that touches nothing of theirs.
      if (OwnerOf(ownership_, *existing, true) != Owner::kThis)
        return Fail(ErrorCode::kAlreadyExists,
                    ownership_.Refusal("container name " + name, InstallationOf(labels)));
      int64_t gen = GenerationOf(labels);
      std::string state = StateOf(*existing);
      if (gen == spec.generation && state != "removing" && state != "dead") {
        if (state == "running" || state == "restarting" || state == "paused") return {};
        if (state == "stopping")  // a start now would race whoever is stopping it
          return Fail(ErrorCode::kUnavailable, "container " + name + " is stopping");
        // Created but never started (a crash between the two), or stopped: start it.
        Report(progress, "Starting container " + name + " (" + state + ")");
        auto s = client_->StartContainer(existing->value("Id", name));
        if (!s) return Fail(ErrorCode::kFailed, s.error().message);
        return {};
      }
    }
    // A new container is needed. Pull first, so a missing image leaves the old one running.
    if (auto s = EnsureImage(spec, progress); !s) return s;
    if (existing) {
      Report(progress, "Removing container of generation " +
                           std::to_string(GenerationOf(LabelsOf(*existing, true))));
      if (auto s = RemoveOne(existing->value("Id", name)); !s) return s;
    }
    auto s = CreateAndStart(spec, volume, name, progress);
    // Someone created the name in between (another apply, a restarted daemon): look again.
    if (!s && s.error().code == ErrorCode::kAlreadyExists) continue;
    return s;
  }
  return Fail(ErrorCode::kConflict, "container " + name + " kept changing while being applied");
}

Result<WorkloadStatus> DockerRuntime::Inspect(const EnvironmentSpec& spec) {
  if (auto s = CheckIdentity(spec.ns, spec.name); !s) return Fail(s.error());
  auto j = client_->InspectContainer(ContainerName(spec.ns, spec.name));
  if (!j) {
    if (j.error().code != ErrorCode::kNotFound) return Fail(j.error());
    WorkloadStatus st;
    st.exists = false;
    st.phase = Phase::kPending;
    st.host_ip = opts_.host_ip;
    return st;
  }
  if (!IsOwned(LabelsOf(*j, true)))
    return Fail(ErrorCode::kAlreadyExists, "container name " + ContainerName(spec.ns, spec.name) +
                                               " is taken by a container Berth does not manage");
  if (OwnerOf(ownership_, *j, true) != Owner::kThis) {
    // Not this installation's workload: this one has none (Apply then says whose the name is).
    WorkloadStatus st;
    st.host_ip = opts_.host_ip;
    return st;
  }
  return StatusFromInspect(*j, spec, opts_.host_ip, std::time(nullptr));
}

Status DockerRuntime::Sleep(const EnvironmentSpec& spec, const VolumeMount&) {
  if (auto s = CheckIdentity(spec.ns, spec.name); !s) return s;
  const std::string name = ContainerName(spec.ns, spec.name);
  auto j = client_->InspectContainer(name);
  if (!j) return j.error().code == ErrorCode::kNotFound ? Status{} : Fail(j.error());
  if (!IsOwned(LabelsOf(*j, true)) || OwnerOf(ownership_, *j, true) != Owner::kThis)
    return {};  // not ours: this installation has no workload to stop
  const std::string state = StateOf(*j);
  if (state != "running" && state != "restarting" && state != "paused" && state != "stopping")
    return {};
  // A stop by the API is a stop on purpose: the restart policy (unless-stopped) leaves it be.
  auto s = client_->StopContainer(j->value("Id", name), kSleepStopSeconds);
  if (!s && s.error().code != ErrorCode::kNotFound) return Fail(Wrap(s.error(), "sleeping"));
  return {};
}

// This installation's running container of `spec`: its id.
static Result<std::string> OwnedRunning(DockerClient& client, const Ownership& ownership,
                                        const EnvironmentSpec& spec, const std::string& what) {
  const std::string name = ContainerName(spec.ns, spec.name);
  auto j = client.InspectContainer(name);
  if (!j) return Fail(Wrap(j.error(), what));
  if (!IsOwned(LabelsOf(*j, true)) || OwnerOf(ownership, *j, true) != Owner::kThis)
    return Fail(ErrorCode::kPermissionDenied,
                what + ": container " + name + " is not this installation's");
  if (GenerationOf(LabelsOf(*j, true)) != spec.generation)
    return Fail(ErrorCode::kUnavailable, what + ": container " + name + " is being replaced");
  return j->value("Id", name);
}

Status DockerRuntime::Restart(const EnvironmentSpec& spec) {
  if (auto s = CheckIdentity(spec.ns, spec.name); !s) return s;
  auto id = OwnedRunning(*client_, ownership_, spec, "restarting " + spec.Key());
  if (!id) return Fail(id.error());
  return client_->RestartContainer(*id, kSleepStopSeconds);
}

Result<int> DockerRuntime::Exec(const EnvironmentSpec& spec, const std::vector<std::string>& argv,
                                std::chrono::milliseconds timeout, std::string* output) {
  if (auto s = CheckIdentity(spec.ns, spec.name); !s) return Fail(s.error());
  if (argv.empty()) return Fail(ErrorCode::kInvalidArgument, "exec: no command");
  auto id = OwnedRunning(*client_, ownership_, spec, "exec in " + spec.Key());
  if (!id) return Fail(id.error());
  auto exec = client_->CreateExec(*id, argv);
  if (!exec) return Fail(exec.error());
  auto out = client_->StartExec(*exec, timeout);
  if (!out) {
    if (out.error().code == ErrorCode::kTimeout)
      return Fail(ErrorCode::kTimeout, "the command in " + spec.Key() + " did not end within " +
                                           std::to_string(timeout.count() / 1000) + " s");
    return Fail(out.error());
  }
  if (output) *output = std::move(*out);
  // The stream ends with the command; the engine may record its exit a moment later.
  for (int attempt = 0; attempt < 50; ++attempt) {
    auto j = client_->InspectExec(*exec);
    if (!j) return Fail(j.error());
    if (!j->value("Running", false) && (*j)["ExitCode"].is_number_integer())
      return (*j)["ExitCode"].get<int>();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Fail(ErrorCode::kUnavailable,
              "the command in " + spec.Key() + " ended without an exit code");
}

Status DockerRuntime::RemoveOne(const std::string& id) {
  auto deadline = std::chrono::steady_clock::now() + kRemoveWait;
  int unsettled = 0;  // refusals other than 409: a state change settles in well under 5 s
  for (int attempt = 0;; ++attempt) {
    auto s = client_->RemoveContainer(id, /*force=*/true, /*volumes=*/false);
    if (s || s.error().code == ErrorCode::kNotFound) return {};
    if (s.error().code == ErrorCode::kUnavailable || s.error().code == ErrorCode::kTimeout)
      return s;
    // 409: a removal is already in progress. Anything else while the container is between
    // states (Podman: "could not be stopped ... container state improper" when it exits
    // under a restart policy just as we kill it) is worth another try once it settles.
    if (s.error().code != ErrorCode::kAlreadyExists && ++unsettled > 10) return s;
    if (std::chrono::steady_clock::now() >= deadline)
      return s.error().code == ErrorCode::kAlreadyExists
                 ? Fail(ErrorCode::kTimeout, "container " + id + " is still being removed")
                 : s;
    std::this_thread::sleep_for(std::chrono::milliseconds(attempt < 5 ? 100 : 500));
    auto j = client_->InspectContainer(id);
    if (!j && j.error().code == ErrorCode::kNotFound) return {};
    if (!j && (j.error().code == ErrorCode::kUnavailable || j.error().code == ErrorCode::kTimeout))
      return Fail(j.error());
  }
}

Status DockerRuntime::Remove(std::string_view ns, std::string_view name) {
  if (auto s = CheckIdentity(ns, name); !s) return s;
  std::set<std::string> ids;
  // Everything labelled for this environment (leftovers too), plus the deterministic name.
  auto list = client_->ListContainers({std::string(kLabelManagedBy) + "=berth",
                                       std::string(kLabelNamespace) + "=" + std::string(ns),
                                       std::string(kLabelName) + "=" + std::string(name)});
  if (!list) return Fail(list.error());
  for (const auto& c : *list)
    if (c.is_object() && c.contains("Id") && c["Id"].is_string() &&
        OwnerOf(ownership_, c, false) == Owner::kThis)
      ids.insert(c["Id"].get<std::string>());
  const std::string cname = ContainerName(ns, name);
  auto j = client_->InspectContainer(cname);
  if (j && OwnerOf(ownership_, *j, true) == Owner::kThis) ids.insert(j->value("Id", cname));
  if (!j && j.error().code != ErrorCode::kNotFound) return Fail(j.error());
  for (const auto& id : ids)
    if (auto s = RemoveOne(id); !s) return s;
  return {};
}

Status DockerRuntime::Logs(const EnvironmentSpec& spec, const LogOptions& opts,
                           const LogSink& sink) {
  if (auto s = CheckIdentity(spec.ns, spec.name); !s) return s;
  auto j = client_->InspectContainer(ContainerName(spec.ns, spec.name));
  if (!j) {
    if (j.error().code == ErrorCode::kNotFound)
      return Fail(ErrorCode::kNotFound, "environment " + spec.Key() + " has no container");
    return Fail(j.error());
  }
  if (OwnerOf(ownership_, *j, true) != Owner::kThis)
    return Fail(ErrorCode::kNotFound,
                "environment " + spec.Key() + " has no container (" +
                    ownership_.Refusal("container name " + ContainerName(spec.ns, spec.name),
                                       InstallationOf(LabelsOf(*j, true))) +
                    ")");
  bool tty = false;
  if (auto c = j->find("Config"); c != j->end() && c->is_object()) tty = c->value("Tty", false);
  return client_->Logs(j->value("Id", ContainerName(spec.ns, spec.name)), opts, tty, sink);
}

Result<WorkloadUsage> DockerRuntime::Usage(const EnvironmentSpec& spec,
                                           std::chrono::milliseconds deadline) {
  if (auto s = CheckIdentity(spec.ns, spec.name); !s) return Fail(s.error());
  const auto until = std::chrono::steady_clock::now() + deadline;
  auto left = [&] {
    return std::max(std::chrono::milliseconds(1),
                    std::chrono::duration_cast<std::chrono::milliseconds>(
                        until - std::chrono::steady_clock::now()));
  };
  const std::string name = ContainerName(spec.ns, spec.name);
  auto j = client_->InspectContainer(name, left());
  if (!j) return Fail(j.error());
  if (!IsOwned(LabelsOf(*j, true)) || OwnerOf(ownership_, *j, true) != Owner::kThis)
    return Fail(ErrorCode::kNotFound, spec.Key() + " has no container of this installation");
  const std::string id = j->value("Id", name);
  auto stats = client_->Stats(id, left());
  if (!stats) return Fail(stats.error());
  return UsageFromStats(*stats, &*j);
}

Status DockerRuntime::Ping(std::chrono::milliseconds deadline) {
  return client_->Ping(deadline);
}

Result<std::vector<OwnedWorkload>> DockerRuntime::ListManaged() {
  auto list = client_->ListContainers({std::string(kLabelManagedBy) + "=berth"});
  if (!list) return Fail(list.error());
  std::vector<OwnedWorkload> out;
  for (const auto& c : *list) {
    if (!c.is_object()) continue;
    const json& labels = LabelsOf(c, false);
    if (!IsOwned(labels)) continue;  // the engine filtered already; be sure anyway
    OwnedWorkload w;
    w.ns = LabelOf(labels, kLabelNamespace);
    w.name = LabelOf(labels, kLabelName);
    w.generation = GenerationOf(labels);
    w.id = c.value("Id", "");
    w.installation = InstallationOf(labels);
    if (w.ns.empty() || w.name.empty()) continue;
    out.push_back(std::move(w));
  }
  return out;
}

std::unique_ptr<ChangeWatch> DockerRuntime::WatchChanges(ChangeFn fn) {
  // Only what changes an environment's status without Berth asking: Berth's own start and
  // create are already followed by the reconcile that made them.
  static const std::set<std::string> kActions = {"die",   "oom",     "destroy",
                                                 "pause", "unpause", "health_status"};
  json filters = {{"type", {"container"}}, {"label", {std::string(kLabelManagedBy) + "=berth"}}};
  return std::make_unique<WatchLoop>([this, fn = std::move(fn), filters](WatchLoop& loop) {
    util::Backoff backoff;
    int64_t since = 0;  // after a reconnect, replay from the last event seen (duplicates are fine)
    while (!loop.stopping()) {
      auto s = client_->Events(filters, since, &loop.stopping(), [&](const json& ev) {
        backoff.Reset();
        if (ev.contains("time") && ev["time"].is_number_integer())
          since = ev["time"].get<int64_t>();
        std::string action = ev.value("Action", ev.value("status", ""));
        // "health_status: healthy" carries its value after a colon.
        action = action.substr(0, action.find(':'));
        if (!kActions.count(action)) return true;
        const json attrs = ev.contains("Actor") && ev["Actor"].is_object()
                               ? ev["Actor"].value("Attributes", json::object())
                               : json::object();
        // Docker puts the container's labels among the attributes.
        std::string ns = LabelOf(attrs, kLabelNamespace);
        std::string name = LabelOf(attrs, kLabelName);
        // Another installation's container: its own Berth follows it.
        std::string inst = LabelOf(attrs, kLabelInstallation);
        if (!inst.empty() && !ownership_.installation.empty() && inst != ownership_.installation)
          return true;
        if (ns.empty() || name.empty()) {
          // Engines that leave labels out of events still give the name: berth-<ns>.<name>.
          auto parsed = ParseContainerName(LabelOf(attrs, "name"));
          if (!parsed) return true;
          std::tie(ns, name) = *parsed;
        }
        if (CheckIdentity(ns, name)) fn(ns, name);
        return true;
      });
      if (loop.stopping()) break;
      if (!s) spdlog::warn("docker events: {}; reconnecting", s.error().message);
      loop.Sleep(backoff.Next());
    }
  });
}

}  // namespace berth::runtime::docker
