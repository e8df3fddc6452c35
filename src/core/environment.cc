#include "berth/environment.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <limits>
#include <random>

#include <nlohmann/json.hpp>

namespace berth {

using nlohmann::json;

namespace {
constexpr size_t kMaxEvents = 20;

// An integer field of a stored record: absent or null gives `fallback`; a float, a string or a
// number outside T is an error (nlohmann's value<int>() converts a float with a plain cast,
// undefined beyond the type's range: a record an operator edited by hand must not do that).
template <typename T>
T IntOf(const json& v, const char* key) {
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u <= static_cast<uint64_t>(std::numeric_limits<T>::max())) return static_cast<T>(u);
  } else if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    if (i >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
        i <= static_cast<int64_t>(std::numeric_limits<T>::max()))
      return static_cast<T>(i);
  }
  throw json::type_error::create(302, std::string(key) + " is not an integer in range", &v);
}

template <typename T>
T IntField(const json& j, const char* key, T fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  return IntOf<T>(*it, key);
}
}  // namespace

std::optional<EnvKey> EnvKey::Parse(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == text.size() ||
      text.find('/', slash + 1) != std::string_view::npos)
    return std::nullopt;
  return EnvKey{std::string(text.substr(0, slash)), std::string(text.substr(slash + 1))};
}

std::optional<EnvKey> EnvKey::FromRecordKey(std::string_view record_key, std::string_view prefix) {
  if (record_key.substr(0, prefix.size()) != prefix) return std::nullopt;
  return Parse(record_key.substr(prefix.size()));
}

int EnvironmentSpec::PortFor(const std::string& port_name) const {
  for (const auto& p : ports)
    if (p.name == port_name) return p.host_port;
  return 0;
}

void EnvStatus::AddEvent(std::string type, std::string reason_word, std::string message) {
  Event e{NowRfc3339(), std::move(type), std::move(reason_word), std::move(message)};
  auto same = std::find_if(events.begin(), events.end(), [&](const Event& o) {
    return o.type == e.type && o.reason == e.reason && o.message == e.message;
  });
  if (same != events.end()) {
    e.count = same->count + 1;
    events.erase(same);
  }
  events.push_back(std::move(e));
  if (events.size() > kMaxEvents) events.erase(events.begin(), events.end() - kMaxEvents);
}

int64_t EffectiveIdleSleep(const EnvironmentSpec& spec, int64_t configured) {
  if (spec.idle_sleep_seconds == -1) return 0;
  return spec.idle_sleep_seconds > 0 ? spec.idle_sleep_seconds : configured;
}

const char* PhaseName(Phase p) {
  switch (p) {
    case Phase::kPending:
      return "Pending";
    case Phase::kRunning:
      return "Running";
    case Phase::kFailed:
      return "Failed";
    case Phase::kDeleting:
      return "Deleting";
    case Phase::kSleeping:
      return "Sleeping";
  }
  return "Pending";
}

Result<Phase> ParsePhase(const std::string& s) {
  for (auto p :
       {Phase::kPending, Phase::kRunning, Phase::kFailed, Phase::kDeleting, Phase::kSleeping})
    if (s == PhaseName(p)) return p;
  return Fail(ErrorCode::kInvalidArgument, "unknown phase \"" + s + "\"");
}

const char* PullPolicyName(PullPolicy p) {
  switch (p) {
    case PullPolicy::kAlways:
      return "Always";
    case PullPolicy::kIfNotPresent:
      return "IfNotPresent";
    case PullPolicy::kNever:
      return "Never";
  }
  return "Always";
}

Result<PullPolicy> ParsePullPolicy(const std::string& s) {
  for (auto p : {PullPolicy::kAlways, PullPolicy::kIfNotPresent, PullPolicy::kNever})
    if (s == PullPolicyName(p)) return p;
  return Fail(ErrorCode::kInvalidArgument,
              "pull policy must be Always, IfNotPresent or Never, not \"" + s + "\"");
}

const char* ReleaseModeName(ReleaseMode m) {
  return m == ReleaseMode::kCode ? "code" : "image";
}

Result<ReleaseMode> ParseReleaseMode(const std::string& s) {
  if (s == "image") return ReleaseMode::kImage;
  if (s == "code") return ReleaseMode::kCode;
  return Fail(ErrorCode::kInvalidArgument, "release mode must be image or code, not \"" + s + "\"");
}

std::vector<PortSpec> DefaultPorts() {
  return {PortSpec{"ssh", 22, 0, false}, PortSpec{"http", 80, 0, false},
          PortSpec{"https", 443, 0, false}};
}

void to_json(json& j, const Event& e) {
  j = json{{"time", e.time},
           {"type", e.type},
           {"reason", e.reason},
           {"message", e.message},
           {"count", e.count}};
}
void from_json(const json& j, Event& e) {
  e.time = j.value("time", "");
  e.type = j.value("type", "");
  e.reason = j.value("reason", "");
  e.message = j.value("message", "");
  e.count = std::max(1, IntField(j, "count", 1));
}

