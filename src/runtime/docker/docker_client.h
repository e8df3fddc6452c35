// A Docker Engine API client over a unix socket (or TCP): containers, logs, images. Works with
// Docker >= 20.10 and Podman >= 4.3's compatible service; the API version is negotiated on the
// first call. Thread-safe: each call borrows its own HTTP connection from a small pool.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/result.h"
#include "berth/runtime.h"
#include "net/http_client.h"
#include "runtime/docker/docker_api.h"

namespace berth::runtime::docker {

struct Endpoint {
  std::string base_url;     // "http://docker" for a unix socket, "http://host:port" for TCP
  std::string unix_socket;  // "" for TCP
  std::string display;      // as configured, for messages: "unix:///run/podman/podman.sock"
};

// "unix:///path", "tcp://host:port" or "http://host:port". "" = $DOCKER_HOST, else
// /run/podman/podman.sock if it exists, else /var/run/docker.sock.
Result<Endpoint> ResolveDockerHost(std::string_view docker_host);

class DockerClient {
 public:
  explicit DockerClient(Endpoint endpoint);
  ~DockerClient();
  DockerClient(const DockerClient&) = delete;
  DockerClient& operator=(const DockerClient&) = delete;

  const Endpoint& endpoint() const { return endpoint_; }

  // `GET /version`, unversioned. Connection failures are kUnavailable naming the socket.
  Result<nlohmann::json> Version();
  // `GET /_ping` (unversioned) with a deadline: the engine answers, nothing more.
  Status Ping(std::chrono::milliseconds timeout);
  // The API version in use (negotiated once, then cached).
  Result<ApiVersion> Negotiate();

  // Returns the new container's id. A taken name is kAlreadyExists (Docker 409, Podman 500).
  Result<std::string> CreateContainer(const std::string& name, const nlohmann::json& body);
  Status StartContainer(const std::string& id);  // already running is fine
  Status StopContainer(const std::string& id, int timeout_seconds);
  Status RestartContainer(const std::string& id, int timeout_seconds);
  // Creates an exec instance of `argv` in a running container: its id.
  Result<std::string> CreateExec(const std::string& id, const std::vector<std::string>& argv);
  // Starts it attached and waits up to `timeout` until it ends (detached execs never end on
  // Podman 4.3's compat API): its output, stdout and stderr merged; InspectExec then has the
  // exit code.
  Result<std::string> StartExec(const std::string& exec_id, std::chrono::milliseconds timeout);
  Result<nlohmann::json> InspectExec(const std::string& exec_id);
  // kNotFound when there is no such container.
  Status RemoveContainer(const std::string& id, bool force, bool volumes);
  Result<nlohmann::json> InspectContainer(
      const std::string& id_or_name,
      std::chrono::milliseconds timeout = std::chrono::milliseconds(-1));
  // One stats sample, `GET /containers/{id}/stats?stream=false&one-shot=true` (Docker and
  // Podman's compat API), within `timeout`.
  Result<nlohmann::json> Stats(const std::string& id, std::chrono::milliseconds timeout);
  // `GET /containers/json?all=1` filtered by labels ("key" or "key=value"); an array.
  Result<nlohmann::json> ListContainers(const std::vector<std::string>& label_filters);
  // Streams the output into `sink`, decoding stdout/stderr frames unless `tty`.
  Status Logs(const std::string& id, const LogOptions& opts, bool tty, const LogSink& sink);

  // Pulls `ref`, reporting steps through `progress` (may be empty), with `registry_auth` as
  // X-Registry-Auth when set. Any failure the engine reports, in the status or inside the 200
  // stream, is kFailed with the registry's reason: "image not found: ..." or, for a refused
  // login, "pulling image REF: ... unauthorized ...".
  Status PullImage(const std::string& ref, const ProgressFn& progress,
                   const std::string& registry_auth = {});
  Result<nlohmann::json> InspectImage(const std::string& ref);

  // Follows `GET /events` with the given filters ({"type":["container"],...}), one JSON event
  // per call of `fn` (return false to stop), replaying from `since` (unix seconds; 0 = now);
  // ends when `cancel` becomes true (within ~1 s).
  Status Events(const nlohmann::json& filters, int64_t since, const std::atomic<bool>* cancel,
                const std::function<bool(const nlohmann::json&)>& fn);

 private:
  class Lease;
  Result<net::HttpResponse> Call(const std::string& method, const std::string& path,
                                 const std::string& body = {},
                                 std::chrono::milliseconds timeout = std::chrono::milliseconds(-1));
  // Like Call but streams a 2xx body into on_chunk; any other answer's body is the response's.
  Result<net::HttpResponse> CallStream(const std::string& method, const std::string& path,
                                       std::chrono::milliseconds timeout,
                                       const net::ChunkFn& on_chunk,
                                       const std::atomic<bool>* cancel = nullptr,
                                       const std::map<std::string, std::string>& headers = {});
  Error Unreachable(const Error& e) const;

  Endpoint endpoint_;
  std::mutex mu_;
  std::optional<ApiVersion> version_;
  std::vector<std::unique_ptr<net::HttpClient>> idle_;
};

// Percent-encodes a path segment, keeping the characters image references and container
// names use ("/", ":", "@", ".", "-", "_").
std::string PathEscape(std::string_view s);

}  // namespace berth::runtime::docker
