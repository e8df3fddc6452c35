#include "runtime/docker/docker_api.h"

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <initializer_list>

#include "berth/validate.h"
#include "util/strings.h"

namespace berth::runtime::docker {
namespace {

using nlohmann::json;

std::string PortKey(int container_port) {
  return std::to_string(container_port) + "/tcp";
}

// A string field of a JSON object, "" when missing or not a string.
std::string Str(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

int64_t Int(const json& j, const char* key) {
  if (!j.is_object()) return 0;
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

bool Bool(const json& j, const char* key) {
  if (!j.is_object()) return false;
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

const json& Obj(const json& j, const char* key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it != j.end() ? *it : kNull;
}

// Absolute, no "..", no NUL, no ',' or ':' (which bind syntaxes treat as separators).
Status CheckBindSource(const std::string& src) {
  if (src.empty() || src[0] != '/' || src.find('\0') != std::string::npos ||
      src.find(',') != std::string::npos || src.find(':') != std::string::npos)
    return Fail(ErrorCode::kInvalidArgument, "volume source is not a clean absolute path: " + src);
  for (const auto& part : util::Split(src, '/'))
    if (part == "..")
      return Fail(ErrorCode::kInvalidArgument, "volume source contains '..': " + src);
  return {};
}

bool JustExited(const json& state, std::time_t now) {
  auto finished = ParseEngineTime(Str(state, "FinishedAt"));
  if (!finished) return false;
  // Either side of now: a remote engine's clock may run a little ahead of ours.
  int64_t age = static_cast<int64_t>(now) - static_cast<int64_t>(*finished);
  return age > -kExitSettleSeconds && age < kExitSettleSeconds;
}

}  // namespace

Result<ApiVersion> ParseApiVersion(std::string_view text) {
  ApiVersion v;
  auto dot = text.find('.');
  if (dot == std::string_view::npos)
    return Fail(ErrorCode::kInvalidArgument, "bad API version '" + std::string(text) + "'");
  auto a = std::from_chars(text.data(), text.data() + dot, v.major);
  auto b = std::from_chars(text.data() + dot + 1, text.data() + text.size(), v.minor);
  if (a.ec != std::errc() || a.ptr != text.data() + dot || b.ec != std::errc() ||
      b.ptr != text.data() + text.size() || dot == 0)
    return Fail(ErrorCode::kInvalidArgument, "bad API version '" + std::string(text) + "'");
  return v;
}

Result<ApiVersion> NegotiateApiVersion(std::string_view version_body) {
  json j = json::parse(version_body, nullptr, false);
  std::string server = Str(j, "ApiVersion");
  if (server.empty())
    return Fail(ErrorCode::kUnavailable, "the engine's /version answer has no ApiVersion");
  auto v = ParseApiVersion(server);
  if (!v) return Fail(ErrorCode::kUnavailable, "the engine reports " + v.error().message);
  if (*v < kMinApiVersion)
    return Fail(ErrorCode::kUnavailable, "the engine speaks Docker API " + v->ToString() +
                                             ", older than the oldest supported (" +
                                             kMinApiVersion.ToString() + ")");
  return std::min(*v, kClientApiVersion);
}

bool FrameDecoder::Feed(std::string_view chunk, const FrameFn& fn) {
  if (corrupt_) return false;
  buf_.append(chunk);
  size_t pos = 0;
  bool go_on = true;
  while (go_on && buf_.size() - pos >= 8) {
    auto* h = reinterpret_cast<const unsigned char*>(buf_.data() + pos);
    if (h[0] > 2 || h[1] != 0 || h[2] != 0 || h[3] != 0) {
      corrupt_ = true;
      go_on = false;
      break;
    }
    size_t size = (size_t{h[4]} << 24) | (size_t{h[5]} << 16) | (size_t{h[6]} << 8) | h[7];
    if (buf_.size() - pos - 8 < size) break;
    go_on = fn(static_cast<Stream>(h[0]), std::string_view(buf_).substr(pos + 8, size));
    pos += 8 + size;
  }
  buf_.erase(0, pos);
  return go_on;
}

std::optional<std::string> PullLineError(std::string_view line) {
  auto t = util::Trim(line);
  if (t.empty()) return std::nullopt;
  json j = json::parse(t, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  std::string err = Str(j, "error");
  if (err.empty()) err = Str(Obj(j, "errorDetail"), "message");
  if (err.empty()) return std::nullopt;
  return err;
}

std::string PullLineProgress(std::string_view line) {
  json j = json::parse(util::Trim(line), nullptr, false);
  std::string status = Str(j, "status");
  // Byte-by-byte progress would flood the callback; the step changes are what a user wants.
  if (status.empty() || status == "Downloading" || status == "Extracting" || status == "Waiting" ||
      status == "Verifying Checksum")
    return "";
  std::string id = Str(j, "id");
  return id.empty() ? status : status + " " + id;
}

ImageName SplitImageRef(std::string_view ref) {
  ImageName n;
  if (auto at = ref.find('@'); at != std::string_view::npos) {
    n.from_image = std::string(ref.substr(0, at));
    n.tag = std::string(ref.substr(at + 1));
    return n;
  }
  auto slash = ref.rfind('/');
  auto colon = ref.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    n.from_image = std::string(ref.substr(0, colon));
    n.tag = std::string(ref.substr(colon + 1));
  } else {
    n.from_image = std::string(ref);
    n.tag = "latest";
  }
  return n;
}

std::string ContainerName(std::string_view ns, std::string_view name) {
  return "berth-" + std::string(ns) + "." + std::string(name);
}

std::optional<std::pair<std::string, std::string>> ParseContainerName(std::string_view container) {
  constexpr std::string_view kPrefix = "berth-";
  if (container.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  container.remove_prefix(kPrefix.size());
  auto dot = container.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  return std::make_pair(std::string(container.substr(0, dot)),
                        std::string(container.substr(dot + 1)));
}

Result<json> BuildCreateBody(const EnvironmentSpec& spec, const VolumeMount& volume,
                             const CreateOptions& opts) {
  json body;
  body["Image"] = spec.image;
  json labels = json::object();
  for (const auto& [k, v] : spec.labels) labels[k] = v;
  labels[std::string(kLabelManagedBy)] = "berth";
  labels[std::string(kLabelNamespace)] = spec.ns;
  labels[std::string(kLabelName)] = spec.name;
  labels[std::string(kLabelGeneration)] = std::to_string(spec.generation);
  if (!opts.installation.empty()) labels[std::string(kLabelInstallation)] = opts.installation;
  body["Labels"] = std::move(labels);
  json env = json::array();
  for (const auto& [k, v] : spec.env) env.push_back(k + "=" + v);
  body["Env"] = std::move(env);
  // Like a Kubernetes `command`: it replaces the image's entrypoint (and with it its CMD).
  if (!spec.command.empty()) body["Entrypoint"] = spec.command;
  body["Tty"] = false;
  body["OpenStdin"] = false;

  json exposed = json::object();
  json bindings = json::object();
  for (const auto& p : spec.ports) {
    if (auto s = ValidatePort(p.container_port); !s) return Fail(Wrap(s.error(), "port " + p.name));
    if (p.host_port != 0)
      if (auto s = ValidatePort(p.host_port); !s) return Fail(Wrap(s.error(), "port " + p.name));
    std::string key = PortKey(p.container_port);
    exposed[key] = json::object();
    json b{{"HostIp", opts.host_ip},
           {"HostPort", p.host_port ? std::to_string(p.host_port) : std::string()}};
    bindings[key].push_back(std::move(b));
  }
  body["ExposedPorts"] = std::move(exposed);

  json host;
  host["PortBindings"] = std::move(bindings);
  host["RestartPolicy"] = {{"Name", "unless-stopped"}, {"MaximumRetryCount", 0}};
  const auto& r = spec.resources;
  auto cpu_limit = CpuToNanoCpus(r.cpu_limit);
  if (!cpu_limit) return Fail(Wrap(cpu_limit.error(), "cpu limit"));
  auto cpu_request = CpuToNanoCpus(r.cpu_request);
  if (!cpu_request) return Fail(Wrap(cpu_request.error(), "cpu request"));
  auto mem_limit = MemoryToBytes(r.memory_limit);
  if (!mem_limit) return Fail(Wrap(mem_limit.error(), "memory limit"));
  auto mem_request = MemoryToBytes(r.memory_request);
  if (!mem_request) return Fail(Wrap(mem_request.error(), "memory request"));
  host["NanoCpus"] = *cpu_limit;
  // Kubernetes' mapping of a CPU request onto shares: 1 CPU = 1024, at least 2.
  host["CpuShares"] = std::max<int64_t>(2, *cpu_request * 1024 / 1000000000);
  host["Memory"] = *mem_limit;
  host["MemoryReservation"] = *mem_request;
  if (!opts.network.empty()) host["NetworkMode"] = opts.network;

  switch (volume.kind) {
    case VolumeMount::Kind::kNone:
      break;
    case VolumeMount::Kind::kBind:
    case VolumeMount::Kind::kHostPath: {
      if (auto s = CheckBindSource(volume.source); !s) return Fail(s.error());
      std::string target = volume.target.empty() ? spec.volume_mount : volume.target;
      if (target.empty() || target[0] != '/')
        return Fail(ErrorCode::kInvalidArgument, "volume target is not absolute: " + target);
      host["Mounts"] = json::array(
          {{{"Type", "bind"}, {"Source", volume.source}, {"Target", target}, {"ReadOnly", false}}});
      break;
    }
    case VolumeMount::Kind::kClaim:
      return Fail(ErrorCode::kInvalidArgument,
                  "the docker runtime cannot mount a volume claim (" + volume.source + ")");
  }
  body["HostConfig"] = std::move(host);
  return body;
}

int64_t GenerationOf(const json& labels) {
  std::string g = Str(labels, std::string(kLabelGeneration).c_str());
  int64_t v = 0;
  auto r = std::from_chars(g.data(), g.data() + g.size(), v);
  return r.ec == std::errc() && r.ptr == g.data() + g.size() ? v : 0;
}

bool IsOwned(const json& labels) {
  return Str(labels, std::string(kLabelManagedBy).c_str()) == "berth";
}

std::string InstallationOf(const json& labels) {
  return Str(labels, std::string(kLabelInstallation).c_str());
}

WorkloadStatus StatusFromInspect(const json& inspect, const EnvironmentSpec& spec,
                                 const std::string& host_ip, std::time_t now) {
  WorkloadStatus st;
  st.exists = true;
  st.id = Str(inspect, "Id");
  st.host_ip = host_ip;
  st.generation = GenerationOf(Obj(Obj(inspect, "Config"), "Labels"));

  const json& state = Obj(inspect, "State");
  std::string status = Str(state, "Status");
  int64_t exit_code = Int(state, "ExitCode");
  int64_t restarts = Int(inspect, "RestartCount");
  std::string engine_error = Str(state, "Error");
  auto started = ParseEngineTime(Str(state, "StartedAt"));
  std::string exited = "Exited(" + std::to_string(exit_code) + ")";

  const bool running = status == "running" || (status.empty() && Bool(state, "Running"));
  const bool stopped = status == "exited" || status == "stopped" || status == "created" ||
                       status == "configured" || status == "initialized" || status == "dead";
  if (spec.sleeping && !running && stopped) {
    // Stopped on purpose: the environment sleeps. Not a failure to repair.
    st.phase = Phase::kSleeping;
    st.reason = "Sleeping";
    st.message = "the container is stopped while the environment sleeps";
  } else if (running) {
    bool recent = started && now - *started < kCrashLoopWindowSeconds;
    if (restarts >= kCrashLoopRestarts && recent) {
      st.phase = Phase::kFailed;
      st.reason = "CrashLoop";
      st.message = "the container keeps exiting; restarted " + std::to_string(restarts) + " times";
    } else {
      st.phase = Phase::kRunning;
    }
  } else if (status == "restarting" || Bool(state, "Restarting")) {
    st.phase = Phase::kFailed;
    st.reason = "CrashLoop";
    st.message = "the container keeps exiting (last " + exited + "); restarted " +
                 std::to_string(restarts) + " times";
  } else if (status == "stopping" ||
             ((status == "exited" || status == "stopped") && JustExited(state, now))) {
    st.phase = Phase::kPending;
    st.reason = "Exiting";
    st.message = "the container is stopping (last " + exited + ")";
  } else if (status == "exited" || status == "stopped" || status == "dead" || Bool(state, "Dead")) {
    st.phase = Phase::kFailed;
    st.reason = Bool(state, "OOMKilled") ? "OOMKilled" : exited;
    st.message = !engine_error.empty()
                     ? engine_error
                     : "the container exited with code " + std::to_string(exit_code);
  } else if (status == "removing") {
    st.phase = Phase::kDeleting;
    st.reason = "Removing";
  } else if (status == "paused") {
    st.phase = Phase::kPending;
    st.reason = "Paused";
  } else {  // created, configured, initialized
    st.phase = Phase::kPending;
    st.reason = "Created";
    if (!engine_error.empty()) {
      st.phase = Phase::kFailed;
      st.reason = "StartFailed";
      st.message = engine_error;
    }
  }

  // Published ports come from NetworkSettings while running; the requested bindings otherwise.
  const json* ports = &Obj(Obj(inspect, "NetworkSettings"), "Ports");
  if (!ports->is_object() || ports->empty())
    ports = &Obj(Obj(inspect, "HostConfig"), "PortBindings");
  if (ports->is_object()) {
    for (const auto& p : spec.ports) {
      auto it = ports->find(PortKey(p.container_port));
      if (it == ports->end() || !it->is_array()) continue;
      for (const auto& b : *it) {
        std::string hp = Str(b, "HostPort");
        int v = 0;
        auto r = std::from_chars(hp.data(), hp.data() + hp.size(), v);
        if (r.ec == std::errc() && v > 0) {
          st.ports[p.name] = v;
          break;
        }
      }
    }
  }
  return st;
}

Error ErrorFromResponse(long status, std::string_view body, const std::string& context) {
  json j = json::parse(body, nullptr, false);
  std::string msg = Str(j, "message");
  if (msg.empty()) {
    msg = util::Trim(body);
    if (msg.size() > 512) msg = msg.substr(0, 512) + "...";
  }
  if (msg.empty()) msg = "HTTP " + std::to_string(status);
  ErrorCode code = ErrorCode::kInternal;
  if (status == 404) {
    code = ErrorCode::kNotFound;
  } else if (status == 409) {
    code = ErrorCode::kAlreadyExists;
  } else if (status == 500 && msg.find("already in use") != std::string::npos) {
    code = ErrorCode::kAlreadyExists;  // Podman answers a duplicate name with 500
  } else if (status == 400) {
    code = ErrorCode::kInvalidArgument;
  } else if (status == 401 || status == 403) {
    code = ErrorCode::kPermissionDenied;
  } else if (status == 503) {
    code = ErrorCode::kUnavailable;
  }
  return Error{code, context + ": " + msg};
}

std::optional<std::time_t> ParseEngineTime(std::string_view text) {
  std::string s(text);
  int y, mo, d, h, mi, sec;
  int n = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6)
    return std::nullopt;
  if (y <= 1) return std::nullopt;  // Go's zero time: never started
  size_t pos = static_cast<size_t>(n);
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
  }
  long offset = 0;
  if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh = 0, om = 0;
    if (std::sscanf(s.c_str() + pos + 1, "%2d:%2d", &oh, &om) != 2) return std::nullopt;
    offset = (oh * 3600L + om * 60L) * (s[pos] == '+' ? 1 : -1);
  } else if (pos >= s.size() || (s[pos] != 'Z' && s[pos] != 'z')) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return timegm(&tm) - offset;
}

namespace {

// A non-negative integer at `path` (an object chain), or nullopt.
std::optional<int64_t> UintAt(const nlohmann::json& j, std::initializer_list<const char*> path) {
  const nlohmann::json* cur = &j;
  for (const char* k : path) {
    if (!cur->is_object()) return std::nullopt;
    auto it = cur->find(k);
    if (it == cur->end()) return std::nullopt;
    cur = &*it;
  }
  if (cur->is_number_unsigned()) {
    auto v = cur->get<uint64_t>();
    if (v > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(v);
  }
  if (cur->is_number_integer()) {
    auto v = cur->get<int64_t>();
    return v < 0 ? std::nullopt : std::optional<int64_t>(v);
  }
  if (cur->is_number_float()) {
    double d = cur->get<double>();
    if (!(d >= 0) || d > 9.2e18) return std::nullopt;
    return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

}  // namespace

WorkloadUsage UsageFromStats(const nlohmann::json& stats, const nlohmann::json* inspect) {
  WorkloadUsage u;
  if (auto ns = UintAt(stats, {"cpu_stats", "cpu_usage", "total_usage"}))
    u.cpu_seconds = static_cast<double>(*ns) / 1e9;
  if (auto usage = UintAt(stats, {"memory_stats", "usage"})) {
    // cgroups v2 reports inactive_file, v1 total_inactive_file; Podman often neither.
    auto cache = UintAt(stats, {"memory_stats", "stats", "inactive_file"});
    if (!cache) cache = UintAt(stats, {"memory_stats", "stats", "total_inactive_file"});
    u.memory_bytes = cache && *cache <= *usage ? *usage - *cache : *usage;
  }
  if (auto limit = UintAt(stats, {"memory_stats", "limit"}); limit && *limit > 0)
    u.memory_limit_bytes = *limit;
  if (stats.is_object()) {
    auto nets = stats.find("networks");
    if (nets != stats.end() && nets->is_object()) {
      for (const auto& [iface, n] : nets->items()) {
        (void)iface;
        if (auto rx = UintAt(n, {"rx_bytes"}))
          u.network_rx_bytes = u.network_rx_bytes.value_or(0) + *rx;
        if (auto tx = UintAt(n, {"tx_bytes"}))
          u.network_tx_bytes = u.network_tx_bytes.value_or(0) + *tx;
      }
    }
  }
  if (inspect)
    if (auto r = UintAt(*inspect, {"RestartCount"})) u.restarts = *r;
  return u;
}

}  // namespace berth::runtime::docker
