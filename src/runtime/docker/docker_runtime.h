// Runtime on a Docker Engine API (Docker or Podman's compatible service): one container per
// environment, named deterministically and labelled with its owner and generation.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "berth/config.h"
#include "berth/runtime.h"
#include "runtime/docker/docker_client.h"
#include "runtime/registry_auth.h"

namespace berth::runtime {

// Reads docker_host, network and host_ip from the config. Does not contact the engine yet.
Result<std::unique_ptr<Runtime>> MakeDockerRuntime(const berth::Config& config);

}  // namespace berth::runtime

namespace berth::runtime::docker {

struct DockerRuntimeOptions {
  std::string host_ip = "127.0.0.1";  // published ports bind here; reported as the host IP
  std::string network;                // "" = the engine's default bridge
  // The engine shares this host's network (a unix socket): wait for published ports to be
  // free before starting. Podman binds them itself and, when one bind fails, keeps the ports
  // it did bind until its garbage collector runs, so a start racing the previous container's
  // exit would block the ports for minutes.
  bool probe_host_ports = false;
  std::chrono::milliseconds port_wait{10000};
  // Logins for private registries (sent as X-Registry-Auth on pulls); null = anonymous pulls.
  std::shared_ptr<const RegistryCredentials> credentials;
};

class DockerRuntime : public Runtime {
 public:
  DockerRuntime(std::unique_ptr<DockerClient> client, DockerRuntimeOptions opts);

  std::string Name() const override { return "docker"; }
  // Bind mounts, ports Berth picks and can probe; on this host when the engine is local.
  Capabilities capabilities() const override {
    return {.host_dir_mount = VolumeMount::Kind::kBind,
            .allocates_host_ports = true,
            .local_host_ports = opts_.probe_host_ports,
            .probe_http = true,
            .restart_in_place = true};
  }
  Status Apply(const EnvironmentSpec& spec, const VolumeMount& volume,
               const ProgressFn& progress) override;
  Result<WorkloadStatus> Inspect(const EnvironmentSpec& spec) override;
  // Stops the container (SIGTERM, SIGKILL after 10 s) and keeps it; Apply starts it again.
  Status Sleep(const EnvironmentSpec& spec, const VolumeMount& volume) override;
  // `POST /containers/{id}/restart`: the same container, ports and volume.
  Status Restart(const EnvironmentSpec& spec) override;
  // An exec instance, started detached and polled until it ends.
  Result<int> Exec(const EnvironmentSpec& spec, const std::vector<std::string>& argv,
                   std::chrono::milliseconds timeout, std::string* output = nullptr) override;
  Status Remove(std::string_view ns, std::string_view name) override;
  Status Logs(const EnvironmentSpec& spec, const LogOptions& opts, const LogSink& sink) override;
  Result<std::vector<OwnedWorkload>> ListManaged() override;
  Status Ping(std::chrono::milliseconds deadline) override;
  // One-shot stats of the container plus its inspect (RestartCount), both within `deadline`.
  Result<WorkloadUsage> Usage(const EnvironmentSpec& spec,
                              std::chrono::milliseconds deadline) override;
  // Follows the engine's event stream for owned containers that die, are removed, paused...
  std::unique_ptr<ChangeWatch> WatchChanges(ChangeFn fn) override;

  DockerClient& client() { return *client_; }

 private:
  // Makes the image available as the pull policy says.
  Status EnsureImage(const EnvironmentSpec& spec, const ProgressFn& progress);
  // Creates and starts a new container; on any failure removes what it made.
  Status CreateAndStart(const EnvironmentSpec& spec, const VolumeMount& volume,
                        const std::string& name, const ProgressFn& progress);
  Status RemoveOne(const std::string& id);
  // Waits up to opts_.port_wait for the spec's host ports to be free; kUnavailable if not.
  Status WaitHostPortsFree(const EnvironmentSpec& spec, const ProgressFn& progress);

  std::unique_ptr<DockerClient> client_;
  DockerRuntimeOptions opts_;
};

}  // namespace berth::runtime::docker
