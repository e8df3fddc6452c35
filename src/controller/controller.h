// The controller: level-triggered, idempotent reconciliation of every stored environment spec
// into a running workload, a volume and a route record. It never trusts memory: each pass
// reads the store and the runtime afresh, so a kill -9 at any point resumes cleanly.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "berth/config.h"
#include "berth/runtime.h"
#include "berth/store.h"
#include "berth/volume.h"
#include "controller/readiness_probes.h"
#include "controller/work_queue.h"
#include "core/ports.h"
#include "store/informer.h"

namespace berth::controller {

// True when the router has applied store revision `revision` (a look, never a wait: the
// router calls Controller::RoutesApplied when it gets there).
using RouteWaiter = std::function<bool(int64_t revision)>;

struct ControllerOptions {
  int workers = 8;
  // The store feed to follow specs by (shared with the API's cache); nullptr = a list + watch
  // of the controller's own.
  store::Informer* informer = nullptr;
  std::chrono::seconds resync{10};
  bool publish_routes = true;
  // Before reporting Running, wait (up to readiness_timeout) until the published http port
  // accepts TCP connections, so `create --wait` returns when the environment answers. Only
  // where the published ports are reachable from this host (the docker runtime).
  bool probe_http = false;
  std::chrono::milliseconds readiness_timeout{15000};
  // How a port is probed (on the probe threads); nullptr = a TCP connect of at most 200 ms.
  ReadinessProbes::ProbeFn readiness_probe;
  // Follow the runtime's change feed (Runtime::WatchChanges) besides the store and the resync.
  bool watch_runtime = true;
  // This installation's id (controller/installation.h), written into every route record; route
  // records of another id are never deleted. "" = none (records carry none, all are ours).
  std::string installation;
  // Host ports another process holds (a bind probe; set only for a local engine, where the
  // published ports are this host's). Set, a start that failed on a held port is looked into
  // instead of being retried on that port for ever.
  core::PortBusyFn host_port_busy;
  // Moves them: the spec's writer (api::EnvironmentService::MoveHeldPorts) moves the
  // auto-assigned ports of incarnation `uid` that are held now, and says what moved. Unset:
  // a held port is only reported.
  std::function<Result<std::vector<core::PortMove>>(const std::string& ns, const std::string& name,
                                                    const std::string& uid)>
      move_held_ports;
  // The domains the router actually serves for route key "ns/name"; set, `routed` is true only
  // when the router gives the environment every domain it holds.
  std::function<std::vector<std::string>(const std::string& ns, const std::string& name)>
      routed_domains;
};

class Controller {
 public:
  Controller(store::Store& store, runtime::Runtime& runtime, VolumeProvider& volumes,
             ControllerOptions opts, RouteWaiter route_waiter = nullptr);
  ~Controller();
  // The router has applied the store up to `revision`: environments waiting for their route
  // (or its removal) are queued again. Called from the router's apply thread.
  void RoutesApplied(int64_t revision);

  void Start();
  void Stop();

  // One reconciliation of one environment key "ns/name" (public for tests).
  Status Reconcile(const std::string& key);
  // Removes workloads, statuses, routes and port reservations with no spec.
  Status CollectGarbage();
  // Queues every environment now (the engine came back, or went away).
  void ResyncNow() { EnqueueAll(); }

  runtime::Runtime& runtime() { return runtime_; }

 private:
  void ResyncLoop();
  void Worker();
  void EnqueueAll();

