// The router's own nginx master: started with its own prefix and config (never /etc/nginx),
// in the foreground (`daemon off`) as our child, reloaded by SIGHUP, stopped gracefully.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "berth/result.h"
#include "router/nginx_conf.h"
#include "util/process.h"

namespace berth::router {

// The generation the router's nginx under `paths` answers on its control socket (a fresh
// connection, bounded by 2 s): kUnavailable when nothing answers there.
Result<int64_t> ControlGeneration(const NginxPaths& paths);

// True when `cmdline` (/proc/<pid>/cmdline) is the title of an nginx master this router
// started on `paths`: "nginx: master process <binary> -p <prefix>/ ... -c <conf_file> ...".
// A worker, another prefix (even one that starts with ours) or any other process is not.
bool IsOwnMasterCmdline(std::string_view cmdline, const NginxPaths& paths);

class NginxProcess {
 public:
  NginxProcess(std::string binary, NginxPaths paths);
  ~NginxProcess();
  NginxProcess(const NginxProcess&) = delete;
  NginxProcess& operator=(const NginxProcess&) = delete;

  // Starts the master on <prefix>/conf/nginx.conf. A master left over from an earlier run on
  // the same prefix that could not be adopted (its pid file, its cmdline) is stopped first.
  Status Start();
  // Takes over a master an earlier run started on this prefix and left running: its pid file
  // names a live process of this user whose cmdline is our master's (IsOwnMasterCmdline) and
  // which answers on our control socket. Returns the generation it serves; kNotFound when
  // there is none. A foreign process is never adopted nor signalled.
  Result<int64_t> Adopt();
  // Forgets the master without stopping it (it keeps serving; the next run adopts it).
  void Release();
  // Asks the master to re-read its config (SIGHUP). Confirm with WaitGeneration.
  Status Reload();
  bool Running();
  pid_t pid() const { return proc_.pid() > 0 ? proc_.pid() : adopted_; }
  // SIGQUIT (finish requests), then SIGTERM/SIGKILL after `grace`.
  void Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));

  // `nginx -t` on a complete config file with its own prefix; the output on failure.
  Status Test(const std::string& conf_file, const std::string& prefix,
              std::chrono::milliseconds timeout) const;
  // The generation the running config answers on the control socket (fresh connection).
  Result<int64_t> Generation() const;
  // Polls until `generation` answers. Fails early when the master logs [emerg] after
  // `log_offset` (a reload nginx refused) or exits.
  Status WaitGeneration(int64_t generation, std::chrono::milliseconds timeout, off_t log_offset);
  // The master's current worker processes.
  std::vector<pid_t> Workers() const;
  // Waits until each of `old` workers has stopped accepting (its title says "shutting down")
  // or exited. nginx starts new workers ~100ms before it tells the old ones to quit; until
  // then an old worker may still take new connections with the old config.
  void WaitRetired(const std::vector<pid_t>& old, std::chrono::milliseconds timeout) const;
  // Current size of the error log, to find what a reload logged.
  off_t ErrorLogSize() const;

  const NginxPaths& paths() const { return paths_; }
  const std::string& binary() const { return binary_; }

 private:
  void StopStaleMaster();
  // The pid in the pid file if it is our live master (see Adopt), else -1.
  pid_t OwnMasterFromPidFile() const;
  std::string binary_;
  NginxPaths paths_;
  util::Subprocess proc_;  // a master we started
  pid_t adopted_ = -1;     // or one an earlier run started (not our child)
};

}  // namespace berth::router
