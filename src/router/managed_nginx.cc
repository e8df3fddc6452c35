#include "router/managed_nginx.h"

#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include <spdlog/spdlog.h>

#include "util/fs.h"

namespace berth::router {

namespace {

std::string GenName(int64_t g) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "gen-%08lld", static_cast<long long>(g));
  return buf;
}

std::string Substitute(const std::string& text, int64_t g) {
  std::string out = text;
  const std::string token = kGenerationToken;
  for (size_t pos = out.find(token); pos != std::string::npos; pos = out.find(token, pos)) {
    out.replace(pos, token.size(), std::to_string(g));
  }
  return out;
}

// Existing generation numbers under confs/, ascending.
std::vector<int64_t> Generations(const std::string& confs) {
  std::vector<int64_t> gens;
  DIR* d = opendir(confs.c_str());
  if (!d) return gens;
  while (auto* e = readdir(d)) {
    long long g = 0;
    char rest = 0;
    if (std::sscanf(e->d_name, "gen-%lld%c", &g, &rest) == 1) gens.push_back(g);
  }
  closedir(d);
  std::sort(gens.begin(), gens.end());
  return gens;
}

}  // namespace

ManagedNginx::ManagedNginx(const RouterOptions& o)
    : opts_(o), paths_(o.prefix), proc_(o.nginx_binary, NginxPaths(o.prefix)) {}

ManagedNginx::~ManagedNginx() {
  Stop();
}

void ManagedNginx::RecordError(const std::string& e) {
  spdlog::error("router: {}", e);
  std::lock_guard<std::mutex> l(mu_);
  stats_.failed_applies++;
  stats_.last_error = e;
}

Status ManagedNginx::Install(const std::string& text, int64_t g) {
  const std::string final_dir = paths_.confs + "/" + GenName(g);
  const std::string stage = final_dir + ".stage";
  util::RemoveAll(stage);
  if (auto s = util::MakeDirs(stage); !s) return s;
  if (auto s = util::WriteFileAtomic(stage + "/nginx.conf", Substitute(text, g)); !s) return s;
  // The complete candidate config, with its own prefix: never a fragment.
  if (auto s = proc_.Test(stage + "/nginx.conf", stage, opts_.check_timeout); !s) {
    util::RemoveAll(stage);
    return s;
  }
  util::RemoveAll(final_dir);
  if (::rename(stage.c_str(), final_dir.c_str()) != 0)
    return Fail(ErrorCode::kInternal, "rename " + stage + ": " + std::strerror(errno));
  return PointConfAt(g);
}

