#include "berth/config.h"

#include <unistd.h>

#include <toml++/toml.h>
#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <limits>
#include <optional>
#include <sstream>
#include <utility>

#include "berth/validate.h"
#include "core/duration.h"
#include "util/fs.h"
#include "util/strings.h"

namespace berth {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string HomeDir() {
  std::string h = Env("HOME");
  return h.empty() ? "/tmp" : h;
}

// The parsed file and what was wrong in it. A key of the wrong type or an integer that does not
// fit is an error naming "section.key": before, a wrong type fell back to the default silently
// and `workers = 4294967297` became 1.
struct TomlFile {
  toml::table table;
  std::vector<std::string> errors;
  auto operator[](std::string_view section) const { return table[section]; }
};

std::string KeyName(std::string_view section, std::string_view key) {
  return std::string(section) + "." + std::string(key);
}

// A value as it is written in the file, for an error message.
std::string TomlText(const toml::node& n) {
  std::ostringstream os;
  n.visit([&os](const auto& x) { os << x; });
  std::string text = os.str();
  return text.size() > 60 ? text.substr(0, 57) + "..." : text;
}

void Read(TomlFile& t, std::string_view section, std::string_view key, std::string& out) {
  auto node = t[section][key];
  if (!node) return;
  if (auto v = node.value_exact<std::string>())
    out = *v;
  else
    t.errors.push_back(KeyName(section, key) + " must be a string");
}

void Read(TomlFile& t, std::string_view section, std::string_view key, bool& out) {
  auto node = t[section][key];
  if (!node) return;
  if (auto v = node.value_exact<bool>())
    out = *v;
  else
    t.errors.push_back(KeyName(section, key) + " must be true or false");
}

void ReadList(TomlFile& t, std::string_view section, std::string_view key,
              std::vector<std::string>& out) {
  auto node = t[section][key];
  if (!node) return;
  auto* arr = node.as_array();
  if (!arr) return t.errors.push_back(KeyName(section, key) + " must be an array of strings");
  std::vector<std::string> list;
  for (const auto& e : *arr) {
    auto s = e.value_exact<std::string>();
    if (!s) return t.errors.push_back(KeyName(section, key) + " must be an array of strings");
    list.push_back(*s);
  }
  out = std::move(list);
}

// An int from a TOML integer: a float, a string or a value beyond int is an error, not a cast.
std::optional<int> IntOf(const toml::node& n) {
  auto v = n.value_exact<int64_t>();
  if (!v || *v < std::numeric_limits<int>::min() || *v > std::numeric_limits<int>::max())
    return std::nullopt;
  return static_cast<int>(*v);
}

void ReadInt(TomlFile& t, std::string_view section, std::string_view key, int& out) {
  auto node = t[section][key];
  if (!node) return;
  if (auto v = IntOf(*node.node()))
    out = *v;
  else
    t.errors.push_back(KeyName(section, key) + " must be an integer, got " +
                       util::Trim(TomlText(*node.node())));
}

// A duration: "8h", "3d", "90m" or an integer of seconds (core/duration.h).
void ReadDuration(TomlFile& t, const toml::node_view<const toml::node>& node,
                  const std::string& key, int64_t& out) {
  if (!node) return;
  if (auto v = node.value_exact<std::string>()) {
    auto d = core::ParseDuration(*v, key);
    if (d)
      out = *d;
    else
      t.errors.push_back(d.error().message);
  } else if (auto i = node.value_exact<int64_t>(); i && *i >= 0 && *i <= core::kMaxTtlSeconds) {
    out = *i;
  } else {
    t.errors.push_back(key + " must be a duration such as \"8h\" or seconds, got " +
                       util::Trim(TomlText(*node.node())));
  }
}

// A CPU or memory quantity for a quota ("" = no limit).
void ReadQuantity(TomlFile& t, const toml::node_view<const toml::node>& node,
                  const std::string& key, bool cpu, std::string& out) {
  if (!node) return;
  auto v = node.value_exact<std::string>();
  if (!v) {
    t.errors.push_back(key + " must be a string quantity such as " +
                       (cpu ? "\"8\" or \"2500m\"" : "\"16Gi\""));
    return;
  }
  if (!v->empty())
    if (auto s = ValidateQuantity(*v, cpu); !s) {
      t.errors.push_back(key + ": " + s.error().message);
      return;
    }
  out = *v;
}

void ReadCount(TomlFile& t, const toml::node_view<const toml::node>& node, const std::string& key,
               int& out) {
  if (!node) return;
  auto v = node.value_exact<int64_t>();
  if (!v || *v < 0 || *v > 1000000)
    return t.errors.push_back(key + " must be an integer from 0 (no limit) to 1000000");
  out = static_cast<int>(*v);
}

// [registries."host"]: username and password (or password_file) per registry.
void ReadRegistries(TomlFile& t, Config& c) {
  auto node = t.table["registries"];
  if (!node) return;
  auto* tbl = node.as_table();
  if (!tbl) return t.errors.push_back("registries must be a table of [registries.\"<host>\"]");
  for (const auto& [name, value] : *tbl) {
    RegistryLogin l;
    l.registry = std::string(name.str());
    std::string where = "registries.\"" + l.registry + "\"";
    if (l.registry.empty() || l.registry.size() > 253 ||
        l.registry.find_first_of("/@ \t\"'\\") != std::string::npos) {
      t.errors.push_back(where + ": a registry is a host[:port], no scheme or path");
      continue;
    }
    auto* sub = value.as_table();
    if (!sub) {
      t.errors.push_back(where + " must be a table");
      continue;
    }
    for (const auto& [key, v] : *sub) {
      std::string k(key.str());
      std::string* out = k == "username"        ? &l.username
                         : k == "password"      ? &l.password
                         : k == "password_file" ? &l.password_file
                                                : nullptr;
      if (!out) {
        t.errors.push_back(where + "." + k +
                           " is not a setting (username, password, password_file)");
        continue;
      }
      if (auto str = v.value_exact<std::string>())
        *out = *str;
      else
        t.errors.push_back(where + "." + k + " must be a string");
    }
    if (l.username.empty()) t.errors.push_back(where + ": username is required");
    if (l.password.empty() == l.password_file.empty())
      t.errors.push_back(where + ": give password or password_file (one of them)");
    if (!l.password_file.empty() && l.password_file.front() != '/')
      t.errors.push_back(where + ".password_file must be an absolute path");
    c.registries.push_back(std::move(l));
  }
}

// [namespaces.<ns>]: per-namespace settings, each key optional.
void ReadNamespaces(TomlFile& t, Config& c) {
  auto node = t.table["namespaces"];
  if (!node) return;
  auto* tbl = node.as_table();
  if (!tbl) return t.errors.push_back("namespaces must be a table of [namespaces.<name>]");
  for (const auto& [name, value] : *tbl) {
    std::string ns(name.str());
    std::string where = "namespaces." + ns;
    if (auto s = ValidateNamespace(ns); !s) {
      t.errors.push_back(where + ": " + s.error().message);
      continue;
    }
    auto* sub = value.as_table();
    if (!sub) {
      t.errors.push_back(where + " must be a table");
      continue;
    }
    for (const auto& [key, v] : *sub)
      if (key.str() != "default_ttl" && key.str() != "max_environments" && key.str() != "max_cpu" &&
          key.str() != "max_memory")
        t.errors.push_back(where + "." + std::string(key.str()) +
                           " is not a setting (default_ttl, max_environments, max_cpu, "
                           "max_memory)");
    auto at = [&](const char* key) { return toml::node_view<const toml::node>(sub->get(key)); };
    NamespaceSettings& n = c.namespaces[ns];
    if (sub->contains("default_ttl")) {
      int64_t ttl = 0;
      ReadDuration(t, at("default_ttl"), where + ".default_ttl", ttl);
      n.default_ttl_seconds = ttl;
    }
    if (sub->contains("max_environments")) {
      int count = 0;
      ReadCount(t, at("max_environments"), where + ".max_environments", count);
      n.max_environments = count;
    }
    if (sub->contains("max_cpu")) {
      std::string q;
      ReadQuantity(t, at("max_cpu"), where + ".max_cpu", true, q);
      n.max_cpu = q;
    }
    if (sub->contains("max_memory")) {
      std::string q;
      ReadQuantity(t, at("max_memory"), where + ".max_memory", false, q);
      n.max_memory = q;
    }
  }
}

// [environments] port_range = [low, high]
void ReadPortRange(TomlFile& t, int& low, int& high) {
  auto node = t["environments"]["port_range"];
  if (!node) return;
  auto* arr = node.as_array();
  std::optional<int> a, b;
  if (arr && arr->size() == 2) {
    a = IntOf(*arr->get(0));
    b = IntOf(*arr->get(1));
  }
  if (!a || !b)
    return t.errors.push_back("environments.port_range must be two integer ports, got " +
                              util::Trim(TomlText(*node.node())));
  low = *a;
  high = *b;
}

// Integers only: a string or fraction is a config error, not silently dropped.
Status ReadIntList(const TomlFile& t, std::string_view section, std::string_view key,
                   std::vector<int>& out) {
  auto* arr = t[section][key].as_array();
  if (!arr) return {};
  out.clear();
  for (const auto& e : *arr) {
    auto v = e.value_exact<int64_t>();
    if (!v || *v < 1 || *v > 65535)
      return Fail(ErrorCode::kInvalidArgument, "config: " + std::string(section) + "." +
                                                   std::string(key) + " must list ports 1-65535");
    out.push_back(static_cast<int>(*v));
  }
  return {};
}

void FromEnv(const char* name, std::string& out) {
  if (const char* v = std::getenv(name)) out = v;
}

void FromEnvList(const char* name, std::vector<std::string>& out) {
  if (const char* v = std::getenv(name)) {
    out.clear();
    for (auto& s : util::Split(v, ',')) out.push_back(util::Trim(s));
  }
}

Status FromEnvIntList(const char* name, std::vector<int>& out) {
  const char* v = std::getenv(name);
  if (!v) return {};
  out.clear();
  for (auto& s : util::Split(v, ',')) {
    std::string t = util::Trim(s);
    int port = 0;
    bool ok = !t.empty() && t.size() <= 5 && t.find_first_not_of("0123456789") == std::string::npos;
    if (ok) port = std::stoi(t);
    if (!ok || port < 1 || port > 65535)
      return Fail(ErrorCode::kInvalidArgument,
                  std::string("config: ") + name + " must list ports 1-65535, not \"" + t + "\"");
    out.push_back(port);
  }
  return {};
}

// A whole decimal int: "abc", "8x" and "4294967297" are errors (std::stoi read "8x" as 8 and
// an out-of-range value was ignored).
void FromEnvInt(const char* name, int& out, std::vector<std::string>& errors) {
  const char* v = std::getenv(name);
  if (!v) return;
  std::string_view s(v);
  int parsed = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), parsed);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size())
    return errors.push_back(std::string(name) + " must be an integer, got \"" +
                            std::string(s.substr(0, 40)) + "\"");
  out = parsed;
}

