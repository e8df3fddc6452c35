// Child processes as RAII handles: a Subprocess is killed and reaped when it goes out of scope.
// Commands run from an argv vector, never through a shell.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/result.h"

namespace berth::util {

struct SpawnOptions {
  std::string cwd;
  std::string stdin_path;                      // "" = /dev/null
  std::map<std::string, std::string> env_set;  // added to / overriding the inherited environment
  std::string stdout_path;                     // "" = inherit; otherwise appended to this file
  std::string stderr_path;                     // "" = inherit; "=stdout" = same as stdout
  bool new_process_group = true;               // so Kill() reaches grandchildren
};

class Subprocess {
 public:
  Subprocess() = default;
  ~Subprocess();
  Subprocess(Subprocess&& o) noexcept;
  Subprocess& operator=(Subprocess&& o) noexcept;
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  static Result<Subprocess> Spawn(const std::vector<std::string>& argv,
                                  const SpawnOptions& opts = {});

  pid_t pid() const { return pid_; }
  bool running();
  // Sends `sig` to the process (group). Returns immediately.
  void Signal(int sig);
  // SIGTERM, wait up to `grace`, then SIGKILL; reaps. Returns the exit status (or -signal).
  int Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(3000));
  // Waits for exit; nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  // Forget the child without killing it (a daemon we hand off).
  void Release() { pid_ = -1; }

 private:
  explicit Subprocess(pid_t pid, bool group) : pid_(pid), group_(group) {}
  pid_t pid_ = -1;
  bool group_ = true;
  std::optional<int> status_;
};

struct CommandResult {
  int exit_code = -1;  // -N when killed by signal N
  std::string out;
  std::string err;
  bool timed_out = false;
};

// Runs argv to completion with a time limit, capturing stdout and stderr; `input` (if any) is
// its standard input.
Result<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(30),
                                 const SpawnOptions& opts = {}, std::string_view input = {});

// Finds an executable in $PATH (or returns `name` if it has a slash).
std::string FindExecutable(const std::string& name);

}  // namespace berth::util