Status ManagedNginx::PointConfAt(int64_t g) {
  // rename() of a symlink over the old one: nginx sees either config, never a mix.
  const std::string tmp = paths_.conf_link + ".new";
  ::unlink(tmp.c_str());
  if (::symlink(("confs/" + GenName(g)).c_str(), tmp.c_str()) != 0)
    return Fail(ErrorCode::kInternal, "symlink " + tmp + ": " + std::strerror(errno));
  struct stat st {};
  if (::lstat(paths_.conf_link.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    // A conf directory from elsewhere (hand-made prefix): keep it aside, never delete it.
    std::string aside = paths_.conf_link + ".orig";
    ::rename(paths_.conf_link.c_str(), aside.c_str());
  }
  if (::rename(tmp.c_str(), paths_.conf_link.c_str()) != 0)
    return Fail(ErrorCode::kInternal, "rename " + tmp + ": " + std::strerror(errno));
  return {};
}

void ManagedNginx::Prune() {
  // Keep the live generation and the three before it for inspection.
  for (int64_t g : Generations(paths_.confs)) {
    if (g < generation_ - 3) util::RemoveAll(paths_.confs + "/" + GenName(g));
  }
}

bool ManagedNginx::IsLive(const std::string& text) const {
  return text == live_text_ || (!live_file_.empty() && Substitute(text, generation_) == live_file_);
}

Status ManagedNginx::Start(const std::string& text, bool keep_adopted_config) {
  // nginx -t opens the error log and tries the pid file and temp paths: they must exist.
  for (const auto& d : {paths_.confs, paths_.logs, paths_.temp, paths_.run}) {
    if (auto s = util::MakeDirs(d); !s) return s;
  }
  // A restart of serve must not drop routes: the running master keeps serving, and only a
  // changed config reloads it (gracefully, after nginx -t).
  if (auto adopted = proc_.Adopt(); adopted) {
    generation_ = *adopted;
    live_text_.clear();
    live_file_ =
        util::ReadFile(paths_.confs + "/" + GenName(generation_) + "/nginx.conf").value_or("");
    {
      std::lock_guard<std::mutex> l(mu_);
      stats_.generation = generation_;
    }
    if (keep_adopted_config || IsLive(text)) return {};
    if (auto s = Apply(text); !s)
      spdlog::warn("router: the adopted nginx keeps its config: {}", s.error().message);
    return {};
  }
  auto gens = Generations(paths_.confs);
  int64_t g = (gens.empty() ? 0 : gens.back()) + 1;
  if (auto s = Install(text, g); !s) {
    RecordError("initial config: " + s.error().message);
    return s;
  }
  generation_ = g;
  live_text_ = text;
  if (auto s = proc_.Start(); !s) return s;
  if (auto s = proc_.WaitGeneration(g, opts_.reload_timeout, -1); !s) {
    RecordError("starting nginx: " + s.error().message);
    proc_.Stop();
    return s;
  }
  std::lock_guard<std::mutex> l(mu_);
  stats_.generation = g;
  Prune();
  return {};
}

Status ManagedNginx::Apply(const std::string& text) {
  if (IsLive(text)) {
    live_text_ = text;
    return {};
  }
  const int64_t prev = generation_;
  const int64_t g = prev + 1;
  if (auto s = Install(text, g); !s) {
    Error e(s.error().code, "config generation " + std::to_string(g) + " rejected, generation " +
                                std::to_string(prev) + " keeps serving: " + s.error().message);
    RecordError(e.message);
    return Fail(e);
  }
  off_t log_offset = proc_.ErrorLogSize();
  auto old_workers = proc_.Workers();
  Status s = proc_.Reload();
  if (s) s = proc_.WaitGeneration(g, opts_.reload_timeout, log_offset);
  if (!s) {
    // Disk goes back to what nginx still runs.
    PointConfAt(prev);
    util::RemoveAll(paths_.confs + "/" + GenName(g));
    Error e(s.error().code, "reload to generation " + std::to_string(g) + " failed, generation " +
                                std::to_string(prev) + " keeps serving: " + s.error().message);
    RecordError(e.message);
    return Fail(e);
  }
  // Applied means every new connection gets the new config.
  proc_.WaitRetired(old_workers, opts_.reload_timeout);
  generation_ = g;
  live_text_ = text;
  live_file_.clear();
  {
    std::lock_guard<std::mutex> l(mu_);
    stats_.generation = g;
    stats_.reloads++;
  }
  Prune();
  return {};
}

Result<bool> ManagedNginx::EnsureRunning() {
  if (proc_.Running()) return false;
  if (generation_ == 0) return Fail(ErrorCode::kUnavailable, "nginx was never started");
  spdlog::warn("router: nginx master is gone; starting it again on generation {}", generation_);
  if (auto s = proc_.Start(); !s) return Fail(s.error());
  if (auto s = proc_.WaitGeneration(generation_, opts_.reload_timeout, -1); !s) {
    RecordError("restarting nginx: " + s.error().message);
    return Fail(s.error());
  }
  std::lock_guard<std::mutex> l(mu_);
  stats_.restarts++;
  return true;
}

void ManagedNginx::Stop() {
  if (opts_.stop_nginx_on_exit)
    proc_.Stop();
  else
    proc_.Release();
}

NginxStats ManagedNginx::Stats() const {
  std::lock_guard<std::mutex> l(mu_);
  return stats_;
}

}  // namespace berth::router
