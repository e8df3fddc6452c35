// Runtime: runs an environment's workload on a container engine or cluster.
// Every object it creates carries owner labels, so orphans can be found and collected.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
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

struct OwnedWorkload {
  std::string ns;
  std::string name;
  std::string id;
  int64_t generation = 0;
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

class Runtime {
 public:
  virtual ~Runtime() = default;
  virtual std::string Name() const = 0;
  // Makes the workload match `spec` (idempotent). Replaces a workload of an older generation.
  virtual Status Apply(const EnvironmentSpec& spec, const VolumeMount& volume,
                       const ProgressFn& progress) = 0;
  virtual Result<WorkloadStatus> Inspect(const EnvironmentSpec& spec) = 0;
  // Removes every object of the environment and waits until gone; OK if nothing exists.
  virtual Status Remove(std::string_view ns, std::string_view name) = 0;
  virtual Status Logs(const EnvironmentSpec& spec, const LogOptions& opts, const LogSink& sink) = 0;
  virtual Result<std::vector<OwnedWorkload>> ListOwned() = 0;
  // A cheap reachability check that gives up after `deadline` (Docker `GET /_ping`, the
  // Kubernetes API's `/version`): kUnavailable or kTimeout naming the engine when it does not
  // answer. A runtime without such a check reports reachable.
  virtual Status Ping(std::chrono::milliseconds deadline) {
    (void)deadline;
    return {};
  }
  // Starts following changes to owned workloads, calling `fn` from its own thread; reconnects
  // by itself. nullptr where the runtime has no feed (the resync alone then notices changes).
  virtual std::unique_ptr<ChangeWatch> WatchChanges(ChangeFn fn) {
    (void)fn;
    return nullptr;
  }
};

}  // namespace berth::runtime
