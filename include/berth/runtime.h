// Runtime: runs an environment's workload on a container engine or cluster.
// Every object it creates carries owner labels, so orphans can be found and collected.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "berth/environment.h"
#include "berth/result.h"
#include "berth/volume.h"

namespace berth::runtime {

// Owner labels on every object Berth creates.
inline constexpr std::string_view kLabelManagedBy = "app.kubernetes.io/managed-by";
inline constexpr std::string_view kLabelNamespace = "berth.dev/namespace";
inline constexpr std::string_view kLabelName = "berth.dev/name";
inline constexpr std::string_view kLabelGeneration = "berth.dev/generation";
// The installation (its id, generated once into the store) that made the object. Two Berths on
// one engine or cluster never touch each other's objects: each lists, changes and removes only
// what carries its own id.
inline constexpr std::string_view kLabelInstallation = "berth.dev/installation";

// Whose a managed object is, as far as this installation is concerned.
enum class Owner {
  kThis,      // carries this installation's id, or was adopted at first start
  kOther,     // carries another installation's id
  kLegacy,    // made by a release before installation ids, and not adopted
  kNotBerth,  // no managed-by=berth label
};

// Who this installation is. `installation` empty = no installation id (a runtime used on its
// own, as in the runtime tests): every managed-by=berth object counts as this one's and new
// objects carry no id, which is how releases before installation ids behaved.
struct Ownership {
  std::string installation;
  // Workload ids (OwnedWorkload::id) of unlabelled workloads adopted at the store's first
  // start with an installation id: this store had their specs, so they were its own.
  std::set<std::string> adopted;