// A duration variable ("8h", "3d", seconds), as ReadDuration takes it from the file.
void FromEnvDuration(const char* name, int64_t& out, std::vector<std::string>& errors) {
  const char* v = std::getenv(name);
  if (!v) return;
  auto d = core::ParseDuration(v, name);
  if (d)
    out = *d;
  else
    errors.push_back(d.error().message);
}

}  // namespace

Config DefaultConfig() {
  Config c;
  if (::geteuid() == 0) {
    c.state_dir = "/var/lib/berth";
    c.socket = "/run/berth/berth.sock";
  } else {
    std::string data = Env("XDG_DATA_HOME");
    if (data.empty()) data = HomeDir() + "/.local/share";
    c.state_dir = data + "/berth";
    std::string run = Env("XDG_RUNTIME_DIR");
    c.socket = (run.empty() ? c.state_dir : run + "/berth") + "/berth.sock";
  }
  return c;
}

Result<Config> LoadConfig(const std::string& path) {
  Config c = DefaultConfig();
  // BERTH_STATE_DIR moves the defaults that derive from it.
  FromEnv("BERTH_STATE_DIR", c.state_dir);
  std::string file = path;
  if (file.empty()) file = Env("BERTH_CONFIG");
  bool explicit_file = !file.empty();
  if (!explicit_file) {
    std::string xdg = Env("XDG_CONFIG_HOME");
    if (xdg.empty()) xdg = HomeDir() + "/.config";
    for (const auto& cand : {std::string("/etc/berth/berth.toml"), xdg + "/berth/berth.toml"}) {
      if (util::PathExists(cand)) {
        file = cand;
        break;
      }
    }
  }
  if (!file.empty()) {
    if (!util::PathExists(file))
      return Fail(ErrorCode::kInvalidArgument, "config file " + file + " does not exist");
    TomlFile t;
    try {
      t.table = toml::parse_file(file);
    } catch (const toml::parse_error& e) {
      std::string where = file;
      if (e.source().begin) where += ":" + std::to_string(e.source().begin.line);
      return Fail(ErrorCode::kInvalidArgument,
                  "config " + where + ": " + std::string(e.description()));
    }
    Read(t, "server", "state_dir", c.state_dir);
    Read(t, "server", "socket", c.socket);
    Read(t, "server", "listen_http", c.listen_http);
    Read(t, "server", "api_token", c.api_token);
    Read(t, "server", "insecure_no_auth", c.insecure_no_auth);
    ReadList(t, "server", "api_hosts", c.api_hosts);
    ReadInt(t, "server", "api_max_connections", c.api_max_connections);
    ReadInt(t, "server", "api_max_connections_per_client", c.api_max_connections_per_client);
    ReadInt(t, "server", "api_socket_max_connections", c.api_socket_max_connections);
    ReadInt(t, "server", "api_idle_timeout_seconds", c.api_idle_timeout_seconds);
    ReadInt(t, "server", "api_max_header_kib", c.api_max_header_kib);
    Read(t, "server", "store", c.store_url);
    ReadInt(t, "server", "workers", c.workers);
    ReadInt(t, "server", "resync_seconds", c.resync_seconds);
    ReadInt(t, "server", "usage_sample_seconds", c.usage_sample_seconds);
    ReadInt(t, "server", "usage_history_points", c.usage_history_points);
    Read(t, "server", "leader_election", c.leader_election);
    ReadInt(t, "server", "leader_lease_seconds", c.leader_lease_seconds);
    Read(t, "server", "identity", c.identity);
    Read(t, "environments", "default_namespace", c.default_namespace);
    Read(t, "environments", "default_image", c.default_image);
    ReadList(t, "environments", "base_domains", c.base_domains);
    ReadList(t, "environments", "allowed_domains", c.allowed_domains);
    if (auto st = ReadIntList(t, "environments", "extra_host_ports", c.extra_host_ports); !st)
      return Fail(st.error());
    Read(t, "environments", "pull_policy", c.pull_policy);
    Read(t, "environments", "host_ip", c.host_ip);
    ReadPortRange(t, c.port_min, c.port_max);
    ReadDuration(t, std::as_const(t.table)["environments"]["default_ttl"],
                 "environments.default_ttl", c.default_ttl_seconds);
    ReadDuration(t, std::as_const(t.table)["environments"]["idle_sleep"], "environments.idle_sleep",
                 c.idle_sleep_seconds);
    {
      auto env = std::as_const(t.table)["environments"];
      ReadCount(t, env["max_environments"], "environments.max_environments",
                c.quota.max_environments);
      ReadQuantity(t, env["max_cpu"], "environments.max_cpu", true, c.quota.max_cpu);
      ReadQuantity(t, env["max_memory"], "environments.max_memory", false, c.quota.max_memory);
    }
    ReadNamespaces(t, c);
    ReadRegistries(t, c);
    Read(t, "runtime", "kind", c.runtime);
    Read(t, "runtime", "docker_host", c.docker_host);
    Read(t, "runtime", "network", c.network);
    Read(t, "runtime", "docker_config", c.docker_config);
    Read(t, "kubernetes", "kubeconfig", c.kubeconfig);
    Read(t, "kubernetes", "context", c.kube_context);
    Read(t, "kubernetes", "namespace_prefix", c.kube_namespace_prefix);
    Read(t, "kubernetes", "controller", c.kube_controller);
    Read(t, "kubernetes", "storage_class", c.kube_storage_class);
    Read(t, "kubernetes", "host_path_root", c.kube_host_path_root);
    ReadList(t, "kubernetes", "image_pull_secrets", c.image_pull_secrets);
    Read(t, "volumes", "driver", c.volume_driver);
    Read(t, "volumes", "root", c.volume_root);
    Read(t, "volumes", "gluster_server", c.gluster_server);
    Read(t, "volumes", "gluster_volume", c.gluster_volume);
    Read(t, "volumes", "gluster_mount", c.gluster_mount);
    Read(t, "volumes", "layout", c.volume_layout);
    ReadInt(t, "releases", "keep", c.releases_keep);
    ReadInt(t, "releases", "max_files", c.releases_max_files);
    if (auto node = std::as_const(t.table)["releases"]["max_bytes"]) {
      // Bytes as an integer, or a quantity such as "512Mi" / "2Gi".
      if (auto i = node.value_exact<int64_t>()) {
        c.releases_max_bytes = *i;
      } else if (auto q = node.value_exact<std::string>(); q && MemoryToBytes(*q)) {
        c.releases_max_bytes = *MemoryToBytes(*q);
      } else {
        t.errors.push_back("releases.max_bytes must be bytes or a quantity such as \"2Gi\", got " +
                           util::Trim(TomlText(*node.node())));
      }
    }
    ReadDuration(t, std::as_const(t.table)["releases"]["ready_timeout"], "releases.ready_timeout",
                 c.releases_ready_timeout_seconds);
    Read(t, "router", "mode", c.router_mode);
    Read(t, "router", "nginx", c.nginx_binary);
    Read(t, "router", "prefix", c.nginx_prefix);
    Read(t, "router", "http_listen", c.http_listen);
    Read(t, "router", "https_listen", c.https_listen);
    Read(t, "router", "tls_cert", c.tls_cert);
    Read(t, "router", "tls_key", c.tls_key);
    Read(t, "router", "upstream_scheme", c.upstream_scheme);
    ReadList(t, "router", "etcd_endpoints", c.etcd_endpoints);
    Read(t, "router", "stop_nginx_on_exit", c.stop_nginx_on_exit);
    c.source = file;
    if (!t.errors.empty())
      return Fail(ErrorCode::kInvalidArgument,
                  "config " + file + ": " + util::Join(t.errors, "; "));
  }
  std::vector<std::string> env_errors;
  FromEnv("BERTH_STATE_DIR", c.state_dir);
  FromEnv("BERTH_SOCKET", c.socket);
  FromEnv("BERTH_LISTEN_HTTP", c.listen_http);
  FromEnv("BERTH_API_TOKEN", c.api_token);
  if (const char* v = std::getenv("BERTH_INSECURE_NO_AUTH"))
    c.insecure_no_auth = std::string(v) == "1" || std::string(v) == "true";
  FromEnvList("BERTH_API_HOSTS", c.api_hosts);
  FromEnv("BERTH_STORE", c.store_url);
  FromEnvInt("BERTH_WORKERS", c.workers, env_errors);
  FromEnvInt("BERTH_RESYNC_SECONDS", c.resync_seconds, env_errors);
  FromEnvInt("BERTH_USAGE_SAMPLE_SECONDS", c.usage_sample_seconds, env_errors);
  FromEnvInt("BERTH_USAGE_HISTORY_POINTS", c.usage_history_points, env_errors);
  FromEnv("BERTH_LEADER_ELECTION", c.leader_election);
  FromEnvInt("BERTH_LEADER_LEASE_SECONDS", c.leader_lease_seconds, env_errors);
  FromEnv("BERTH_IDENTITY", c.identity);
  FromEnv("BERTH_DEFAULT_NAMESPACE", c.default_namespace);
  FromEnv("BERTH_DEFAULT_IMAGE", c.default_image);
  FromEnvList("BERTH_BASE_DOMAINS", c.base_domains);
  FromEnv("BERTH_PULL_POLICY", c.pull_policy);
  FromEnv("BERTH_HOST_IP", c.host_ip);
  FromEnvInt("BERTH_PORT_MIN", c.port_min, env_errors);
  FromEnvInt("BERTH_PORT_MAX", c.port_max, env_errors);
  FromEnvList("BERTH_ALLOWED_DOMAINS", c.allowed_domains);
  FromEnvDuration("BERTH_IDLE_SLEEP", c.idle_sleep_seconds, env_errors);
  FromEnvDuration("BERTH_DEFAULT_TTL", c.default_ttl_seconds, env_errors);
  if (auto st = FromEnvIntList("BERTH_EXTRA_HOST_PORTS", c.extra_host_ports); !st)
    return Fail(st.error());
  FromEnv("BERTH_RUNTIME", c.runtime);
  FromEnv("BERTH_DOCKER_HOST", c.docker_host);
  FromEnv("BERTH_NETWORK", c.network);
  FromEnv("BERTH_DOCKER_CONFIG", c.docker_config);
  FromEnv("BERTH_KUBECONFIG", c.kubeconfig);
  FromEnv("BERTH_KUBE_CONTEXT", c.kube_context);
  FromEnv("BERTH_VOLUME_DRIVER", c.volume_driver);
  FromEnv("BERTH_VOLUME_ROOT", c.volume_root);
  FromEnv("BERTH_ROUTER_MODE", c.router_mode);
  FromEnv("BERTH_NGINX", c.nginx_binary);
  FromEnv("BERTH_HTTP_LISTEN", c.http_listen);
  FromEnv("BERTH_HTTPS_LISTEN", c.https_listen);
  FromEnv("BERTH_TLS_CERT", c.tls_cert);
  FromEnv("BERTH_TLS_KEY", c.tls_key);
  FromEnvList("BERTH_ETCD_ENDPOINTS", c.etcd_endpoints);
  if (!env_errors.empty())
    return Fail(ErrorCode::kInvalidArgument, "environment: " + util::Join(env_errors, "; "));
  if (c.store_url.empty()) c.store_url = "sqlite://" + c.state_dir + "/berth.db";
  if (c.volume_root.empty()) c.volume_root = c.state_dir + "/volumes";
  if (c.nginx_prefix.empty()) c.nginx_prefix = c.state_dir + "/nginx";
  if (auto s = ValidateConfig(c); !s) return Fail(s.error());
  return c;
}

