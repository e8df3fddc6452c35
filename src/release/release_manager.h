// Releases (docs/releases.md): putting new code or a new image into an environment, with
// history and rollback. Records live in the store (store/release_records.h); code goes to the
// volume (release/code_tree.h); the workload picks it up by a restart or a reload command,
// and a release is Running only once the http port answers again.
//
// A deploy holds the environment's deploy lock (a compare-and-swap on its release head) from
// its record's creation until it is Running or Failed, so two deploys never interleave. The
// server that held a lock and died (kill -9) is noticed at the next start (Recover) or by the
// next deploy: its release is marked Failed, `current` goes back to the head's current and
// partial directories are collected.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "berth/environment.h"
#include "berth/runtime.h"
#include "berth/store.h"
#include "berth/volume.h"
#include "release/code_tree.h"
#include "release/tar_check.h"
#include "store/release_records.h"

namespace berth::release {

struct ReleaseOptions {
  TarLimits limits;
  size_t keep = 5;                         // release directories kept (releases.keep)
  std::chrono::seconds ready_timeout{60};  // restart/reload until the http port answers
  std::string host_ip = "127.0.0.1";       // where published ports are probed
  bool probe_http = true;                  // the runtime's ports are reachable from here
  std::string holder;                      // this server: "<host>/<pid>"
};

// Rolls the environment out again with `image` ("" = same image, new generation) through the
// environment service: the new generation.
using RebuildFn = std::function<Result<int64_t>(const std::string& ns, const std::string& name,
                                                const std::string& image)>;

struct DeployRequest {
  std::string ns, name;
  // Code mode: the archive (a spooled upload). Image mode: `image`.
  int archive_fd = -1;
  std::string image;
  std::string message;
  std::string created_by;
  std::string reload_command;  // code mode: run in the container instead of restarting it
  bool no_rollback = false;
};

struct ReleaseList {
  std::vector<store::Release> releases;  // oldest first
  std::string current;
  std::string deploying;  // the release (or "rollback") holding the lock, "" = none
};

class ReleaseManager {
 public:
  ReleaseManager(store::Store& store, runtime::Runtime& runtime, VolumeProvider& volumes,
                 RebuildFn rebuild, ReleaseOptions opts);
  ~ReleaseManager();  // waits for deploys in flight

  // Checks, records (Pending) and, for code, extracts and switches `current`; then activates
  // in the background. The record as it stands when this returns.
  Result<store::Release> Deploy(const DeployRequest& req);
  // Back to release `to` ("" = the newest Running release before the current one); waits
  // until the workload runs it. The list afterwards.
  Result<ReleaseList> Rollback(const std::string& ns, const std::string& name,
                               const std::string& to);
  Result<ReleaseList> List(const std::string& ns, const std::string& name);
  Result<store::Release> Get(const std::string& ns, const std::string& name, const std::string& id);
  // Finishes every deploy a dead server left locked (see the file comment), in the background.
  void Recover();
  void RecoverNow();
  void Stop();

 private:
  struct Env;
  Result<Env> Load(const std::string& ns, const std::string& name);
  // Takes the deploy lock for `what` (a new release when `record` is set: written Pending with
  // the next id). kConflict when a live deploy holds it.
  Result<store::Release> Lock(const std::string& ns, const std::string& name,
                              const std::string& what, store::Release* record);
  // Writes `r` and releases the lock, making `current` the head's current when set.
  Status Unlock(const std::string& ns, const std::string& name, const store::Release* r,
                const std::optional<std::string>& current);
  Status Save(const std::string& ns, const std::string& name, const store::Release& r);
  // Restart or reload, then wait for the http port: "" when it runs, else the reason.
  std::string Activate(const EnvironmentSpec& spec, const std::string& reload_command);
  // Rebuild with `image` and wait until the generation runs: "" or the reason.
  std::string RollOut(const EnvironmentSpec& spec, const std::string& image);
  // The environment's code tree, on the volume as its driver writes it (VolumeProvider::OpenDir).
  Result<CodeTree> OpenTree(const EnvironmentSpec& spec);
  void ActivateCode(EnvironmentSpec spec, store::Release r, bool no_rollback);
  void ActivateImage(EnvironmentSpec spec, store::Release r, bool no_rollback);
  void RecoverOne(const std::string& ns, const std::string& name, store::ReleaseHead head);
  bool Stale(const store::ReleaseHead& head) const;
  void Spawn(std::function<void()> fn);

  store::Store& store_;
  runtime::Runtime& runtime_;
  VolumeProvider& volumes_;
  RebuildFn rebuild_;
  ReleaseOptions opts_;
  std::mutex mu_;
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<Worker> threads_;  // finished ones are joined at the next Spawn
  std::atomic<bool> stopping_{false};
};

}  // namespace berth::release
