// The Docker Engine API's wire formats, as pure functions: version choice, stream frames,
// pull-progress lines, the create body, inspect -> status, error mapping. No I/O here, so all
// of it is unit-tested without an engine.
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "berth/environment.h"
#include "berth/result.h"
#include "berth/runtime.h"
#include "berth/volume.h"

namespace berth::runtime::docker {

struct ApiVersion {
  int major = 1;
  int minor = 41;
  std::string ToString() const { return std::to_string(major) + "." + std::to_string(minor); }
  auto operator<=>(const ApiVersion&) const = default;
};

// The newest API this client speaks (Docker 20.10, Podman 4.x compat service).
inline constexpr ApiVersion kClientApiVersion{1, 41};
// The oldest we accept: bind Mounts, NanoCpus and label filters are all there.
inline constexpr ApiVersion kMinApiVersion{1, 30};

Result<ApiVersion> ParseApiVersion(std::string_view text);
// From a `GET /version` body: min(ours, the server's ApiVersion); fails if the server is older
// than kMinApiVersion or the body has no ApiVersion.
Result<ApiVersion> NegotiateApiVersion(std::string_view version_body);

// Demultiplexes the framed stdout/stderr stream of logs/attach when the container has no TTY:
// each frame is [stream, 0, 0, 0, size (4 bytes big endian)] then `size` bytes.
class FrameDecoder {
 public:
  enum Stream : uint8_t { kStdin = 0, kStdout = 1, kStderr = 2 };
  using FrameFn = std::function<bool(Stream stream, std::string_view payload)>;
  // Calls fn for each complete frame; returns false if fn asked to stop or the stream is not
  // framed (corrupt() tells which).
  bool Feed(std::string_view chunk, const FrameFn& fn);
  bool corrupt() const { return corrupt_; }
  size_t pending() const { return buf_.size(); }

 private:
  std::string buf_;
  bool corrupt_ = false;
};

// A JSON progress line of `POST /images/create`: its error (Docker and Podman report a failed
// pull inside a 200 stream), if any.
std::optional<std::string> PullLineError(std::string_view line);
// A short human line for a progress callback ("Pulling fs layer abc123"); "" = nothing worth
// reporting.
std::string PullLineProgress(std::string_view line);

// "registry:5000/a/b:tag" -> {"registry:5000/a/b", "tag"}; a digest goes to tag; no tag = latest.
struct ImageName {
  std::string from_image;
  std::string tag;
};
ImageName SplitImageRef(std::string_view ref);

// Deterministic, so a create interrupted by a crash is found again and never duplicated.
// '.' cannot occur in a namespace or a name (DNS-1123 labels), so the mapping is one to one.
std::string ContainerName(std::string_view ns, std::string_view name);
// The inverse: {ns, name} of "berth-<ns>.<name>"; nullopt for any other name.
std::optional<std::pair<std::string, std::string>> ParseContainerName(std::string_view container);

struct CreateOptions {
  std::string host_ip;       // published ports bind here
  std::string network;       // "" = engine default
  std::string installation;  // the installation label's value; "" = none
};
// The body of `POST /containers/create` for a spec.
Result<nlohmann::json> BuildCreateBody(const EnvironmentSpec& spec, const VolumeMount& volume,
                                       const CreateOptions& opts);

// A restarting container counts as crash-looping once it restarted this often within
// kCrashLoopWindowSeconds of its last start.
inline constexpr int kCrashLoopRestarts = 2;
inline constexpr int64_t kCrashLoopWindowSeconds = 30;
// A container that exited less than this long ago is still the engine's to handle: its restart
// policy may be bringing it back, or someone's `rm -f` may be finishing. Starting it then races
// the removal (Podman 4 then drops the record but leaves the process and its ports behind), so
// it reads as Pending "Exiting" until the engine is done.
inline constexpr int64_t kExitSettleSeconds = 3;
// Maps a `GET /containers/{id}/json` body onto a WorkloadStatus. Ports are named after the
// spec's ports. `now` is the current time (seconds since the epoch).
WorkloadStatus StatusFromInspect(const nlohmann::json& inspect, const EnvironmentSpec& spec,
                                 const std::string& host_ip, std::time_t now);
// The generation label of a container (0 when missing or bad).
int64_t GenerationOf(const nlohmann::json& labels);
// True if the labels say Berth made this container.
bool IsOwned(const nlohmann::json& labels);
// The container's installation label ("" when missing).
std::string InstallationOf(const nlohmann::json& labels);

// Usage from a one-shot `GET /containers/{id}/stats?stream=false&one-shot=true` body (Docker's
// and Podman's compat shapes) and the container's inspect body (RestartCount; may be null).
// Defensive: a missing, null or mistyped field leaves that figure unset, never fails or throws.
// Memory is usage minus the inactive page cache, as `docker stats` shows it; network counters
// are summed over the container's interfaces.
WorkloadUsage UsageFromStats(const nlohmann::json& stats, const nlohmann::json* inspect);

// An engine's error response as an Error: 404 -> kNotFound, 409 and Podman's 500 "name is
// already in use" -> kAlreadyExists, 400 -> kInvalidArgument, other -> kInternal. The message
// is `context: <engine message>`.
Error ErrorFromResponse(long status, std::string_view body, const std::string& context);

// RFC 3339 with optional fractional seconds -> seconds since the epoch; nullopt if unparsable
// or the zero time ("0001-01-01T00:00:00Z").
std::optional<std::time_t> ParseEngineTime(std::string_view text);

}  // namespace berth::runtime::docker