int64_t Config::DefaultTtlFor(const std::string& ns) const {
  auto it = namespaces.find(ns);
  if (it != namespaces.end() && it->second.default_ttl_seconds)
    return *it->second.default_ttl_seconds;
  return default_ttl_seconds;
}

Quota Config::QuotaFor(const std::string& ns) const {
  Quota q = quota;
  auto it = namespaces.find(ns);
  if (it == namespaces.end()) return q;
  const NamespaceSettings& n = it->second;
  if (n.max_environments) q.max_environments = *n.max_environments;
  if (n.max_cpu) q.max_cpu = *n.max_cpu;
  if (n.max_memory) q.max_memory = *n.max_memory;
  return q;
}

bool Config::LeaderElectionEnabled() const {
  if (leader_election == "auto") return store_url.rfind("etcd", 0) == 0;
  return leader_election == "on";
}

Status ValidateConfig(const Config& c) {
  auto bad = [](std::string m) { return Fail(ErrorCode::kInvalidArgument, "config: " + m); };
  if (c.state_dir.empty() || c.state_dir.front() != '/') return bad("state_dir must be absolute");
  if (c.socket.empty() || c.socket.front() != '/') return bad("socket must be an absolute path");
  if (c.socket.size() > 100) return bad("socket path is too long for a unix socket");
  if (auto s = ValidateNamespace(c.default_namespace); !s) return bad(s.error().message);
  if (!c.default_image.empty())
    if (auto s = ValidateImageRef(c.default_image); !s) return bad(s.error().message);
  for (const auto& d : c.base_domains)
    if (auto s = ValidateDomain(d); !s) return bad("base_domains: " + s.error().message);
  for (const auto& d : c.allowed_domains)
    if (auto s = ValidateDomain(d); !s) return bad("allowed_domains: " + s.error().message);
  for (int p : c.extra_host_ports)
    if (p < 1 || p > 65535) return bad("extra_host_ports must list ports 1-65535");
  if (auto s = ParsePullPolicy(c.pull_policy); !s) return bad(s.error().message);
  if (c.port_min < 1 || c.port_max > 65535 || c.port_min > c.port_max)
    return bad("port_range must be two ports, low to high, within 1-65535");
  if (auto s = ValidateHostIp(c.host_ip); !s) return bad(s.error().message);
  if (c.runtime != "docker" && c.runtime != "kubernetes")
    return bad("runtime.kind must be docker or kubernetes");
  if (c.volume_driver != "dir" && c.volume_driver != "gluster" && c.volume_driver != "none")
    return bad("volumes.driver must be dir, gluster or none");
  if (c.volume_layout != "namespaced" && c.volume_layout != "original")
    return bad("volumes.layout must be namespaced or original");
  if (c.router_mode != "lua" && c.router_mode != "classic" && c.router_mode != "off")
    return bad("router.mode must be lua, classic or off");
  if (c.upstream_scheme != "http" && c.upstream_scheme != "https")
    return bad("router.upstream_scheme must be http or https");
  if (c.workers < 1 || c.workers > 256) return bad("server.workers must be 1-256");
  if (c.api_max_connections < 1 || c.api_max_connections > 10000)
    return bad("server.api_max_connections must be 1-10000");
  if (c.api_max_connections_per_client < 0 ||
      c.api_max_connections_per_client > c.api_max_connections)
    return bad("server.api_max_connections_per_client must be 0 (no limit) to api_max_connections");
  if (c.api_socket_max_connections < 1 || c.api_socket_max_connections > 10000)
    return bad("server.api_socket_max_connections must be 1-10000");
  if (c.api_idle_timeout_seconds < 1 || c.api_idle_timeout_seconds > 3600)
    return bad("server.api_idle_timeout_seconds must be 1-3600");
  if (c.api_max_header_kib < 8 || c.api_max_header_kib > 1024)
    return bad("server.api_max_header_kib must be 8-1024");
  for (const auto& h : c.api_hosts)
    if (h.empty() || h.find_first_of(" /:@[]") != std::string::npos)
      return bad("server.api_hosts: \"" + h + "\" is not a host name (no port, no scheme)");
  if (c.resync_seconds < 1 || c.resync_seconds > 86400)
    return bad("server.resync_seconds must be 1-86400");
  if (c.usage_sample_seconds < 1 || c.usage_sample_seconds > 3600)
    return bad("server.usage_sample_seconds must be 1-3600");
  if (c.usage_history_points < 1000 || c.usage_history_points > 10000000)
    return bad("server.usage_history_points must be 1000-10000000");
  if (c.leader_election != "auto" && c.leader_election != "on" && c.leader_election != "off")
    return bad("server.leader_election must be auto, on or off");
  if (c.leader_lease_seconds < 2 || c.leader_lease_seconds > 300)
    return bad("server.leader_lease_seconds must be 2-300");
  if (c.identity.size() > 253 ||
      c.identity.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                   "-_.:") != std::string::npos)
    return bad("server.identity may hold letters, digits and - _ . : (at most 253)");
  if (c.releases_keep < 1 || c.releases_keep > 1000) return bad("releases.keep must be 1-1000");
  if (c.releases_max_files < 1 || c.releases_max_files > 10000000)
    return bad("releases.max_files must be 1-10000000");
  if (c.releases_max_bytes < 1 || c.releases_max_bytes > (int64_t{1} << 40))
    return bad("releases.max_bytes must be 1 byte to 1Ti");
  if (c.releases_ready_timeout_seconds < 1 || c.releases_ready_timeout_seconds > 3600)
    return bad("releases.ready_timeout must be 1s to 1h");
  if (c.kube_controller != "deployment" && c.kube_controller != "rc")
    return bad("kubernetes.controller must be deployment or rc");
  return {};
}

}  // namespace berth
