#include "cli/config_cmd.h"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <iostream>
#include <map>

#include "cli/output.h"
#include "core/duration.h"

extern char** environ;

namespace berth::cli {
namespace {

std::string Quote(const std::string& s) {
  return nlohmann::json(s).dump();
}

std::string List(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + Quote(v[i]);
  return out + "]";
}

std::string IntList(const std::vector<int>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
  return out + "]";
}

std::string Ttl(int64_t seconds) {
  return Quote(seconds == 0 ? "0" : core::FormatDuration(seconds));
}

// The [namespaces.<ns>] tables, as one value: they come from the file alone.
std::string Namespaces(const Config& c) {
  std::string out = "{";
  bool first_ns = true;
  for (const auto& [ns, n] : c.namespaces) {
    std::vector<std::string> kv;
    if (n.default_ttl_seconds) kv.push_back("default_ttl = " + Ttl(*n.default_ttl_seconds));
    if (n.max_environments)
      kv.push_back("max_environments = " + std::to_string(*n.max_environments));
    if (n.max_cpu) kv.push_back("max_cpu = " + Quote(*n.max_cpu));
    if (n.max_memory) kv.push_back("max_memory = " + Quote(*n.max_memory));
    out += (first_ns ? "" : ", ") + ns + " = {";
    for (size_t i = 0; i < kv.size(); ++i) out += (i ? ", " : "") + kv[i];
    out += "}";
    first_ns = false;
  }
  return out + "}";
}

// The [registries."host"] tables, secrets hidden.
std::string Registries(const Config& c) {
  std::string out = "{";
  for (size_t i = 0; i < c.registries.size(); ++i) {
    const auto& r = c.registries[i];
    out += (i ? ", " : "") + Quote(r.registry) + " = {username = " + Quote(r.username) + ", " +
           (r.password_file.empty() ? std::string("password = \"(set, hidden)\"")
                                    : "password_file = " + Quote(r.password_file)) +
           "}";
  }
  return out + "}";
}

std::string Bool(bool b) {
  return b ? "true" : "false";
}

// Unsets every BERTH_* variable (but BERTH_CONFIG, which names the file) for its lifetime, so
// a load sees the file alone; puts them back after.
class WithoutBerthEnv {
 public:
  WithoutBerthEnv() {
    for (char** e = environ; e && *e; ++e) {
      std::string kv = *e;
      auto eq = kv.find('=');
      if (eq == std::string::npos || kv.rfind("BERTH_", 0) != 0) continue;
      std::string k = kv.substr(0, eq);
      if (k != "BERTH_CONFIG") saved_[k] = kv.substr(eq + 1);
    }
    for (const auto& [k, v] : saved_) ::unsetenv(k.c_str());
  }
  ~WithoutBerthEnv() {
    for (const auto& [k, v] : saved_) ::setenv(k.c_str(), v.c_str(), 1);
  }
  WithoutBerthEnv(const WithoutBerthEnv&) = delete;
  WithoutBerthEnv& operator=(const WithoutBerthEnv&) = delete;

