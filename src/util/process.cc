#include "util/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "util/fs.h"

extern char** environ;

namespace berth::util {
namespace {

int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return -1;
}

std::vector<std::string> BuildEnv(const std::map<std::string, std::string>& set) {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos && set.count(kv.substr(0, eq))) continue;
    out.push_back(std::move(kv));
  }
  for (const auto& [k, v] : set) out.push_back(k + "=" + v);
  return out;
}

}  // namespace

Subprocess::~Subprocess() {
  if (pid_ > 0) Stop(std::chrono::milliseconds(2000));
}

Subprocess::Subprocess(Subprocess&& o) noexcept
    : pid_(o.pid_), group_(o.group_), status_(o.status_) {
  o.pid_ = -1;
}

Subprocess& Subprocess::operator=(Subprocess&& o) noexcept {
  if (this != &o) {
    if (pid_ > 0) Stop();
    pid_ = o.pid_;
    group_ = o.group_;
    status_ = o.status_;
    o.pid_ = -1;
  }
  return *this;
}

Result<Subprocess> Subprocess::Spawn(const std::vector<std::string>& argv,
                                     const SpawnOptions& opts) {
  if (argv.empty()) return Fail(ErrorCode::kInvalidArgument, "empty command");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (opts.new_process_group) {
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&attr, 0);
  }
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, flags);
  posix_spawn_file_actions_addopen(
      &fa, 0, opts.stdin_path.empty() ? "/dev/null" : opts.stdin_path.c_str(), O_RDONLY, 0);
  if (!opts.stdout_path.empty())
    posix_spawn_file_actions_addopen(&fa, 1, opts.stdout_path.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (opts.stderr_path == "=stdout") {
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
  } else if (!opts.stderr_path.empty()) {
    posix_spawn_file_actions_addopen(&fa, 2, opts.stderr_path.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
  }
  if (!opts.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, opts.cwd.c_str());

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  auto envs = BuildEnv(opts.env_set);
  std::vector<char*> envp;
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = -1;
  std::string exe = FindExecutable(argv[0]);
  int rc = posix_spawn(&pid, exe.c_str(), &fa, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0)
    return Fail(ErrorCode::kUnavailable, "cannot run " + argv[0] + ": " + std::strerror(rc));
  return Subprocess(pid, opts.new_process_group);
}

bool Subprocess::running() {
  if (pid_ <= 0 || status_) return false;
  int st = 0;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = DecodeStatus(st);
    return false;
  }
  return r == 0;
}

void Subprocess::Signal(int sig) {
  if (pid_ <= 0 || status_) return;
  if (group_)
    ::kill(-pid_, sig);
  else
    ::kill(pid_, sig);
}

std::optional<int> Subprocess::Wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return status_ ? status_ : std::optional<int>(-1);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (status_) return status_;
    int st = 0;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      status_ = DecodeStatus(st);
      return status_;
    }
    if (r < 0 && errno == ECHILD) {
      status_ = -1;
      return status_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

int Subprocess::Stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return status_.value_or(-1);
  std::optional<int> st;
  if (!status_) {
    Signal(SIGTERM);
    st = Wait(grace);
    if (!st) {
      Signal(SIGKILL);
      st = Wait(std::chrono::milliseconds(5000));
    }
  }
  // Reap stragglers left in the group.
  if (group_) ::kill(-pid_, SIGKILL);
  pid_ = -1;
  return st.value_or(status_.value_or(-1));
}

Result<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                 std::chrono::milliseconds timeout, const SpawnOptions& base,
                                 std::string_view input) {
  TempDir dir("berth-cmd");
  SpawnOptions opts = base;
  if (!input.empty()) {
    opts.stdin_path = dir.path() + "/in";
    if (auto s = WriteFileAtomic(opts.stdin_path, std::string(input), 0600); !s)
      return Fail(s.error());
  }
  opts.stdout_path = dir.path() + "/out";
  opts.stderr_path = dir.path() + "/err";
  auto proc = Subprocess::Spawn(argv, opts);
  if (!proc) return Fail(proc.error());
  CommandResult res;
  auto st = proc->Wait(timeout);
  if (!st) {
    res.timed_out = true;
    res.exit_code = proc->Stop(std::chrono::milliseconds(500));
  } else {
    res.exit_code = *st;
    proc->Release();
  }
  res.out = ReadFile(opts.stdout_path).value_or("");
  res.err = ReadFile(opts.stderr_path).value_or("");
  return res;
}

std::string FindExecutable(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
  p += ":/usr/sbin:/sbin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string dir = p.substr(start, end - start);
    if (!dir.empty()) {
      std::string cand = dir + "/" + name;
      if (::access(cand.c_str(), X_OK) == 0) return cand;
    }
    start = end + 1;
  }
  return name;
}

}  // namespace berth::util
