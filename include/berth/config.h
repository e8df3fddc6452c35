// Configuration: one TOML file, overridden by BERTH_* environment variables, overridden by
// flags. docs/configuration.md lists every key.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "berth/environment.h"
#include "berth/result.h"

namespace berth {

// Limits on what one namespace may hold; 0 / "" = no limit. CPU and memory are the sums of the
// environments' limits times their replicas, as Kubernetes counts limits.cpu in a quota.
struct Quota {
  int max_environments = 0;
  std::string max_cpu;     // "8", "2500m"
  std::string max_memory;  // "16Gi"
  bool Any() const { return max_environments > 0 || !max_cpu.empty() || !max_memory.empty(); }
};

// [namespaces.<ns>]: what one namespace sets for itself; unset = the [environments] value.
struct NamespaceSettings {
  std::optional<int64_t> default_ttl_seconds;
  std::optional<int> max_environments;
  std::optional<std::string> max_cpu;
  std::optional<std::string> max_memory;
};

// [registries."host:port"]: a login for a private registry, used before the Docker CLI's
// config.json (runtime/registry_auth.h).
struct RegistryLogin {
  std::string registry;  // "harbor.example.com", "127.0.0.1:5000"
  std::string username;
  std::string password;       // or:
  std::string password_file;  // read at each pull, trailing newline dropped
};

struct Config {
  // True when this replica must hold the leader lease to run the controller.
  bool LeaderElectionEnabled() const;

  // [server]
  std::string state_dir;    // SQLite db, volumes, nginx prefix
  std::string socket;       // REST API unix socket (the CLI's transport)
  std::string listen_http;  // optional "127.0.0.1:8080"
  std::string api_token;    // required for HTTP listeners when set
  // listen_http without api_token is refused unless this says the open API is wanted.
  bool insecure_no_auth = false;
  // Host header names answered on listen_http besides IP literals and "localhost" (DNS
  // rebinding: a browser sends the attacker's name).
  std::vector<std::string> api_hosts;
  // Listener bounds (docs/configuration.md, "API listeners").
  int api_max_connections = 256;            // per TCP listener
  int api_max_connections_per_client = 32;  // per client address on TCP
  int api_socket_max_connections = 128;     // the unix socket's own budget
  int api_idle_timeout_seconds = 30;        // an unfinished request or idle keep-alive
  int api_max_header_kib = 64;              // request line + headers, per connection
  std::string store_url;          // "" = sqlite://<state_dir>/berth.db; or etcd://host:port,...
  int workers = 8;                // controller reconcile workers
  int resync_seconds = 10;        // level-triggered full resync period
  int usage_sample_seconds = 15;  // how often serve samples each environment's usage
  // Usage samples kept across all environments (64 bytes each): bounds the history's memory.
  int usage_history_points = 131072;
  // Several replicas on one etcd store elect one controller. "auto" = on for etcd stores.
  std::string leader_election = "auto";  // "auto" | "on" | "off"
  int leader_lease_seconds = 15;
  std::string identity;  // this replica's name in the lease; "" = hostname-pid

  // [environments]
  std::string default_namespace = "default";
  std::string default_image;  // used by re_create when --image is absent
  std::vector<std::string> base_domains{"ctest.localhost"};
  std::string pull_policy = "Always";
  int port_min = 30000;
  int port_max = 32767;
  // Admin allow-lists beyond the defaults: domain suffixes an environment may claim outside the
  // base domains, and explicit host ports allowed outside port_range.
  std::vector<std::string> allowed_domains;
  std::vector<int> extra_host_ports;
  std::string host_ip = "127.0.0.1";  // address published ports bind to and routes point at
  // The TTL of an environment created without one (seconds; 0 = never). Written as "8h",
  // "3d" or seconds.
  int64_t default_ttl_seconds = 0;
  // An environment with no request through the router for this long is put to sleep (0 = off;
  // the spec's idle_sleep_seconds overrides it). Needs serve's managed Lua router.
  int64_t idle_sleep_seconds = 0;
  // What each namespace may hold at most (see Quota); [namespaces.<ns>] overrides per key.
  Quota quota;
  std::map<std::string, NamespaceSettings> namespaces;
  int64_t DefaultTtlFor(const std::string& ns) const;
  Quota QuotaFor(const std::string& ns) const;

  // [runtime]
  std::string runtime = "docker";  // "docker" | "kubernetes"
  std::string docker_host;         // "unix:///run/podman/podman.sock"; "" = $DOCKER_HOST or default
  std::string network;             // docker network; "" = engine default bridge
  // Where the Docker CLI's config.json is: "" = $DOCKER_CONFIG, else ~/.docker.
  std::string docker_config;
  std::vector<RegistryLogin> registries;
  // [kubernetes]
  std::string kubeconfig;
  std::string kube_context;
  std::string kube_namespace_prefix;  // Berth namespace "x" -> Kubernetes namespace prefix+"x"
  std::string kube_controller = "deployment";
  std::string kube_storage_class;  // set = PVC per environment; else host path
  std::string kube_host_path_root = "/mnt";
  std::vector<std::string> image_pull_secrets;

  // [volumes]
  std::string volume_driver = "dir";  // "dir" | "gluster" | "none"
  std::string volume_root;            // dir driver: <state_dir>/volumes
  std::string gluster_server = "127.0.0.1";
  std::string gluster_volume = "gv0";
  std::string gluster_mount;  // where the gluster volume is mounted on this host (bind source)
  // "namespaced" = <root>/<ns>/<name>; "original" = <root>/<name> for the default namespace
  // (the original's /mnt/<name>), other namespaces under <root>/_ns/<ns>/<name>. docs/storage.md
  std::string volume_layout = "namespaced";

  // [releases] (docs/releases.md)
  int releases_keep = 5;                          // release directories kept on the volume
  int releases_max_files = 100000;                // entries of one code release's archive
  int64_t releases_max_bytes = int64_t{1} << 30;  // file content of one code release
  int64_t releases_ready_timeout_seconds = 60;    // restart/reload until the http port answers

  // [router]
  std::string router_mode = "lua";  // "lua" (no reloads) | "classic" | "off"
  std::string nginx_binary = "nginx";
  std::string nginx_prefix;  // <state_dir>/nginx
  std::string http_listen = "127.0.0.1:8880";
  std::string https_listen = "127.0.0.1:8443";
  std::string tls_cert;  // PEM; "" = no TLS termination
  std::string tls_key;
  std::string upstream_scheme = "http";     // TLS listener proxies to "http" port or "https" port
  std::vector<std::string> etcd_endpoints;  // publish routes to etcd v3 when set
  // false: `serve`/`router` leave their nginx running when they exit, and the next start adopts
  // it, so a restart or an upgrade drops no request (docs/router.md).
  bool stop_nginx_on_exit = false;

  std::string source;  // which file was loaded, for `berth config`
};

// Defaults for this user: root gets /var/lib/berth, /run/berth; others the XDG dirs.
Config DefaultConfig();
// Loads `path` (or the first of /etc/berth/berth.toml, $XDG_CONFIG_HOME/berth/berth.toml if
// empty), then BERTH_* variables. A missing default file is fine; a missing named one is not.
Result<Config> LoadConfig(const std::string& path);
Status ValidateConfig(const Config& c);

}  // namespace berth