 private:
  std::map<std::string, std::string> saved_;
};

}  // namespace

std::vector<std::pair<std::string, std::string>> ConfigFields(const Config& c) {
  return {
      {"server.state_dir", Quote(c.state_dir)},
      {"server.socket", Quote(c.socket)},
      {"server.listen_http", Quote(c.listen_http)},
      {"server.api_token", c.api_token.empty() ? "\"\"" : "\"(set, hidden)\""},
      {"server.insecure_no_auth", Bool(c.insecure_no_auth)},
      {"server.api_hosts", List(c.api_hosts)},
      {"server.api_max_connections", std::to_string(c.api_max_connections)},
      {"server.api_max_connections_per_client", std::to_string(c.api_max_connections_per_client)},
      {"server.api_socket_max_connections", std::to_string(c.api_socket_max_connections)},
      {"server.api_idle_timeout_seconds", std::to_string(c.api_idle_timeout_seconds)},
      {"server.api_max_header_kib", std::to_string(c.api_max_header_kib)},
      {"server.store", Quote(c.store_url)},
      {"server.workers", std::to_string(c.workers)},
      {"server.resync_seconds", std::to_string(c.resync_seconds)},
      {"server.usage_sample_seconds", std::to_string(c.usage_sample_seconds)},
      {"server.usage_history_points", std::to_string(c.usage_history_points)},
      {"server.leader_election", Quote(c.leader_election)},
      {"server.leader_lease_seconds", std::to_string(c.leader_lease_seconds)},
      {"server.identity", Quote(c.identity)},
      {"environments.default_namespace", Quote(c.default_namespace)},
      {"environments.default_image", Quote(c.default_image)},
      {"environments.base_domains", List(c.base_domains)},
      {"environments.allowed_domains", List(c.allowed_domains)},
      {"environments.pull_policy", Quote(c.pull_policy)},
      {"environments.port_range",
       "[" + std::to_string(c.port_min) + ", " + std::to_string(c.port_max) + "]"},
      {"environments.extra_host_ports", IntList(c.extra_host_ports)},
      {"environments.host_ip", Quote(c.host_ip)},
      {"environments.default_ttl", Ttl(c.default_ttl_seconds)},
      {"environments.idle_sleep", Ttl(c.idle_sleep_seconds)},
      {"environments.max_environments", std::to_string(c.quota.max_environments)},
      {"environments.max_cpu", Quote(c.quota.max_cpu)},
      {"environments.max_memory", Quote(c.quota.max_memory)},
      {"namespaces", Namespaces(c)},
      {"runtime.kind", Quote(c.runtime)},
      {"runtime.docker_host", Quote(c.docker_host)},
      {"runtime.network", Quote(c.network)},
      {"runtime.docker_config", Quote(c.docker_config)},
      {"registries", Registries(c)},
      {"kubernetes.kubeconfig", Quote(c.kubeconfig)},
      {"kubernetes.context", Quote(c.kube_context)},
      {"kubernetes.namespace_prefix", Quote(c.kube_namespace_prefix)},
      {"kubernetes.controller", Quote(c.kube_controller)},
      {"kubernetes.storage_class", Quote(c.kube_storage_class)},
      {"kubernetes.host_path_root", Quote(c.kube_host_path_root)},
      {"kubernetes.image_pull_secrets", List(c.image_pull_secrets)},
      {"volumes.driver", Quote(c.volume_driver)},
      {"volumes.root", Quote(c.volume_root)},
      {"volumes.layout", Quote(c.volume_layout)},
      {"volumes.gluster_server", Quote(c.gluster_server)},
      {"volumes.gluster_volume", Quote(c.gluster_volume)},
      {"volumes.gluster_mount", Quote(c.gluster_mount)},
      {"releases.keep", std::to_string(c.releases_keep)},
      {"releases.max_files", std::to_string(c.releases_max_files)},
      {"releases.max_bytes", std::to_string(c.releases_max_bytes)},
      {"releases.ready_timeout", Ttl(c.releases_ready_timeout_seconds)},
      {"router.mode", Quote(c.router_mode)},
      {"router.nginx", Quote(c.nginx_binary)},
      {"router.prefix", Quote(c.nginx_prefix)},
      {"router.http_listen", Quote(c.http_listen)},
      {"router.https_listen", Quote(c.https_listen)},
      {"router.tls_cert", Quote(c.tls_cert)},
      {"router.tls_key", Quote(c.tls_key)},
      {"router.upstream_scheme", Quote(c.upstream_scheme)},
      {"router.etcd_endpoints", List(c.etcd_endpoints)},
      {"router.stop_nginx_on_exit", Bool(c.stop_nginx_on_exit)},
  };
}

void AddConfigCommand(CLI::App& app, GlobalOptions& g, int& rc) {
  auto* config = app.add_subcommand("config", "Show or check the configuration");
  config->require_subcommand(1);

  auto* view = config->add_subcommand(
      "view", "The effective configuration, each value with its source: default, file, env, flag");
  view->callback([&g, &rc] {
    auto effective = LoadEffectiveConfig(g);
    if (!effective) return void(rc = ReportError(effective.error()));
    // The layers: defaults, the file alone, the file and BERTH_* (as serve loads it), then the
    // flags of this command line (LoadEffectiveConfig).
    Result<Config> file = [&] {
      WithoutBerthEnv clean;
      return LoadConfig(g.config_file);
    }();
    if (!file) return void(rc = ReportError(file.error()));
    auto env = LoadConfig(g.config_file);
    if (!env) return void(rc = ReportError(env.error()));
    const auto def = ConfigFields(DefaultConfig());
    const auto f = ConfigFields(*file);
    const auto e = ConfigFields(*env);
    const auto x = ConfigFields(*effective);
    nlohmann::json out = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows;
    for (size_t i = 0; i < x.size(); ++i) {
      std::string source = x[i].second != e[i].second     ? "flag"
                           : e[i].second != f[i].second   ? "env"
                           : f[i].second != def[i].second ? "file"
                                                          : "default";
      rows.push_back({x[i].first, x[i].second, source});
      out.push_back({{"key", x[i].first}, {"value", x[i].second}, {"source", source}});
    }
    Format fmt = Format::kTable;
    ParseFormat(g.output, fmt);
    if (fmt == Format::kJson)
      PrintJson(std::cout, {{"file", effective->source}, {"settings", out}});
    else if (fmt == Format::kYaml)
      PrintYaml(std::cout, {{"file", effective->source}, {"settings", out}});
    else {
      std::cout << "# file: " << (effective->source.empty() ? "(none)" : effective->source) << "\n";
      PrintTable(std::cout, {"KEY", "VALUE", "SOURCE"}, rows);
    }
    rc = 0;
  });

  auto file = std::make_shared<std::string>();
  auto* check = config->add_subcommand(
      "check", "Validate a berth.toml on its own (BERTH_* variables ignored); exit 2 if invalid");
  check->add_option("file", *file, "The file to check")->required();
  check->callback([&rc, file] {
    Result<Config> c = [&] {
      WithoutBerthEnv clean;
      return LoadConfig(*file);
    }();
    if (!c) return void(rc = ReportError(c.error()));
    if (auto s = ValidateConfig(*c); !s) return void(rc = ReportError(s.error()));
    std::cout << *file << ": ok\n";
    rc = 0;
  });
}

}  // namespace berth::cli