void to_json(json& j, const EnvironmentSpec& s) {
  json ports = json::array();
  for (const auto& p : s.ports)
    ports.push_back({{"name", p.name},
                     {"container_port", p.container_port},
                     {"host_port", p.host_port},
                     {"auto_assigned", p.auto_assigned}});
  j = json{
      {"namespace", s.ns},
      {"name", s.name},
      {"image", s.image},
      {"release_mode", ReleaseModeName(s.release_mode)},
      {"replicas", s.replicas},
      {"ports", ports},
      {"resources",
       {{"limits", {{"cpu", s.resources.cpu_limit}, {"memory", s.resources.memory_limit}}},
        {"requests", {{"cpu", s.resources.cpu_request}, {"memory", s.resources.memory_request}}}}},
      {"env", s.env},
      {"labels", s.labels},
      {"command", s.command},
      {"domains", s.domains},
      {"pull_policy", PullPolicyName(s.pull_policy)},
      {"volume_mount", s.volume_mount},
      {"controller", s.controller},
      {"branch", s.branch},
      {"reload_command", s.reload_command},
      {"ttl_seconds", s.ttl_seconds},
      {"expires_at", s.expires_at},
      {"purge_on_expiry", s.purge_on_expiry},
      {"sleeping", s.sleeping},
      {"idle_sleep_seconds", s.idle_sleep_seconds},
      {"generation", s.generation},
      {"deleting", s.deleting},
      {"purge", s.purge},
      {"rollback_on_failure", s.rollback_on_failure},
      {"created_at", s.created_at},
      {"uid", s.uid}};
  if (!s.deletion_timestamp.empty()) j["deletion_timestamp"] = s.deletion_timestamp;
}

void from_json(const json& j, EnvironmentSpec& s) {
  s.ns = j.value("namespace", std::string("default"));
  s.name = j.value("name", "");
  s.image = j.value("image", "");
  if (j.contains("release_mode")) {
    auto m = ParseReleaseMode(j.at("release_mode").get<std::string>());
    if (!m) throw json::type_error::create(302, m.error().message, &j);
    s.release_mode = *m;
  }
  s.replicas = IntField(j, "replicas", 1);
  s.ports.clear();
  if (j.contains("ports")) {
    for (const auto& p : j.at("ports")) {
      PortSpec ps;
      ps.name = p.value("name", "");
      ps.container_port = IntField(p, "container_port", 0);
      ps.host_port = IntField(p, "host_port", 0);
      ps.auto_assigned = p.value("auto_assigned", false);
      s.ports.push_back(ps);
    }
  }
  if (j.contains("resources")) {
    const auto& r = j.at("resources");
    if (r.contains("limits")) {
      s.resources.cpu_limit = r["limits"].value("cpu", s.resources.cpu_limit);
      s.resources.memory_limit = r["limits"].value("memory", s.resources.memory_limit);
    }
    if (r.contains("requests")) {
      s.resources.cpu_request = r["requests"].value("cpu", s.resources.cpu_request);
      s.resources.memory_request = r["requests"].value("memory", s.resources.memory_request);
    }
  }
  s.env = j.value("env", std::map<std::string, std::string>{});
  s.labels = j.value("labels", std::map<std::string, std::string>{});
  s.command = j.value("command", std::vector<std::string>{});
  s.domains = j.value("domains", std::vector<std::string>{});
  if (j.contains("pull_policy")) {
    auto p = ParsePullPolicy(j.at("pull_policy").get<std::string>());
    if (!p) throw json::type_error::create(302, p.error().message, &j);
    s.pull_policy = *p;
  }
  s.volume_mount = j.value("volume_mount", std::string("/apps"));
  s.controller = j.value("controller", "");
  s.branch = j.value("branch", "");
  s.reload_command = j.value("reload_command", "");
  s.ttl_seconds = IntField(j, "ttl_seconds", int64_t{0});
  // Records written before TTLs were enforced carry no expires_at: they do not start expiring
  // on an upgrade (docs/operations.md, Upgrade); `berth extend` gives them one.
  s.expires_at = j.value("expires_at", "");
  s.purge_on_expiry = j.value("purge_on_expiry", false);
  s.sleeping = j.value("sleeping", false);
  s.idle_sleep_seconds = IntField(j, "idle_sleep_seconds", int64_t{0});
  s.generation = IntField(j, "generation", int64_t{1});
  s.deleting = j.value("deleting", false);
  s.purge = j.value("purge", false);
  s.rollback_on_failure = j.value("rollback_on_failure", false);
  s.created_at = j.value("created_at", "");
  s.uid = j.value("uid", "");
  s.deletion_timestamp = j.value("deletion_timestamp", "");
}

