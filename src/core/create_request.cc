// The create request's strict decoder (the REST edge). Records read back from the store go
// through from_json in environment.cc instead, which stays tolerant so that what an earlier
// release wrote still loads; ValidateSpec then checks meaning (names, images, quantities...).
#include <limits>

#include "berth/environment.h"
#include "core/duration.h"
#include "util/strict_json.h"

namespace berth {

using nlohmann::json;

namespace {

// Reads `key` of `obj` into `out` when present; `read` decodes the value at its path.
template <typename T, typename Fn>
Status Optional(const json& obj, std::string_view parent, std::string_view key, T& out, Fn read) {
  auto it = obj.find(key);
  if (it == obj.end()) return {};
  auto v = read(*it, util::JsonPath(parent, key));
  if (!v) return Fail(v.error());
  out = std::move(*v);
  return {};
}

Status Required(const json& obj, std::string_view parent, std::string_view key) {
  if (obj.contains(key)) return {};
  return Fail(ErrorCode::kInvalidArgument, util::JsonPath(parent, key) + ": is required");
}

Result<PortSpec> DecodePort(const json& j, const std::string& path) {
  // auto_assigned is the server's (a View's spec carries it): accepted so a spec read back can
  // be sent again, and ignored — the server decides which ports it allocated.
  if (auto s =
          util::StrictObject(j, path, {"name", "container_port", "host_port", "auto_assigned"});
      !s)
    return Fail(s.error());
  if (j.contains("auto_assigned") && !j["auto_assigned"].is_boolean())
    return Fail(ErrorCode::kInvalidArgument,
                util::JsonPath(path, "auto_assigned") + ": must be true or false");
  PortSpec p;
  for (auto key : {"name", "container_port"})
    if (auto s = Required(j, path, key); !s) return Fail(s.error());
  if (auto s = Optional(j, path, "name", p.name, util::StrictString); !s) return Fail(s.error());
  auto port = [](int64_t min) {
    return [min](const json& v, const std::string& at) -> Result<int> {
      auto i = util::StrictInt(v, at, min, 65535);
      if (!i) return Fail(i.error());
      return static_cast<int>(*i);
    };
  };
  if (auto s = Optional(j, path, "container_port", p.container_port, port(1)); !s)
    return Fail(s.error());
  // 0 = allocate one.
  if (auto s = Optional(j, path, "host_port", p.host_port, port(0)); !s) return Fail(s.error());
  return p;
}

Status DecodeResources(const json& j, Resources& r) {
  if (auto s = util::StrictObject(j, "resources", {"limits", "requests"}); !s) return s;
  struct Part {
    const char* key;
    std::string& cpu;
    std::string& memory;
  } parts[] = {{"limits", r.cpu_limit, r.memory_limit},
               {"requests", r.cpu_request, r.memory_request}};
  for (auto& part : parts) {
    auto it = j.find(part.key);
    if (it == j.end()) continue;
    const std::string path = util::JsonPath("resources", part.key);
    if (auto s = util::StrictObject(*it, path, {"cpu", "memory"}); !s) return s;
    if (auto s = Optional(*it, path, "cpu", part.cpu, util::StrictString); !s) return s;
    if (auto s = Optional(*it, path, "memory", part.memory, util::StrictString); !s) return s;
  }
  return {};
}

// Reads a string field and maps it through `parse` (an enum's Parse* function).
template <typename E>
auto Enum(Result<E> (*parse)(const std::string&)) {
  return [parse](const json& v, const std::string& path) -> Result<E> {
    auto s = util::StrictString(v, path);
    if (!s) return Fail(s.error());
    auto e = parse(*s);
    if (!e) return Fail(ErrorCode::kInvalidArgument, path + ": " + e.error().message);
    return e;
  };
}

}  // namespace

Result<EnvironmentSpec> DecodeCreateRequest(const json& j, bool* pull_policy_given,
                                            bool* ttl_given) {
  if (auto s = util::StrictObject(
          j, "",
          {"namespace", "name", "image", "release_mode", "replicas", "ports", "resources", "env",
           "labels", "command", "domains", "pull_policy", "volume_mount", "controller",
           "ttl_seconds", "purge_on_expiry", "branch", "idle_sleep_seconds", "reload_command"});
      !s)
    return Fail(s.error());
  EnvironmentSpec spec;  // its defaults are the request's: namespace default, volume /apps...
  auto str = util::StrictString;
  for (auto [key, field] : {std::pair<const char*, std::string*>{"namespace", &spec.ns},
                            {"name", &spec.name},
                            {"image", &spec.image},
                            {"volume_mount", &spec.volume_mount},
                            {"controller", &spec.controller},
                            {"branch", &spec.branch},
                            {"reload_command", &spec.reload_command}})
    if (auto s = Optional(j, "", key, *field, str); !s) return Fail(s.error());
  if (auto s = Optional(j, "", "release_mode", spec.release_mode, Enum(ParseReleaseMode)); !s)
    return Fail(s.error());
  if (auto s = Optional(j, "", "pull_policy", spec.pull_policy, Enum(ParsePullPolicy)); !s)
    return Fail(s.error());
  if (pull_policy_given) *pull_policy_given = j.contains("pull_policy");
  auto replicas = [](const json& v, const std::string& path) -> Result<int> {
    auto i = util::StrictInt(v, path, 0, 100);
    if (!i) return Fail(i.error());
    return static_cast<int>(*i);
  };
  if (auto s = Optional(j, "", "replicas", spec.replicas, replicas); !s) return Fail(s.error());
  auto ttl = [](const json& v, const std::string& path) {
    return util::StrictInt(v, path, 0, core::kMaxTtlSeconds);
  };
  if (auto s = Optional(j, "", "ttl_seconds", spec.ttl_seconds, ttl); !s) return Fail(s.error());
  if (ttl_given) *ttl_given = j.contains("ttl_seconds");
  if (auto s = Optional(j, "", "purge_on_expiry", spec.purge_on_expiry, util::StrictBool); !s)
    return Fail(s.error());
  // -1 = never put to sleep for idleness; 0 = the configured environments.idle_sleep.
  auto idle = [](const json& v, const std::string& path) {
    return util::StrictInt(v, path, -1, core::kMaxTtlSeconds);
  };
  if (auto s = Optional(j, "", "idle_sleep_seconds", spec.idle_sleep_seconds, idle); !s)
    return Fail(s.error());
  if (auto it = j.find("ports"); it != j.end()) {
    if (!it->is_array())
      return Fail(ErrorCode::kInvalidArgument,
                  "ports: must be an array of ports, got " + util::ShowJson(*it));
    spec.ports.clear();
    for (size_t i = 0; i < it->size(); ++i) {
      auto p = DecodePort((*it)[i], util::JsonPath("ports", i));
      if (!p) return Fail(p.error());
      spec.ports.push_back(std::move(*p));
    }
  }
  if (auto it = j.find("resources"); it != j.end())
    if (auto s = DecodeResources(*it, spec.resources); !s) return Fail(s.error());
  if (auto s = Optional(j, "", "env", spec.env, util::StrictStringMap); !s) return Fail(s.error());
  if (auto s = Optional(j, "", "labels", spec.labels, util::StrictStringMap); !s)
    return Fail(s.error());
  if (auto s = Optional(j, "", "command", spec.command, util::StrictStringList); !s)
    return Fail(s.error());
  if (auto s = Optional(j, "", "domains", spec.domains, util::StrictStringList); !s)
    return Fail(s.error());
  return spec;
}

}  // namespace berth
