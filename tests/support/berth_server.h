// Runs the real `berth serve` binary for e2e tests, with a test-local config, and the CLI
// against it. Kill9() + Start() simulate a crash and a restart.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "berth/result.h"
#include "util/fs.h"
#include "util/process.h"

namespace berth::testing {

struct BerthServerOptions {
  std::string docker_host;         // unix://...
  std::string runtime = "docker";  // or "kubernetes" (then kubeconfig)
  std::string kubeconfig;
  std::string router_mode = "lua";
  std::string pull_policy = "Always";
  std::string default_image;
  std::vector<std::string> base_domains{"ctest.localhost"};
  int port_min = 30000;
  int port_max = 32767;
  std::string extra_toml;                  // appended verbatim (inside [router])
  std::string server_toml;                 // lines added to the [server] table
  std::vector<std::string> serve_args;     // after `berth serve`
  std::string environments_toml;           // appended to [environments] verbatim
  std::map<std::string, std::string> env;  // for the serve process
  // Called with the (empty) state dir before the first start: a test may write a store there,
  // e.g. one an older release left.
  std::function<Status(const std::string& state_dir)> prepare_state;
};

// A server whose test failed prints its log tail when it goes away (gtest's HasFailure()), so
// every e2e failure shows what the server saw.
class BerthServer {
 public:
  static Result<std::unique_ptr<BerthServer>> Start(BerthServerOptions opts);
  ~BerthServer();

  // Starts `berth serve` (again) and waits until /healthz answers.
  Status Run();
  void Kill9();
  // A graceful stop (SIGTERM) that leaves the router's nginx as serve leaves it (running).
  void Terminate();
  // Stops serve and then its nginx (through the pid file).
  void Stop();

  // Runs the CLI with this server's config; never through a shell.
  util::CommandResult Cli(const std::vector<std::string>& args,
                          std::chrono::milliseconds timeout = std::chrono::seconds(240));

  const std::string& dir() const { return dir_.path(); }
  std::string config_path() const { return dir_.path() + "/berth.toml"; }
  std::string socket() const { return dir_.path() + "/berth.sock"; }
  std::string state_dir() const { return dir_.path() + "/state"; }
  int nginx_port() const { return nginx_port_; }
  int pid() const { return proc_.pid(); }
  std::string LogTail(size_t bytes = 6000) const;

 private:
  BerthServer() = default;
  util::TempDir dir_{"berth-e2e"};
  BerthServerOptions opts_;
  util::Subprocess proc_;
  int nginx_port_ = 0;
};

// The `berth` binary under test (BERTH_BINARY from CMake, or $BERTH_BINARY).
std::string BerthBinary();

}  // namespace berth::testing
