#include "controller/controller.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <map>
#include <set>

#include "berth/route.h"
#include "core/duration.h"
#include "store/claims.h"
#include "store/release_records.h"
#include "util/strings.h"

namespace berth::controller {
namespace {

using store::Compare;
using store::Op;
using store::Txn;

// A workload starting, the router applying a route: soon, as a local engine is quick.
constexpr std::chrono::milliseconds kLookAgainSoon{250};
// Pods a cluster is scheduling and pulling for: their watch brings the key back as they change;
// this is only the safety net, so fifty pending environments do not poll the API server.
constexpr std::chrono::milliseconds kLookAgainPending{5000};

// Keeps the sooner of two requeue times (0 = none yet).
void RequeueAfter(std::chrono::milliseconds* at, std::chrono::milliseconds d) {
  if (at->count() == 0 || d < *at) *at = d;
}

// The condition of an environment whose engine does not answer (docs/api.md, status.reason).
constexpr const char* kRuntimeUnavailable = "RuntimeUnavailable";
constexpr std::chrono::milliseconds kPingDeadline{2000};

bool SameStatus(const EnvStatus& a, const EnvStatus& b) {
  return a.phase == b.phase && a.reason == b.reason && a.host_ip == b.host_ip &&
         a.ports == b.ports && a.routed == b.routed && a.last_error == b.last_error &&
         a.observed_generation == b.observed_generation && a.workload_id == b.workload_id &&
         a.events.size() == b.events.size();
}

}  // namespace

Controller::Controller(store::Store& store, runtime::Runtime& runtime, VolumeProvider& volumes,
                       ControllerOptions opts, RouteWaiter route_waiter)
    : store_(store),
      runtime_(runtime),
      volumes_(volumes),
      opts_(opts),
      route_waiter_(std::move(route_waiter)),
      probes_([this](const std::string& key) { queue_.Add(key); }, 2,
              std::chrono::milliseconds(200), opts_.readiness_probe) {}

Controller::~Controller() {
  Stop();
}

void Controller::Start() {
  stopping_ = false;
  store::Informer* informer = opts_.informer;
  if (!informer) {
    own_informer_ = std::make_unique<store::Informer>(
        store_, store::InformerOptions{{std::string(store::keys::kSpecs)}});
    informer = own_informer_.get();
  }
  // Every spec (on each relist) and every change to one is queued; the informer lists again
  // for a handler added after its first list, so nothing stored before Start is missed.
  auto queue_spec = [this](const std::string& key) {
    if (auto id = EnvKey::FromRecordKey(key, store::keys::kSpecs)) queue_.Add(id->String());
  };
  spec_feed_ =
      informer->AddHandlers({[queue_spec](const store::Snapshot& snap) {
                               for (const auto& kv : snap.kvs) queue_spec(kv.key);
                             },
                             [queue_spec](const store::WatchEvent& ev) { queue_spec(ev.kv.key); }});
  if (own_informer_) own_informer_->Start();
  threads_.emplace_back([this] { ResyncLoop(); });
  for (int i = 0; i < opts_.workers; ++i) threads_.emplace_back([this] { Worker(); });
  // Changes the runtime reports (a pod crashed, a container died) reconcile at once; the
  // resync stays as the safety net for anything a feed misses.
  if (opts_.watch_runtime)
    runtime_changes_ =
        runtime_.WatchChanges([this](const std::string& ns, const std::string& name) {
          if (!stopping_) queue_.Add(ns + "/" + name);
        });
}

void Controller::Stop() {
  if (stopping_.exchange(true)) return;
  runtime_changes_.reset();
  spec_feed_.reset();
  if (own_informer_) own_informer_->Stop();
  queue_.ShutDown();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

void Controller::EnqueueAll() {
  auto snap = store_.List(store::keys::kSpecs);
  if (!snap) {
    spdlog::warn("controller: listing specs: {}", snap.error().message);
    return;
  }
  for (const auto& kv : snap->kvs)
    if (auto id = EnvKey::FromRecordKey(kv.key, store::keys::kSpecs)) queue_.Add(id->String());
}

bool Controller::RouteApplied(int64_t rev, const std::string& key) {
  std::lock_guard<std::mutex> l(route_mu_);
  // Checked under the lock RoutesApplied takes, so an apply landing in between still finds
  // the key registered.
  if (route_waiter_(rev)) return true;
  awaiting_route_.emplace(rev, key);
  // The safety net if a notification never comes (the router restarted its nginx...).
  queue_.AddAfter(key, std::chrono::seconds(2));
  return false;
}

void Controller::RoutesApplied(int64_t revision) {
  std::vector<std::string> ready;
  {
    std::lock_guard<std::mutex> l(route_mu_);
    auto end = awaiting_route_.upper_bound(revision);
    for (auto it = awaiting_route_.begin(); it != end; ++it) ready.push_back(it->second);
    awaiting_route_.erase(awaiting_route_.begin(), end);
  }
  for (const auto& k : ready) queue_.Add(k);
}

void Controller::ResyncLoop() {
  auto next_gc = std::chrono::steady_clock::now();
  while (!stopping_) {
    for (int i = 0; i < opts_.resync.count() * 10 && !stopping_; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (stopping_) break;
    EnqueueAll();
    if (std::chrono::steady_clock::now() >= next_gc) {
      if (auto s = CollectGarbage(); !s) spdlog::warn("controller: gc: {}", s.error().message);
      next_gc = std::chrono::steady_clock::now() + opts_.resync;
    }
  }
}

void Controller::Worker() {
  while (auto key = queue_.Get()) {
    Status s = Reconcile(*key);
    if (!s) {
      auto delay = queue_.NextBackoff(*key);
      spdlog::warn("reconcile {}: {} (retry in {}ms)", *key, s.error().message, delay.count());
      queue_.Done(*key);
      queue_.AddAfter(*key, delay);
    } else {
      queue_.Done(*key);
    }
  }
}

Status Controller::WriteStatus(const EnvironmentSpec& spec, EnvStatus& status,
                               const EnvStatus& before) {
  if (SameStatus(status, before)) return {};
  status.updated_at = NowRfc3339();
  // Only write while the spec still exists, so a status never outlives its environment.
  auto spec_kv = store_.Get(store::keys::Spec(spec.ns, spec.name));
  if (!spec_kv) return Fail(spec_kv.error());
  if (!*spec_kv) return {};
  auto r = store_.Commit(
      Txn{{Compare{(*spec_kv)->key, (*spec_kv)->mod_revision}},
          {Op::Put(store::keys::Status(spec.ns, spec.name), SerializeStatus(status))}});
  if (!r && r.error().code == ErrorCode::kConflict) return {};  // spec changed: next pass writes
  if (!r) return Fail(r.error());
  return {};
}

Status Controller::Reconcile(const std::string& key) {
  const auto id = EnvKey::Parse(key);
  if (!id) return {};
  const std::string& ns = id->ns;
  const std::string& name = id->name;
  auto spec_kv = store_.Get(store::keys::Spec(ns, name));
  if (!spec_kv) return Fail(spec_kv.error());
  if (!*spec_kv) return RemoveEverything(ns, name, nullptr, false);

  auto spec = ParseSpec((*spec_kv)->value);
  if (!spec) {
    spdlog::error("spec {} is unreadable: {}", key, spec.error().message);
    return {};  // nothing a retry can fix; the API never writes such a spec
  }
  // No status record yet: the controller starts from what readers show until it writes one.
  EnvStatus status = AcceptedStatus(*spec);
  if (auto st_kv = store_.Get(store::keys::Status(ns, name)); st_kv && *st_kv) {
    if (auto st = ParseStatus((*st_kv)->value)) status = *st;
  }
  if (spec->deleting) return ReconcileDelete(**spec_kv, *spec, status);
  if (status.rolling_back && spec->rollback_on_failure && status.observed_generation == 0)
    return RollBackFirstRollout(**spec_kv, *spec, status);
  if (!spec->expires_at.empty()) {
    if (auto at = core::ParseRfc3339Utc(spec->expires_at)) {
      const int64_t left = *at - core::NowEpochSeconds();
      if (left <= 0) return Expire(**spec_kv, *spec, status);
      // Back when it expires (capped: a clock step or an extend is seen on a later pass).
      queue_.AddAfter(key, std::chrono::seconds(std::min<int64_t>(left, 3600)));
    }
  }

  std::chrono::milliseconds requeue_after{0};
  Status s = spec->sleeping ? ReconcileSleep(**spec_kv, *spec, status, &requeue_after)
                            : ReconcileRun(**spec_kv, *spec, status, &requeue_after);
  if (s) queue_.Forget(key);
  if (requeue_after.count() > 0) queue_.AddAfter(key, requeue_after);
  return s;
}

Status Controller::Expire(const store::KeyValue& spec_kv, const EnvironmentSpec& spec,
                          EnvStatus& status) {
  const EnvStatus before = status;
  if (status.reason != "Expired") {
    status.phase = Phase::kDeleting;
    status.reason = "Expired";
    status.routed = false;
    status.AddEvent("Normal", "Expired",
                    "expired at " + spec.expires_at + " (ttl " +
                        core::FormatDuration(spec.ttl_seconds) + "); deleting it" +
                        (spec.purge_on_expiry ? " and its volume" : ", its volume kept"));
    spdlog::info("{}: expired at {}, deleting", spec.Key(), spec.expires_at);
  }
  if (auto w = WriteStatus(spec, status, before); !w) return w;
  Status s = RemoveEverything(spec.ns, spec.name, &spec, spec.purge || spec.purge_on_expiry,
                              spec_kv.mod_revision);
  if (!s) EngineUnreachable(spec, status);
  return s;
}

Status Controller::ReconcileRun(const store::KeyValue& spec_kv, EnvironmentSpec& spec,
                                EnvStatus& status, std::chrono::milliseconds* requeue_after) {
  const EnvStatus before = status;
  auto ws = runtime_.Inspect(spec);
  if (!ws) {
    EngineUnreachable(spec, status);
    return Fail(Wrap(ws.error(), "inspecting workload"));
  }
  if (status.reason == kRuntimeUnavailable) {
    // The reason is replaced below by what the workload now shows.
    status.last_error.clear();
    status.AddEvent("Normal", "RuntimeAvailable", "engine reachable again");
  }

  // A workload left created-but-not-started (a crash between create and start) is not current:
  // Apply, being idempotent, adopts and starts it.
  bool stalled =
      ws->phase == Phase::kPending && (ws->reason == "Created" || ws->reason == "Paused");
  bool current =
      ws->exists && ws->generation == spec.generation && ws->phase != Phase::kFailed && !stalled;
  if (!current) {
    const bool waking = status.phase == Phase::kSleeping;
    if (waking) {
      // The stopped workload is started again as it is (a newer generation replaces it).
      status.phase = Phase::kPending;
      status.reason = "Waking";
      status.AddEvent("Normal", "Waking", "starting the sleeping workload");
      if (auto w = WriteStatus(spec, status, before); !w) return w;
    } else if (status.reason != "Creating" && status.reason != "Replacing" &&
               status.reason != "Waking") {
      status.phase = Phase::kPending;
      status.reason = ws->exists ? "Replacing" : "Creating";
      status.routed = false;
      status.AddEvent("Normal", status.reason,
                      (ws->exists ? "replacing workload for generation "
                                  : "creating workload for generation ") +
                          std::to_string(spec.generation));
      if (auto w = WriteStatus(spec, status, before); !w) return w;
    }
    VolumeMount vol;
    if (!spec.volume_mount.empty()) {
      auto v = volumes_.Ensure(spec);
      if (!v) {
        EnvStatus b2 = status;
        status.phase = Phase::kFailed;
        status.reason = "VolumeFailed";
        status.last_error = v.error().message;
        status.AddEvent("Warning", "VolumeFailed", v.error().message);
        WriteStatus(spec, status, b2);
        return Fail(Wrap(v.error(), "volume"));
      }
      vol = *v;
      vol.target = spec.volume_mount;
    }
    EnvStatus b3 = status;
    // Submit, not Apply: the workload is handed over and this worker moves on; how it starts
    // comes back through the runtime's change watch and Inspect.
    auto applied = runtime_.Submit(
        spec, vol, [&](const std::string& msg) { spdlog::debug("{}: {}", spec.Key(), msg); });
    if (!applied) {
      // The engine went away mid-apply: not the environment's failure; retried as it is.
      if (EngineUnreachable(spec, status)) return Fail(applied.error());
      if (applied.error().code == ErrorCode::kTimeout) {
        // The engine answers but did not finish in time (a loaded host starting many
        // containers at once): nothing says the environment cannot start. It stays as it was
        // (Pending for a new one) with a warning, and is retried with the queue's backoff;
        // a first rollout is not rolled back for it.
        const EnvStatus before = status;
        status.reason = "ApplyTimeout";
        status.last_error = applied.error().message;
        status.AddEvent("Warning", "ApplyTimeout", applied.error().message + "; retrying");
        if (auto w = WriteStatus(spec, status, before); !w)
          spdlog::warn("{}: recording the time-out: {}", spec.Key(), w.error().message);
        return Fail(applied.error());
      }
      status.phase = Phase::kFailed;
      status.reason = applied.error().code == ErrorCode::kFailed ? "ApplyFailed" : "ApplyError";
      status.last_error = applied.error().message;
      status.AddEvent("Warning", status.reason, applied.error().message);
      if (applied.error().code == ErrorCode::kUnavailable) {
        // A host port held by another process after its short wait: with no workload of ours
        // left, whatever holds it is foreign, so an auto-assigned port moves.
        auto now = runtime_.Inspect(spec);
        if (now && !now->exists) {
          auto moved = MoveHeldPorts(spec, status);
          if (!moved) spdlog::warn("{}: moving held ports: {}", spec.Key(), moved.error().message);
          if (moved && *moved) return {};  // the spec changed: its watch reconciles again
        }
      }
      WriteStatus(spec, status, b3);
      if (applied.error().code == ErrorCode::kFailed && spec.rollback_on_failure &&
          status.observed_generation == 0)
        return RollBackFirstRollout(spec_kv, spec, status);
      return Fail(applied.error());
    }
    ws = runtime_.Inspect(spec);
    if (!ws) return Fail(Wrap(ws.error(), "inspecting workload"));
  }

  EnvStatus b4 = status;
  status.workload_id = ws->id;
  if (ws->phase == Phase::kFailed) {
    status.phase = Phase::kFailed;
    status.reason = ws->reason;
    status.last_error = ws->message.empty() ? ws->reason : ws->message;
    status.routed = false;
    if (b4.phase != Phase::kFailed) status.AddEvent("Warning", ws->reason, status.last_error);
    if (auto w = WriteStatus(spec, status, b4); !w) return w;
    // Where Submit does not wait, this is where a first rollout that cannot start (an image the
    // cluster cannot pull) is seen: undone as a failed Apply would be.
    if (runtime_.capabilities().async_submit && spec.rollback_on_failure &&
        status.observed_generation == 0)
      return RollBackFirstRollout(spec_kv, spec, status);
    return {};
  }
  if (ws->phase != Phase::kRunning || ws->generation != spec.generation) {
    status.phase = Phase::kPending;
    status.reason = ws->reason.empty() ? "Starting" : ws->reason;
    RequeueAfter(requeue_after,
                 runtime_.capabilities().async_submit ? kLookAgainPending : kLookAgainSoon);
    return WriteStatus(spec, status, b4);
  }

  const bool already_running =
      b4.phase == Phase::kRunning && b4.observed_generation == spec.generation;
  if (opts_.probe_http && ws->ports.count("http") && !already_running) {
    const std::string key = spec.Key() + "#" + std::to_string(spec.generation);
    // The last answer, never a wait: the probe thread queues the key again when it has one.
    const auto answer = probes_.Ask(spec.Key(), ws->host_ip, ws->ports.at("http"));
    std::lock_guard<std::mutex> lk(probe_mu_);
    if (answer == ReadinessProbes::Answer::kAnswers) {
      not_ready_since_.erase(key);
      probes_.Forget(spec.Key());
    } else {
      auto now = std::chrono::steady_clock::now();
      auto [it, fresh] = not_ready_since_.try_emplace(key, now);
      if (now - it->second < opts_.readiness_timeout) {
        status.phase = Phase::kPending;
        status.reason = "Starting";
        if (b4.reason != "Starting")
          status.AddEvent("Normal", "Starting",
                          "container started; waiting for the http port to answer");
        RequeueAfter(requeue_after, kLookAgainSoon);
        return WriteStatus(spec, status, b4);
      }
      not_ready_since_.erase(it);
      status.AddEvent("Warning", "NotAnswering",
                      "the http port does not accept connections; reporting Running anyway");
    }
  }
  status.host_ip = ws->host_ip;
  status.ports = ws->ports;
  status.last_error.clear();
  bool newly_running =
      status.phase != Phase::kRunning || status.observed_generation != spec.generation;

  // Route record: the original's layout, written once the workload runs.
  auto published = PublishRoute(spec_kv, spec, ws->host_ip, ws->ports, false, status);
  if (!published) return Fail(published.error());
  if (!*published) return {};
  status.phase = Phase::kRunning;
  status.reason = "Running";
  status.observed_generation = spec.generation;
  if (newly_running)
    status.AddEvent("Normal", "Running",
                    "generation " + std::to_string(spec.generation) + " running on " + ws->host_ip);
  // From here observed_generation > 0: later failures never roll the environment back.
  return WriteStatus(spec, status, b4);
}

Status Controller::RollBackFirstRollout(const store::KeyValue& spec_kv, const EnvironmentSpec& spec,
                                        EnvStatus& status) {
  const EnvStatus before = status;
  if (!status.rolling_back) {
    // The phase stays Failed with its reason: what `create --wait` reports until it is gone.
    status.rolling_back = true;
    status.routed = false;
    status.AddEvent("Warning", "RollingBack",
                    "the first rollout failed: removing everything, volume included");
    spdlog::info("{}: first rollout failed; rolling the create back", spec.Key());
  }
  if (auto w = WriteStatus(spec, status, before); !w) return w;
  Status s = RemoveEverything(spec.ns, spec.name, &spec, true, spec_kv.mod_revision);
  if (!s) EngineUnreachable(spec, status);
  return s;
}

Result<bool> Controller::PublishRoute(const store::KeyValue& spec_kv, const EnvironmentSpec& spec,
                                      const std::string& host_ip,
                                      const std::map<std::string, int>& ports, bool sleeping,
                                      EnvStatus& status) {
  if (!opts_.publish_routes || spec.domains.empty() || !ports.count("http")) return true;
  // Only the domains this environment holds the claim of are routed to it.
  auto owned = store::OwnedDomains(store_, spec.Key(), spec.domains);
  if (!owned) return Fail(owned.error());
  EnvironmentSpec claimed = spec;
  claimed.domains = *owned;
  Route route = RouteFor(claimed, host_ip, ports);
  route.installation = opts_.installation;
  route.sleeping = sleeping;
  std::string value = owned->empty() ? "" : SerializeRoute(route);
  std::string rkey = store::keys::Route(spec.ns, spec.name);
  auto existing = store_.Get(rkey);
  if (!existing) return Fail(existing.error());
  int64_t rev = 0;
  if (owned->empty() && !*existing) {
    rev = spec_kv.mod_revision;
  } else if (!*existing || (*existing)->value != value) {
    Op op = owned->empty() ? Op::Delete(rkey) : Op::Put(rkey, value);
    auto r = store_.Commit(Txn{{Compare{spec_kv.key, spec_kv.mod_revision}}, {op}});
    if (!r && r.error().code == ErrorCode::kConflict) {
      queue_.Add(spec.Key());
      return false;
    }
    if (!r) return Fail(r.error());
    rev = *r;
  } else {
    rev = (*existing)->mod_revision;
  }
  if (route_waiter_) {
    // Not awaited: Running is written with routed=false, and the router's RoutesApplied
    // brings the key back to set it.
    bool applied = RouteApplied(rev, spec.Key());
    // Routed means every domain of the spec reaches this environment: none lost to an
    // earlier claim, and the router gave it each one (it keeps a contested host for the
    // first claim, whatever the records say).
    bool served = owned->size() == spec.domains.size();
    if (served && opts_.routed_domains) {
      auto have = opts_.routed_domains(spec.ns, spec.name);
      for (const auto& d : *owned)
        served = served && std::find(have.begin(), have.end(), d) != have.end();
    }
    status.routed = applied && served;
  }
  return true;
}

Status Controller::ReconcileSleep(const store::KeyValue& spec_kv, EnvironmentSpec& spec,
                                  EnvStatus& status, std::chrono::milliseconds* requeue_after) {
  const EnvStatus before = status;
  auto ws = runtime_.Inspect(spec);
  if (!ws) {
    EngineUnreachable(spec, status);
    return Fail(Wrap(ws.error(), "inspecting workload"));
  }
  if (status.reason == kRuntimeUnavailable) status.last_error.clear();
  if (ws->exists && ws->phase != Phase::kSleeping) {
    VolumeMount vol;
    if (!spec.volume_mount.empty()) {
      // Kept, not changed: Kubernetes applies its objects again (0 replicas) with the volume.
      auto v = volumes_.Ensure(spec);
      if (!v) return Fail(Wrap(v.error(), "volume"));
      vol = *v;
      vol.target = spec.volume_mount;
    }
    if (auto s = runtime_.SubmitSleep(spec, vol); !s) {
      if (EngineUnreachable(spec, status)) return s;
      status.reason = "SleepFailed";
      status.last_error = s.error().message;
      status.AddEvent("Warning", "SleepFailed", s.error().message);
      WriteStatus(spec, status, before);
      return s;
    }
    ws = runtime_.Inspect(spec);
    if (!ws) return Fail(Wrap(ws.error(), "inspecting workload"));
    if (ws->exists && ws->phase != Phase::kSleeping) {
      // Still stopping (Kubernetes: pods terminating): look again (the pod watch may be first).
      status.reason = "Stopping";
      RequeueAfter(requeue_after,
                   runtime_.capabilities().async_submit ? kLookAgainPending : kLookAgainSoon);
      return WriteStatus(spec, status, before);
    }
  }
  // Ports, host and route stay: the sleeping route tells the router to wake it on a request.
  std::map<std::string, int> ports = ws->ports;
  if (ports.empty()) ports = status.ports;
  if (ports.empty())
    for (const auto& p : spec.ports)
      if (p.host_port > 0) ports[p.name] = p.host_port;
  const std::string host_ip = !ws->host_ip.empty() ? ws->host_ip : status.host_ip;
  status.phase = Phase::kSleeping;
  status.reason = "Sleeping";
  status.last_error.clear();
  if (!host_ip.empty()) status.host_ip = host_ip;
  status.ports = ports;
  if (before.phase != Phase::kSleeping)
    status.AddEvent("Normal", "Sleeping",
                    "workload stopped; ports, volume and route kept until it wakes");
  if (!host_ip.empty()) {
    auto published = PublishRoute(spec_kv, spec, host_ip, ports, true, status);
    if (!published) return Fail(published.error());
    if (!*published) return {};
  }
  return WriteStatus(spec, status, before);
}

Status Controller::ReconcileDelete(const store::KeyValue&, EnvironmentSpec& spec,
                                   EnvStatus& status) {
  const EnvStatus before = status;
  if (status.phase != Phase::kDeleting) {
    status.phase = Phase::kDeleting;
    status.reason = "Deleting";
    status.routed = false;
    status.AddEvent("Normal", "Deleting", spec.purge ? "deleting with volume" : "deleting");
    if (auto w = WriteStatus(spec, status, before); !w) return w;
  }
  // A create being rolled back takes its volume with it, whatever the delete asked.
  Status s = RemoveEverything(spec.ns, spec.name, &spec, spec.purge || status.rolling_back);
  if (!s) EngineUnreachable(spec, status);
  return s;
}

bool Controller::EngineUnreachable(const EnvironmentSpec& spec, EnvStatus& status) {
  auto ping = runtime_.Ping(kPingDeadline);
  if (ping) return false;
  if (status.reason != kRuntimeUnavailable) {
    // Nothing is known to have changed: the phase, ports and route stay as they were.
    const EnvStatus before = status;
    status.reason = kRuntimeUnavailable;
    status.last_error = "engine unreachable: " + ping.error().message;
    status.AddEvent("Warning", kRuntimeUnavailable, status.last_error);
    if (auto w = WriteStatus(spec, status, before); !w)
      spdlog::warn("{}: recording the engine outage: {}", spec.Key(), w.error().message);
  }
  return true;
}

Status Controller::RemoveEverything(const std::string& ns, const std::string& name,
                                    const EnvironmentSpec* spec, bool purge_volume,
                                    int64_t decided_at) {
  // Order: route first (stop traffic), then the workload, then the volume, then records.
  std::string rkey = store::keys::Route(ns, name);
  const std::string key = ns + "/" + name;
  if (auto r = store_.Get(rkey); r && *r && MayDeleteRoute(rkey, (*r)->value, spec != nullptr)) {
    auto d = store_.Commit(Txn{{Compare{rkey, (*r)->mod_revision}}, {Op::Delete(rkey)}});
    if (d && route_waiter_) {
      std::lock_guard<std::mutex> l(route_mu_);
      route_removals_[key] = *d;
    }
  }
  // Traffic stops before the workload goes: until the router has applied the route's
  // removal, this pass ends here and the router's RoutesApplied brings the key back.
  if (route_waiter_) {
    int64_t removal = 0;
    {
      std::lock_guard<std::mutex> l(route_mu_);
      if (auto it = route_removals_.find(key); it != route_removals_.end()) removal = it->second;
    }
    if (removal != 0) {
      if (!RouteApplied(removal, key)) return {};
      std::lock_guard<std::mutex> l(route_mu_);
      route_removals_.erase(key);
    }
  }
  // Asked, not awaited: while the workload is still going (pods terminating) the records stay
  // and the key comes back — from the change watch, or this requeue.
  auto gone = runtime_.SubmitRemove(ns, name);
  if (!gone) return Fail(Wrap(gone.error(), "removing workload"));
  if (!*gone) {
    queue_.AddAfter(ns + "/" + name,
                    runtime_.capabilities().async_submit ? kLookAgainPending : kLookAgainSoon);
    return {};
  }
  if (spec && purge_volume && !spec->volume_mount.empty()) {
    if (auto s = volumes_.Remove(*spec); !s) return Fail(Wrap(s.error(), "removing volume"));
  }
  Txn txn;
  std::string skey = store::keys::Spec(ns, name);
  auto cur = store_.Get(skey);
  if (!cur) return Fail(cur.error());
  if (*cur) {
    auto cur_spec = ParseSpec((*cur)->value);
    if (!spec || !cur_spec) return {};
    // Another incarnation (re-created meanwhile), or no longer to go (an extend after an
    // expiry, a create's rollback overtaken by a change): the records stay.
    if (!cur_spec->uid.empty() && !spec->uid.empty() && cur_spec->uid != spec->uid) return {};
    if (!cur_spec->deleting && (decided_at == 0 || (*cur)->mod_revision != decided_at)) return {};
    txn.compares.push_back(Compare{skey, (*cur)->mod_revision});
    txn.ops.push_back(Op::Delete(skey));
  }
  txn.ops.push_back(Op::Delete(store::keys::Status(ns, name)));
  // Host ports and domains are free again in the same transaction that deletes the spec.
  if (auto s = store::ReleaseClaims(store_, ns + "/" + name, txn); !s) return s;
  // Its release history goes with it.
  if (auto s = store::DeleteReleaseRecords(store_, ns, name, txn); !s) return s;
  auto r = store_.Commit(txn);
  if (!r && r.error().code != ErrorCode::kConflict) return Fail(r.error());
  if (spec) spdlog::info("environment {}/{} deleted", ns, name);
  return {};
}

bool Controller::MayDeleteRoute(const std::string& key, const std::string& value,
                                bool ours_by_spec) {
  if (opts_.installation.empty()) return true;
  std::string owner = RouteInstallation(value);
  if (owner == opts_.installation || (owner.empty() && ours_by_spec)) return true;
  std::lock_guard<std::mutex> l(route_log_mu_);
  if (foreign_routes_logged_.insert(key + "\n" + owner).second)
    spdlog::warn("leaving route record {} alone: {}", key,
                 owner.empty() ? "written without an installation id and no spec here"
                               : "it belongs to installation " + owner);
  return false;
}

Status Controller::CollectGarbage() {
  auto specs = store_.List(store::keys::kSpecs);
  if (!specs) return Fail(specs.error());
  std::set<std::string> live;
  for (const auto& kv : specs->kvs)
    if (auto id = EnvKey::FromRecordKey(kv.key, store::keys::kSpecs)) live.insert(id->String());

  auto owned = runtime_.ListOwned();
  if (!owned) return Fail(owned.error());
  for (const auto& w : *owned) {
    std::string key = w.ns + "/" + w.name;
    if (live.count(key)) continue;
    // Re-check right before removing: a create may have landed since the listing.
    auto again = store_.Get(store::keys::Spec(w.ns, w.name));
    if (!again || *again) continue;
    spdlog::info("collecting orphaned workload {} ({})", key, w.id);
    // Not awaited: a workload still going is listed again by the next collection.
    if (auto s = runtime_.SubmitRemove(w.ns, w.name); !s)
      spdlog::warn("collecting {}: {}", key, s.error().message);
  }
  // Records without a spec: statuses, routes, port reservations.
  for (auto prefix : {store::keys::kStatus, store::keys::kRoutes}) {
    auto snap = store_.List(prefix);
    if (!snap) continue;
    for (const auto& kv : snap->kvs) {
      auto id = EnvKey::FromRecordKey(kv.key, prefix);
      if (!id || live.count(id->String())) continue;
      if (prefix == store::keys::kRoutes && !MayDeleteRoute(kv.key, kv.value, false)) continue;
      store_.Commit(Txn{{Compare{store::keys::Spec(*id), 0}, Compare{kv.key, kv.mod_revision}},
                        {Op::Delete(kv.key)}});
    }
  }
  store::CollectOrphanClaims(store_, live);
  return {};
}

Result<bool> Controller::MoveHeldPorts(const EnvironmentSpec& spec, EnvStatus& status) {
  if (!opts_.host_port_busy) return false;
  for (const PortSpec& p : spec.ports) {
    if (p.host_port == 0 || p.auto_assigned || !opts_.host_port_busy(p.host_port)) continue;
    // The user chose this port: it is not ours to move. Say why nothing starts.
    status.reason = "HostPortInUse";
    status.last_error = "host port " + std::to_string(p.host_port) + " (" + p.name +
                        ") was pinned at create and is held by another process; free it, or "
                        "re-create the environment without pinning the port";
    status.AddEvent("Warning", status.reason, status.last_error);
    break;
  }
  if (!opts_.move_held_ports) return false;
  auto moves = opts_.move_held_ports(spec.ns, spec.name, spec.uid);
  if (!moves) return Fail(moves.error());
  if (moves->empty()) return false;
  // The spec moved (the API's transaction); this status says so until the next pass, which
  // the spec's watch brings, starts the workload on the new ports.
  const EnvStatus before = status;
  std::vector<std::string> what;
  for (const core::PortMove& m : *moves) {
    if (status.ports.count(m.name)) status.ports[m.name] = m.to;
    what.push_back(m.Describe());
  }
  status.phase = Phase::kPending;
  status.reason = "PortReallocated";
  status.routed = false;
  status.AddEvent("Warning", "PortReallocated",
                  "host port held by another process; moved " + util::Join(what, ", "));
  spdlog::info("{}: host port held by another process; moved {}", spec.Key(),
               util::Join(what, ", "));
  if (auto w = WriteStatus(spec, status, before); !w) return Fail(w.error());
  return true;
}

}  // namespace berth::controller