  // The controller's part of a deletion (the API marked it; the spec is never written here):
  // status Deleting, then everything removed, and last the records (RemoveEverything).
  Status ReconcileDelete(const store::KeyValue& spec_kv, EnvironmentSpec& spec, EnvStatus& status);
  // TTL: records an Expired event, then removes everything as a deletion does, the records
  // last and only if the spec is still the one that expired (an extend that lands first wins).
  Status Expire(const store::KeyValue& spec_kv, const EnvironmentSpec& spec, EnvStatus& status);
  // Each reconcile starts what is needed and returns: `requeue_after` (0 = not needed) says
  // when to look again if no watch brings the key back sooner.
  Status ReconcileRun(const store::KeyValue& spec_kv, EnvironmentSpec& spec, EnvStatus& status,
                      std::chrono::milliseconds* requeue_after);
  // A first rollout that can never start (rollback_on_failure): records status.rolling_back
  // and removes everything, volume included, as a create that fails leaves nothing behind.
  // Each later pass goes on from the status (the spec is the user's and stays as it was).
  Status RollBackFirstRollout(const store::KeyValue& spec_kv, const EnvironmentSpec& spec,
                              EnvStatus& status);
  // Sleeping: stops the workload, keeps ports and volume, and publishes the route marked
  // sleeping (the router wakes it on a request).
  Status ReconcileSleep(const store::KeyValue& spec_kv, EnvironmentSpec& spec, EnvStatus& status,
                        std::chrono::milliseconds* requeue_after);
  // Writes the route record (sleeping or not); sets status.routed once the router has it.
  // False when the spec changed meanwhile (queued again; stop this pass).
  Result<bool> PublishRoute(const store::KeyValue& spec_kv, const EnvironmentSpec& spec,
                            const std::string& host_ip, const std::map<std::string, int>& ports,
                            bool sleeping, EnvStatus& status);
  // Writes status only if it changed (ignoring updated_at) — no write storms on resync.
  Status WriteStatus(const EnvironmentSpec& spec, EnvStatus& status, const EnvStatus& before);
  // After a failed runtime call: true when the engine itself does not answer a ping. The
  // environment then shows reason RuntimeUnavailable and a Warning event, its phase kept.
  bool EngineUnreachable(const EnvironmentSpec& spec, EnvStatus& status);
  // Route, workload, volume (purge_volume), then the records. The spec record goes only if it
  // is still the incarnation `spec` names (its uid) and either marked for deletion or exactly
  // `decided_at` (the revision an expiry or a rollback was decided on; 0 = none).
  Status RemoveEverything(const std::string& ns, const std::string& name,
                          const EnvironmentSpec* spec, bool purge_volume, int64_t decided_at = 0);
  // Whether the route record `value` may be deleted: this installation's, or an unlabelled one
  // (an earlier release's) of an environment this store is deleting (`ours_by_spec`).
  bool MayDeleteRoute(const std::string& key, const std::string& value, bool ours_by_spec);
  // After a start failed on a held host port: a held pinned port is reported on `status`;
  // held auto-assigned ones are moved by the spec's writer (opts_.move_held_ports) and the
  // move recorded in the status. True when the spec moved (its watch reconciles again).
  Result<bool> MoveHeldPorts(const EnvironmentSpec& spec, EnvStatus& status);

  store::Store& store_;
  runtime::Runtime& runtime_;
  VolumeProvider& volumes_;
  ControllerOptions opts_;
  RouteWaiter route_waiter_;
  // Keys whose route (or route removal) awaits the router, by the revision it must apply;
  // and the revision of each environment's route removal until the router has it.
  std::mutex route_mu_;
  std::multimap<int64_t, std::string> awaiting_route_;
  std::map<std::string, int64_t> route_removals_;
  // True if the router has applied `rev`; otherwise `key` is queued again when it does.
  bool RouteApplied(int64_t rev, const std::string& key);
  WorkQueue queue_;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
  // Specs arrive through an informer (ControllerOptions::informer, else one of our own).
  std::unique_ptr<store::Informer> own_informer_;
  std::unique_ptr<store::Informer::Registration> spec_feed_;
  std::unique_ptr<runtime::ChangeWatch> runtime_changes_;
  // http readiness, asked without waiting (a probe thread answers and requeues the key).
  ReadinessProbes probes_;
  // When each key's current generation was first seen running but not yet answering.
  std::mutex probe_mu_;
  std::map<std::string, std::chrono::steady_clock::time_point> not_ready_since_;
  std::mutex route_log_mu_;
  std::set<std::string> foreign_routes_logged_;
};

}  // namespace berth::controller