void to_json(json& j, const EnvStatus& s) {
  j = json{{"phase", PhaseName(s.phase)},
           {"reason", s.reason},
           {"host_ip", s.host_ip},
           {"ports", s.ports},
           {"routed", s.routed},
           {"last_error", s.last_error},
           {"observed_generation", s.observed_generation},
           {"rolling_back", s.rolling_back},
           {"workload_id", s.workload_id},
           {"events", s.events},
           {"updated_at", s.updated_at}};
}

void from_json(const json& j, EnvStatus& s) {
  auto p = ParsePhase(j.value("phase", std::string("Pending")));
  s.phase = p ? *p : Phase::kPending;
  s.reason = j.value("reason", "");
  s.host_ip = j.value("host_ip", "");
  s.ports.clear();
  if (auto it = j.find("ports"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) throw json::type_error::create(302, "ports is not an object", &j);
    for (const auto& [name, port] : it->items()) s.ports[name] = IntOf<int>(port, "ports");
  }
  s.routed = j.value("routed", false);
  s.last_error = j.value("last_error", "");
  s.observed_generation = IntField(j, "observed_generation", int64_t{0});
  s.rolling_back = j.value("rolling_back", false);
  s.workload_id = j.value("workload_id", "");
  s.events = j.value("events", std::vector<Event>{});
  s.updated_at = j.value("updated_at", "");
}

namespace {

// The spec part of the record: the flat view less what moved to metadata.
constexpr const char* kMetadataFields[] = {"namespace",  "name",       "uid",
                                           "generation", "created_at", "labels",
                                           "deleting",   "purge",      "deletion_timestamp"};

}  // namespace

bool IsFlatSpecRecord(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  return j.is_object() && !j.contains("metadata");
}

Result<EnvironmentSpec> ParseSpec(const std::string& text, bool* flat_form) {
  if (flat_form) *flat_form = false;
  try {
    json j = json::parse(text);
    if (!j.is_object()) throw json::type_error::create(302, "a record is an object", &j);
    auto md = j.find("metadata");
    if (md == j.end()) {  // the flat form before 0.2
      auto s = j.get<EnvironmentSpec>();
      if (flat_form) *flat_form = true;
      return s;
    }
    if (!md->is_object()) throw json::type_error::create(302, "metadata is an object", &j);
    json flat = j.value("spec", json::object());
    if (!flat.is_object()) throw json::type_error::create(302, "spec is an object", &j);
    for (const char* k : kMetadataFields) flat.erase(k);
    flat["namespace"] = md->value("namespace", std::string("default"));
    flat["name"] = md->value("name", "");
    flat["uid"] = md->value("uid", "");
    flat["generation"] = IntField(*md, "generation", int64_t{1});
    flat["created_at"] = md->value("createdAt", "");
    flat["labels"] = md->value("labels", std::map<std::string, std::string>{});
    EnvironmentSpec s = flat.get<EnvironmentSpec>();
    s.deletion_timestamp = md->value("deletionTimestamp", "");
    s.deleting = !s.deletion_timestamp.empty();
    auto fin = md->value("finalizers", std::vector<std::string>{});
    s.purge = s.deleting && std::find(fin.begin(), fin.end(), kPurgeVolumeFinalizer) != fin.end();
    return s;
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInvalidArgument, std::string("invalid environment JSON: ") + e.what());
  }
}

Result<EnvStatus> ParseStatus(const std::string& text) {
  try {
    return json::parse(text).get<EnvStatus>();
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInvalidArgument, std::string("invalid status JSON: ") + e.what());
  }
}

std::string SerializeSpec(const EnvironmentSpec& s) {
  json spec = s;
  for (const char* k : kMetadataFields) spec.erase(k);
  json md{{"namespace", s.ns},
          {"name", s.name},
          {"uid", s.uid},
          {"generation", s.generation},
          {"createdAt", s.created_at},
          {"labels", s.labels}};
  if (s.deleting) {
    md["deletionTimestamp"] = s.deletion_timestamp.empty() ? NowRfc3339() : s.deletion_timestamp;
    if (s.purge) md["finalizers"] = json::array({kPurgeVolumeFinalizer});
  }
  return json{{"apiVersion", "berth.dev/v1"},
              {"kind", "Environment"},
              {"metadata", std::move(md)},
              {"spec", std::move(spec)}}
      .dump();
}

std::string NewUid() {
  std::random_device rd;
  std::uniform_int_distribution<int> hex(0, 15);
  std::string u;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) u += '-';
    int v = hex(rd);
    if (i == 12) v = 4;            // version 4
    if (i == 16) v = 8 | (v & 3);  // the RFC 4122 variant
    u += "0123456789abcdef"[v];
  }
  return u;
}

EnvStatus AcceptedStatus(const EnvironmentSpec& spec) {
  EnvStatus st;
  st.phase = Phase::kPending;
  st.reason = "Accepted";
  st.events.push_back(Event{spec.created_at, "Normal", "Accepted", "environment accepted"});
  st.updated_at = spec.created_at;
  return st;
}
std::string SerializeStatus(const EnvStatus& s) {
  return json(s).dump();
}

std::string NowRfc3339() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace berth
