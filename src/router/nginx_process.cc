#include "router/nginx_process.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include <spdlog/spdlog.h>

#include "net/http_client.h"
#include "util/fs.h"
#include "util/strings.h"

namespace berth::router {

using std::chrono::milliseconds;

NginxProcess::NginxProcess(std::string binary, NginxPaths paths)
    : binary_(util::FindExecutable(binary)), paths_(std::move(paths)) {}

NginxProcess::~NginxProcess() {
  Stop();
}

bool IsOwnMasterCmdline(std::string_view cmdline, const NginxPaths& paths) {
  // nginx rewrites its argv into the title "nginx: master process <argv joined by spaces>".
  std::string text(cmdline);
  for (char& c : text)
    if (c == '\0') c = ' ';
  auto words = util::SplitWhitespace(text);
  if (words.size() < 4 || words[0] != "nginx:" || words[1] != "master" || words[2] != "process")
    return false;
  bool prefix = false, conf = false;
  for (size_t i = 3; i + 1 < words.size(); ++i) {
    if (words[i] == "-p") prefix = prefix || words[i + 1] == paths.prefix + "/";
    if (words[i] == "-c") conf = conf || words[i + 1] == paths.conf_file;
  }
  return prefix && conf;
}

pid_t NginxProcess::OwnMasterFromPidFile() const {
  auto pid_text = util::ReadFile(paths_.pid_file);
  if (!pid_text) return -1;
  const std::string t = util::Trim(*pid_text);
  if (t.empty() || t.size() > 9 || t.find_first_not_of("0123456789") != std::string::npos)
    return -1;
  pid_t pid = static_cast<pid_t>(std::atoi(t.c_str()));
  if (pid <= 1 || pid == ::getpid() || kill(pid, 0) != 0) return -1;
  const std::string proc = "/proc/" + std::to_string(pid);
  struct stat st {};
  if (::stat(proc.c_str(), &st) != 0 || st.st_uid != ::geteuid()) return -1;
  auto cmdline = util::ReadFile(proc + "/cmdline");
  if (!cmdline || !IsOwnMasterCmdline(*cmdline, paths_)) return -1;
  return pid;
}

Result<int64_t> NginxProcess::Adopt() {
  if (Running()) return Fail(ErrorCode::kAlreadyExists, "nginx is already running");
  pid_t pid = OwnMasterFromPidFile();
  if (pid <= 0) return Fail(ErrorCode::kNotFound, "no nginx master of ours on " + paths_.prefix);
  // Our config answers on our control socket: the proof that it runs a config we staged.
  auto g = Generation();
  if (!g) return Fail(Wrap(g.error(), "nginx master " + std::to_string(pid)));
  adopted_ = pid;
  spdlog::info("router: adopted nginx master {} on {} (generation {})", pid, paths_.prefix, *g);
  return *g;
}

void NginxProcess::Release() {
  if (pid() > 0) spdlog::info("router: leaving nginx master {} running", pid());
  proc_.Release();
  adopted_ = -1;
}

void NginxProcess::StopStaleMaster() {
  // Only a master of this very prefix: never signal a process we cannot identify.
  pid_t pid = OwnMasterFromPidFile();
  if (pid <= 0) return;
  spdlog::warn("router: stopping nginx master {} left over on {}", pid, paths_.prefix);
  kill(pid, SIGQUIT);
  for (int i = 0; i < 100 && kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(milliseconds(50));
  if (kill(pid, 0) == 0) kill(pid, SIGKILL);
  for (int i = 0; i < 40 && kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(milliseconds(50));
}

Status NginxProcess::Start() {
  if (Running()) return {};
  for (const auto& d : {paths_.logs, paths_.temp, paths_.run}) {
    if (auto s = util::MakeDirs(d); !s) return s;
  }
  StopStaleMaster();
  // A socket file left by a killed master makes bind() fail.
  ::unlink(paths_.control_socket.c_str());
  util::SpawnOptions so;
  so.stdout_path = paths_.logs + "/nginx.out";
  so.stderr_path = "=stdout";
  auto p = util::Subprocess::Spawn({binary_, "-p", paths_.prefix + "/", "-e", paths_.error_log,
                                    "-c", paths_.conf_file, "-g", "daemon off;"},
                                   so);
  if (!p) return Fail(Wrap(p.error(), "starting nginx"));
  proc_ = std::move(*p);
  spdlog::info("router: nginx master {} started on prefix {}", proc_.pid(), paths_.prefix);
  return {};
}

Status NginxProcess::Reload() {
  if (!Running()) return Fail(ErrorCode::kUnavailable, "nginx is not running");
  if (kill(pid(), SIGHUP) != 0) return Fail(ErrorCode::kInternal, "kill(SIGHUP) failed");
  return {};
}

bool NginxProcess::Running() {
  if (proc_.pid() > 0) return proc_.running();
  if (adopted_ <= 0) return false;
  // Not our child: alive and still the same master (a pid is reused only after it exited).
  if (OwnMasterFromPidFile() == adopted_) return true;
  adopted_ = -1;
  return false;
}

void NginxProcess::Stop(milliseconds grace) {
  if (proc_.pid() <= 0 && Running()) {
    // An adopted master: the same SIGQUIT, then SIGKILL after `grace`.
    pid_t p = adopted_;
    kill(p, SIGQUIT);
    auto deadline = std::chrono::steady_clock::now() + grace;
    while (kill(p, 0) == 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(milliseconds(20));
    if (kill(p, 0) == 0) kill(p, SIGKILL);
    adopted_ = -1;
    return;
  }
  adopted_ = -1;
  if (proc_.pid() <= 0) return;
  if (proc_.running()) {
    kill(proc_.pid(), SIGQUIT);
    if (proc_.Wait(grace)) {
      proc_ = util::Subprocess();
      return;
    }
  }
  proc_.Stop(milliseconds(2000));
  proc_ = util::Subprocess();
}

Status NginxProcess::Test(const std::string& conf_file, const std::string& prefix,
                          milliseconds timeout) const {
  auto r = util::RunCommand(
      {binary_, "-t", "-q", "-p", prefix + "/", "-e", "stderr", "-c", conf_file}, timeout);
  if (!r) return Fail(Wrap(r.error(), "running nginx -t"));
  if (r->timed_out) return Fail(ErrorCode::kTimeout, "nginx -t timed out");
  if (r->exit_code != 0) {
    std::string out = util::Trim(r->err + r->out);
    return Fail(ErrorCode::kFailed, "nginx -t failed: " + out);
  }
  return {};
}

Result<int64_t> NginxProcess::Generation() const {
  return ControlGeneration(paths_);
}

Result<int64_t> ControlGeneration(const NginxPaths& paths) {
  net::ClientOptions co;
  co.base_url = "http://berth-control";
  co.unix_socket = paths.control_socket;
  co.connect_timeout = milliseconds(1000);
  co.timeout = milliseconds(2000);
  net::HttpClient c(co);  // a fresh connection: an old worker must not answer for the new config
  auto r = c.Send({"GET", "/berth/generation", {{"Connection", "close"}}, "", milliseconds(-1)});
  if (!r) return Fail(r.error());
  if (r->status != 200)
    return Fail(ErrorCode::kUnavailable, "control socket answered " + std::to_string(r->status));
  return std::atoll(util::Trim(r->body).c_str());
}

std::vector<pid_t> NginxProcess::Workers() const {
  std::vector<pid_t> out;
  pid_t master = pid();
  if (master <= 0) return out;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (auto* e = readdir(d)) {
    pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0) continue;
    auto stat = util::ReadFile("/proc/" + std::string(e->d_name) + "/stat");
    if (!stat) continue;
    auto close = stat->rfind(')');
    if (close == std::string::npos || close + 4 > stat->size()) continue;
    // "pid (comm) S ppid ..."
    pid_t ppid = static_cast<pid_t>(std::atoi(stat->c_str() + close + 4));
    if (ppid == master) out.push_back(pid);
  }
  closedir(d);
  return out;
}

void NginxProcess::WaitRetired(const std::vector<pid_t>& old, milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (pid_t pid : old) {
    while (std::chrono::steady_clock::now() < deadline) {
      auto title = util::ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
      if (!title || title->find("shutting down") != std::string::npos || kill(pid, 0) != 0) break;
      std::this_thread::sleep_for(milliseconds(2));
    }
  }
  // The title is set just before the listening sockets are closed.
  std::this_thread::sleep_for(milliseconds(5));
}

off_t NginxProcess::ErrorLogSize() const {
  struct stat st {};
  if (::stat(paths_.error_log.c_str(), &st) != 0) return 0;
  return st.st_size;
}

namespace {

// The first [emerg] line written to the error log after `offset`.
std::string EmergSince(const std::string& log, off_t offset) {
  FILE* f = std::fopen(log.c_str(), "r");
  if (!f) return "";
  std::fseek(f, offset, SEEK_SET);
  char line[2048];
  std::string found;
  while (std::fgets(line, sizeof line, f)) {
    std::string l(line);
    if (l.find("[emerg]") != std::string::npos) {
      found = util::Trim(l);
      break;
    }
  }
  std::fclose(f);
  return found;
}

}  // namespace

Status NginxProcess::WaitGeneration(int64_t generation, milliseconds timeout, off_t log_offset) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last = "no answer";
  while (std::chrono::steady_clock::now() < deadline) {
    auto g = Generation();
    if (g && *g == generation) return {};
    last = g ? "generation " + std::to_string(*g) + " answers" : g.error().message;
    if (log_offset >= 0) {
      if (auto e = EmergSince(paths_.error_log, log_offset); !e.empty())
        return Fail(ErrorCode::kFailed, "nginx refused the config: " + e);
    }
    if (!Running()) {
      auto out = util::ReadFile(paths_.logs + "/nginx.out");
      return Fail(
          ErrorCode::kUnavailable,
          "nginx exited: " +
              (out ? util::Trim(out->substr(out->size() > 2000 ? out->size() - 2000 : 0)) : ""));
    }
    std::this_thread::sleep_for(milliseconds(5));
  }
  return Fail(ErrorCode::kTimeout,
              "nginx did not confirm generation " + std::to_string(generation) + " (" + last + ")");
}

}  // namespace berth::router
