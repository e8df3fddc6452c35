// Safe apply: every config nginx runs went through stage -> `nginx -t` on the complete file ->
// atomic swap (symlink rename) -> reload -> confirmation (the new generation answers on the
// control socket). On any failure the last good config stays on disk and in nginx.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "berth/result.h"
#include "router/nginx_process.h"
#include "router/router_options.h"

namespace berth::router {

struct NginxStats {
  int64_t generation = 0;  // of the live config
  int64_t reloads = 0;     // confirmed reloads
  int64_t failed_applies = 0;
  int64_t restarts = 0;  // master found dead and started again
  std::string last_error;
};

class ManagedNginx {
 public:
  explicit ManagedNginx(const RouterOptions& o);
  ~ManagedNginx();

  // Installs `text` as the first config (checked) and starts the master on it — or adopts the
  // master an earlier run left on this prefix (NginxProcess::Adopt), which keeps serving
  // throughout: then `text` is applied (checked, HUP, confirmed) if it differs from what that
  // master runs, unless `keep_adopted_config` (the caller's first Apply follows at once).
  Status Start(const std::string& text, bool keep_adopted_config = false);
  // Installs `text` and reloads; a no-op when it equals the live config.
  Status Apply(const std::string& text);
  // Starts the master again on the live config if it died. True when it had to.
  Result<bool> EnsureRunning();
  // Stops the master, or with RouterOptions::stop_nginx_on_exit false leaves it serving.
  void Stop();

  bool IsLive(const std::string& text) const;
  NginxStats Stats() const;
  NginxProcess& process() { return proc_; }

 private:
  // Stage + check + swap; returns the installed generation's dir.
  Status Install(const std::string& text, int64_t generation);
  Status PointConfAt(int64_t generation);
  void Prune();
  void RecordError(const std::string& e);

  RouterOptions opts_;
  NginxPaths paths_;
  NginxProcess proc_;
  std::string live_text_;  // with the generation token, as rendered
  std::string live_file_;  // an adopted master's config file, until the first apply
  int64_t generation_ = 0;
  mutable std::mutex mu_;  // guards stats_
  NginxStats stats_;
};

}  // namespace berth::router