  // Pure: from an object's managed-by and installation label values and its workload id.
  Owner Of(std::string_view managed_by, std::string_view installation_label,
           std::string_view workload_id) const;
  // A refusal naming who owns `what` ("container name berth-default.demo"), for kOther/kLegacy.
  std::string Refusal(const std::string& what, std::string_view installation_label) const;
};

struct WorkloadStatus {
  bool exists = false;
  Phase phase = Phase::kPending;
  std::string reason;   // ImagePullBackOff, Exited(1), Unschedulable ...
  std::string message;  // human detail
  std::string host_ip;
  std::map<std::string, int> ports;  // port name -> published host port
  int64_t generation = 0;            // generation label of the running workload
  std::string id;
};

// What a workload uses, as the engine reports it at one moment. A field the engine does not
// report (Podman on cgroups v1, a pod without metrics yet) is nullopt, never a made-up 0.
struct WorkloadUsage {
  // Cumulative CPU time of all its containers (seconds): a counter, so a rate (cores) is the
  // difference of two samples over the time between them.
  std::optional<double> cpu_seconds;
  // CPU cores in use now, where the source reports a rate instead of a counter (the Kubernetes
  // metrics API averages over its own window).
  std::optional<double> cpu_cores;
  std::optional<int64_t> memory_bytes;        // working set / usage now
  std::optional<int64_t> memory_limit_bytes;  // the limit that applies (the spec's)
  std::optional<int64_t> network_rx_bytes;    // counters since the workload started
  std::optional<int64_t> network_tx_bytes;
  int64_t restarts = 0;  // restarts of its containers (Docker RestartCount, pod restartCount)
};

// One environment's usage as served (REST, `berth top`, /metrics): the latest sample and the
// CPU rate over the last two. `usage` is nullopt when there is no sample (then `error` says
// why); a sample older than an error keeps being shown with the error beside it.
struct UsageReport {
  std::string ns;
  std::string name;
  std::optional<WorkloadUsage> usage;
  int64_t sampled_at_ms = 0;        // unix time of the sample, milliseconds
  std::optional<double> cpu_cores;  // CPU seconds per second between the last two samples
  std::string error;                // the last sampling error, if newer than the sample
};

// One point of an environment's usage history (the dashboard's charts): a sample with its
// counters turned into rates since the sample before it (nullopt for the first kept sample,
// and where a counter went back because the workload or the router restarted).
struct UsageRates {
  int64_t at_ms = 0;  // unix time of the sample, milliseconds
  std::optional<double> cpu_cores;
  std::optional<int64_t> memory_bytes;
  std::optional<int64_t> memory_limit_bytes;
  std::optional<double> network_rx_per_second;  // bytes
  std::optional<double> network_tx_per_second;
  std::optional<double> requests_per_minute;  // through the router
  int64_t restarts = 0;
};

struct OwnedWorkload {
  std::string ns;
  std::string name;
  std::string id;
  int64_t generation = 0;
  std::string installation;  // its installation label ("" = made before installation ids)
};

struct LogOptions {
  bool follow = false;
  int tail = -1;  // -1 = all
  bool timestamps = false;
  // Set (from another thread) to end a follow even while no line arrives: the API sets it when
  // its client goes away.
  const std::atomic<bool>* cancel = nullptr;
};

// Called with each chunk of log output; return false to stop following.
using LogSink = std::function<bool(std::string_view)>;

// Progress reports while a slow step runs (pulling an image...).
using ProgressFn = std::function<void(const std::string&)>;

// Names an environment whose workload changed underneath Berth (a pod crashed or was
// rescheduled, a container exited): the controller reconciles it now, not at the next resync.
using ChangeFn = std::function<void(const std::string& ns, const std::string& name)>;

// A running change feed from the runtime (a Kubernetes pod watch, Docker's event stream).
// Destroying it stops it.
class ChangeWatch {
 public:
  virtual ~ChangeWatch() = default;
};

// What a runtime does differently from another, declared by the runtime: callers branch on
// these, never on its name. Only what Berth's code decides by; the defaults are a remote
// Docker-like engine's.
struct Capabilities {
  // How a host directory is mounted as a volume: kBind, a directory of this host (Docker), or
  // kHostPath, a path present on every node (Kubernetes). Volume drivers make their mounts so.
  VolumeMount::Kind host_dir_mount = VolumeMount::Kind::kBind;
  // Berth picks a host port for every port the spec leaves at 0 and the runtime publishes it
  // (Docker). false: the cluster assigns them (NodePorts); only pinned ones are reserved.
  bool allocates_host_ports = true;
  // Published ports bind on this very host (a local engine): allocation skips ports other
  // processes hold, and the controller moves an auto-assigned port taken later.
  bool local_host_ports = false;
  // Berth can reach a workload's published ports, so the controller waits for its http port
  // to answer before it reports Running (elsewhere the workload's own readiness decides).
  bool probe_http = false;
  // Submit returns once the engine has the workload, before it runs (the cluster schedules and
  // pulls): a failure to start shows in Inspect, and the change watch says when to look again.
  bool async_submit = false;
  // Restart() restarts the workload in place (Docker); else a code release is picked up by a
  // new rollout of the same spec (Kubernetes).
  bool restart_in_place = false;
  // UsageOfMany answers for many environments with one request (Kubernetes' metrics API),
  // so the sampler asks for a whole round at once; else it asks one environment at a time.
  bool batch_usage = false;
};

class Runtime {
 public:
  virtual ~Runtime() = default;
  // For messages and `berth status`; never to decide behaviour (that is capabilities()).
  virtual std::string Name() const = 0;
  virtual Capabilities capabilities() const { return {}; }
  // Makes the workload match `spec` (idempotent). Replaces a workload of an older generation.
  virtual Status Apply(const EnvironmentSpec& spec, const VolumeMount& volume,
                       const ProgressFn& progress) = 0;
  // What the controller calls: hands the workload to the engine and returns without waiting for
  // it to run, so no reconcile worker waits on a pod; progress shows in Inspect. Where applying
  // is short anyway (a local engine) it is Apply.
  virtual Status Submit(const EnvironmentSpec& spec, const VolumeMount& volume,
                        const ProgressFn& progress) {
    return Apply(spec, volume, progress);
  }
  // Sleep without waiting for the workload to stop (the controller's call: Inspect shows it
  // still stopping and the controller looks again). Default: Sleep.
  virtual Status SubmitSleep(const EnvironmentSpec& spec, const VolumeMount& volume) {
    return Sleep(spec, volume);
  }
  // Asks the engine to remove the workload and says whether it is gone, without waiting (the
  // controller's call: it looks again until true, keeping the records until then). Default:
  // Remove, then true.
  virtual Result<bool> SubmitRemove(std::string_view ns, std::string_view name) {
    if (auto s = Remove(ns, name); !s) return Fail(s.error());
    return true;
  }
  // With spec.sleeping, a workload stopped on purpose (Sleep) reads as Phase::kSleeping, not
  // as a failure to repair.
  virtual Result<WorkloadStatus> Inspect(const EnvironmentSpec& spec) = 0;
  // Stops the workload and keeps it (Docker: stops the container; Kubernetes: scales to 0):
  // ports, volume and objects stay, and Apply of the spec without `sleeping` starts it again.
  // Idempotent; OK when nothing exists. Waits (bounded) until it stopped. `volume` as for
  // Apply (Kubernetes applies its objects again, with 0 replicas).
  virtual Status Sleep(const EnvironmentSpec& spec, const VolumeMount& volume) {
    (void)volume;
    return Fail(ErrorCode::kFailed,
                "the " + Name() + " runtime cannot put " + spec.Key() + " to sleep");
  }
  // Restarts the running workload in place (same container, ports and volume): how a code
  // release is picked up. kUnavailable where the runtime cannot (Kubernetes: the caller rolls
  // the workload out again instead).
  virtual Status Restart(const EnvironmentSpec& spec) {
    return Fail(ErrorCode::kUnavailable,
                "the " + Name() + " runtime cannot restart " + spec.Key() + " in place");
  }
  // Runs `argv` inside the running workload and waits up to `timeout` for it to end: its exit
  // code, and its output (stdout and stderr) in `output` when set. kUnavailable where the
  // runtime cannot exec.
  virtual Result<int> Exec(const EnvironmentSpec& spec, const std::vector<std::string>& argv,
                           std::chrono::milliseconds timeout, std::string* output = nullptr) {
    (void)argv;
    (void)timeout;
    (void)output;
    return Fail(ErrorCode::kUnavailable,
                "the " + Name() + " runtime cannot run a command in " + spec.Key());
  }
  // Removes every object of the environment and waits until gone; OK if nothing exists.
  virtual Status Remove(std::string_view ns, std::string_view name) = 0;
  virtual Status Logs(const EnvironmentSpec& spec, const LogOptions& opts, const LogSink& sink) = 0;
  // Every workload labelled managed-by=berth on the engine, whoever's (for adoption).
  virtual Result<std::vector<OwnedWorkload>> ListManaged() = 0;
  // This installation's workloads only: the orphan collector's list. Unlabelled ones of an
  // earlier release that were not adopted are left alone and logged once each.
  Result<std::vector<OwnedWorkload>> ListOwned();
  // Set once before the runtime is used (berth serve does, from the store's installation).
  void SetOwnership(Ownership o) { ownership_ = std::move(o); }
  const Ownership& ownership() const { return ownership_; }
  // A cheap reachability check that gives up after `deadline` (Docker `GET /_ping`, the
  // Kubernetes API's `/version`): kUnavailable or kTimeout naming the engine when it does not
  // answer. A runtime without such a check reports reachable.
  virtual Status Ping(std::chrono::milliseconds deadline) {
    (void)deadline;
    return {};
  }
  // What the environment's workload uses now, asked of the engine within `deadline`.
  // kNotFound when it has no workload; kUnavailable when the engine or cluster cannot say
  // (Kubernetes without metrics.k8s.io).
  virtual Result<WorkloadUsage> Usage(const EnvironmentSpec& spec,
                                      std::chrono::milliseconds deadline) {
    (void)spec;
    (void)deadline;
    return Fail(ErrorCode::kUnavailable, "the " + Name() + " runtime reports no usage");
  }
  // Usage of many environments at once (the sampler's round), one result per spec in order.
  // By default one Usage call each (within `deadline` each); a runtime that can answer for
  // all of them with one request overrides it (Kubernetes: one cluster-wide list of the
  // metrics API, not one per environment every round).
  virtual std::vector<Result<WorkloadUsage>> UsageOfMany(
      const std::vector<const EnvironmentSpec*>& specs, std::chrono::milliseconds deadline) {
    std::vector<Result<WorkloadUsage>> out;
    out.reserve(specs.size());
    for (const auto* spec : specs) out.push_back(Usage(*spec, deadline));
    return out;
  }
  // Starts following changes to owned workloads, calling `fn` from its own thread; reconnects
  // by itself. nullptr where the runtime has no feed (the resync alone then notices changes).
  virtual std::unique_ptr<ChangeWatch> WatchChanges(ChangeFn fn) {
    (void)fn;
    return nullptr;
  }

 protected:
  Ownership ownership_;

 private:
  std::mutex legacy_mu_;
  std::set<std::string> legacy_logged_;
};

}  // namespace berth::runtime
