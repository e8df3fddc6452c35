// A real Podman (Debian's podman + runc + conmon + CNI plugins) serving the Docker Engine API
// for integration tests. Everything is test-local: its own CONTAINERS_CONF, storage (vfs),
// --root/--runroot, tmp dir, file locks, CNI config dir, bridge name and subnet, socket. The
// destructor removes every container, stops the service, unmounts leftovers and deletes the
// bridge, so no run leaks processes or interfaces.
//
//   if (PodmanService::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_PODMAN=1";
//   auto podman = PodmanService::Start();
//   ASSERT_TRUE(podman.has_value()) << podman.error().message;
//   config.docker_host = (*podman)->docker_host();
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "berth/result.h"
#include "util/fs.h"
#include "util/process.h"

namespace berth::testing {

struct PodmanOptions {
  // "127.0.0.1:PORT" registries reachable over plain HTTP (see Registry).
  std::vector<std::string> insecure_registries;
  std::chrono::milliseconds start_timeout{60000};
};

class PodmanService {
 public:
  // kUnavailable naming the missing package when a binary is absent, or with the service's
  // log tail when it does not answer `GET /version`.
  static Result<std::unique_ptr<PodmanService>> Start(PodmanOptions opts = {});
  // True when BERTH_TEST_SKIP_PODMAN=1: the only case in which a test may skip.
  static bool SkipRequested();

  ~PodmanService();
  PodmanService(const PodmanService&) = delete;
  PodmanService& operator=(const PodmanService&) = delete;

  const std::string& socket_path() const { return socket_; }
  std::string docker_host() const { return "unix://" + socket_; }
  const std::string& dir() const { return dir_->path(); }
  const std::string& bridge() const { return bridge_; }

  // Runs the podman CLI against the same storage and configuration.
  Result<util::CommandResult> Podman(const std::vector<std::string>& args,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(180));
  // Like Podman() but a non-zero exit is an error carrying stderr.
  Result<std::string> PodmanOk(const std::vector<std::string>& args,
                               std::chrono::milliseconds timeout = std::chrono::seconds(180));
  // Environment variables that point podman at the test-local configuration.
  std::map<std::string, std::string> env() const;
  std::string LogTail(size_t bytes = 4000) const;

  // Removes all containers and stops the service (the destructor calls it).
  void Stop();
  // An engine outage: stops only this instance's `podman system service` (its containers keep
  // running under conmon); StartService() brings it back on the same socket and storage.
  void StopService();
  Status StartService(std::chrono::milliseconds timeout = std::chrono::milliseconds(60000));

 private:
  PodmanService() = default;
  Status WriteConfig(const PodmanOptions& opts);
  Status SpawnService();
  Status WaitReady(std::chrono::milliseconds timeout);
  void CleanupLeftovers();

  std::unique_ptr<util::TempDir> dir_;  // destroyed after service_
  util::Subprocess service_;
  std::string socket_;
  std::string bridge_;
  std::string log_path_;
  bool stopped_ = false;
};

}  // namespace berth::testing
