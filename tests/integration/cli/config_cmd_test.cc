// `berth config view` and `berth config check` through the real binary: every setting with its
// source (default, file, env, flag), and a file checked on its own.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <set>

#include "berth/config.h"
#include "cli/config_cmd.h"
#include "support/berth_server.h"
#include "util/fs.h"
#include "util/process.h"

namespace berth::testing {
namespace {

using nlohmann::json;

util::CommandResult Berth(const std::vector<std::string>& args,
                          const std::map<std::string, std::string>& env = {}) {
  std::vector<std::string> argv{BerthBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  util::SpawnOptions so;
  so.env_set = env;
  auto r = util::RunCommand(argv, std::chrono::seconds(30), so);
  if (!r) return util::CommandResult{-1, "", r.error().message, false};
  return *r;
}

// A file that sets every key to something other than its default: each must be read and shown.
const char* kEveryKey = R"(
[server]
state_dir = "/srv/b"
socket = "/srv/b/s.sock"
listen_http = "127.0.0.1:9"
api_token = "t0k3n"
insecure_no_auth = true
api_hosts = ["berth.example.com"]
api_max_connections = 100
api_max_connections_per_client = 10
api_socket_max_connections = 50
api_idle_timeout_seconds = 20
api_max_header_kib = 32
store = "sqlite:///srv/b/x.db"
workers = 3
resync_seconds = 7
leader_election = "on"
leader_lease_seconds = 20
identity = "r1"
usage_sample_seconds = 30
usage_history_points = 50000
[environments]
default_namespace = "team"
default_image = "registry.local/app:1"
base_domains = ["ctest.example.com"]
allowed_domains = ["example.org"]
pull_policy = "IfNotPresent"
port_range = [31000, 31999]
extra_host_ports = [8081]
host_ip = "127.0.0.2"
default_ttl = "3d"
idle_sleep = "30m"
max_environments = 40
max_cpu = "16"
max_memory = "32Gi"
[runtime]
kind = "kubernetes"
docker_host = "unix:///x.sock"
network = "berthnet"
docker_config = "/etc/berth/docker"
[kubernetes]
kubeconfig = "/k"
context = "c"
namespace_prefix = "b-"
controller = "rc"
storage_class = "fast"
host_path_root = "/data"
image_pull_secrets = ["pull"]
[volumes]
driver = "none"
root = "/v"
layout = "original"
gluster_server = "10.0.0.1"
gluster_volume = "gv1"
gluster_mount = "/mnt/g"
[releases]
keep = 3
max_files = 500
max_bytes = "64Mi"
ready_timeout = "2m"
[router]
mode = "classic"
nginx = "/usr/sbin/nginx"
prefix = "/srv/nginx"
http_listen = "127.0.0.1:9080"
https_listen = "127.0.0.1:9443"
tls_cert = "/c.pem"
tls_key = "/k.pem"
upstream_scheme = "https"
etcd_endpoints = ["http://127.0.0.1:2379"]
stop_nginx_on_exit = true
[namespaces.ci]
default_ttl = "8h"
max_environments = 100
[registries."harbor.example.com"]
username = "ci-bot"
password = "t0k3n-registry"
)";

TEST(ConfigCommand, EveryKeyOfTheFileIsReadAndShownAsFromTheFile) {
  util::TempDir d("berth-config");
  ASSERT_TRUE(util::WriteFileAtomic(d.path() + "/berth.toml", kEveryKey));
  auto r = Berth({"--config", d.path() + "/berth.toml", "-o", "json", "config", "view"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = json::parse(r.out);
  EXPECT_EQ(j["file"], d.path() + "/berth.toml");
  std::set<std::string> keys;
  for (const auto& s : j["settings"]) {
    keys.insert(s["key"].get<std::string>());
    EXPECT_EQ(s["source"], "file") << s.dump();
  }
  EXPECT_EQ(keys.size(), berth::cli::ConfigFields(Config{}).size());
  EXPECT_EQ(r.out.find("t0k3n"), std::string::npos) << "the token or a password is shown";
}

TEST(ConfigCommand, SourcesAreDefaultFileEnvAndFlag) {
  util::TempDir d("berth-config");
  ASSERT_TRUE(util::WriteFileAtomic(d.path() + "/berth.toml", "[server]\nworkers = 3\n"));
  auto r = Berth({"--config", d.path() + "/berth.toml", "--socket", "/tmp/flag.sock", "-o", "json",
                  "config", "view"},
                 {{"BERTH_RESYNC_SECONDS", "42"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, std::pair<std::string, std::string>> by_key;
  const json view =
      json::parse(r.out);  // kept alive: a range-for over a temporary's member dangles
  for (const auto& s : view["settings"])
    by_key[s["key"]] = {s["value"].get<std::string>(), s["source"].get<std::string>()};
  EXPECT_EQ(by_key["server.workers"], (std::pair<std::string, std::string>{"3", "file"}));
  EXPECT_EQ(by_key["server.resync_seconds"], (std::pair<std::string, std::string>{"42", "env"}));
  EXPECT_EQ(by_key["server.socket"],
            (std::pair<std::string, std::string>{"\"/tmp/flag.sock\"", "flag"}));
  EXPECT_EQ(by_key["router.mode"], (std::pair<std::string, std::string>{"\"lua\"", "default"}));
  auto table = Berth({"--config", d.path() + "/berth.toml", "config", "view"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("server.workers"), std::string::npos);
  EXPECT_NE(table.out.find("SOURCE"), std::string::npos);
}

TEST(ConfigCommand, CheckValidatesTheFileAloneAndNamesTheProblem) {
  util::TempDir d("berth-config");
  ASSERT_TRUE(util::WriteFileAtomic(d.path() + "/good.toml", "[server]\nworkers = 3\n"));
  ASSERT_TRUE(util::WriteFileAtomic(d.path() + "/bad.toml", "[server]\nworkers = \"many\"\n"));
  auto good = Berth({"config", "check", d.path() + "/good.toml"},
                    {{"BERTH_WORKERS", "not-a-number"}});  // the environment is not the file
  EXPECT_EQ(good.exit_code, 0) << good.err;
  EXPECT_EQ(good.out, d.path() + "/good.toml: ok\n");
  auto bad = Berth({"config", "check", d.path() + "/bad.toml"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("server.workers"), std::string::npos) << bad.err;
  auto missing = Berth({"config", "check", d.path() + "/none.toml"});
  EXPECT_NE(missing.exit_code, 0);
}

}  // namespace
}  // namespace berth::testing
