#include "cli/router_cmd.h"

#include <pthread.h>
#include <signal.h>

#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "berth/config.h"
#include "berth/store.h"
#include "cli/commands.h"
#include "confd/confd.h"
#include "confd/config_file.h"
#include "confd/log.h"
#include "router/etcd_publisher.h"
#include "router/route_sync.h"
#include "router/router_options.h"
#include "util/strings.h"

namespace berth::cli {

namespace {

struct RouterFlags {
  std::string store;
  std::string etcd;
  std::string mode;
  std::string nginx;
  std::string prefix;
  std::string listen_http;
  std::string listen_https;
  std::string cert;
  std::string key;
  std::string upstream_scheme;
  std::string snippet;
  // confd mode
  bool confd = false;  // confd's flags without -confdir: confdir from confd.toml or /etc/confd
  std::string confd_config_file;
  bool sync_only = false;
  std::string confdir;
  bool onetime = false;
  bool watch = false;
  int interval = 600;
  std::vector<std::string> nodes;
  std::string confd_prefix;
  std::string backend;    // "" or "etcdv3"
  std::string log_level;  // accepted for confd command lines
  bool noop = false;
  bool keep_stage_file = false;
};

std::string ConfigPath(CLI::App& root) {
  auto* o = root.get_option_no_throw("--config");
  if (!o || o->count() == 0) {
    const char* env = std::getenv("BERTH_CONFIG");
    return env ? env : "";
  }
  return o->as<std::string>();
}

// The store the routes come from: --store, --etcd, the config's store_url, or the embedded db.
std::string StoreUrl(const RouterFlags& f, const Config& c) {
  if (!f.store.empty()) return f.store;
  if (!f.etcd.empty()) return router::EtcdUrl(util::Split(f.etcd, ','));
  if (!c.store_url.empty()) return c.store_url;
  if (!c.etcd_endpoints.empty()) return router::EtcdUrl(c.etcd_endpoints);
  return "sqlite://" + c.state_dir + "/berth.db";
}

// confd's precedence: its defaults, then confd.toml, then the flags given on the command line.
int RunConfd(const RouterFlags& f, const std::function<bool(const char*)>& given, const Config& c) {
  const bool explicit_file = !f.confd_config_file.empty();
  const std::string file = explicit_file ? f.confd_config_file : confd::kDefaultConfigFile;
  auto fs = confd::LoadConfigFile(file, /*optional=*/!explicit_file);
  if (!fs) return ReportError(Wrap(fs.error(), "confd config file"));
  for (const auto& k : fs->ignored) spdlog::warn("{}: ignoring unknown key \"{}\"", file, k);
  auto pick = [&](const char* flag, const auto& flag_value, const auto& file_value,
                  const auto& fallback) {
    using T = std::decay_t<decltype(flag_value)>;
    if (given(flag)) return T(flag_value);
    if (file_value) return T(*file_value);
    return T(fallback);
  };
  std::string log_level = pick("--log-level", f.log_level, fs->log_level, std::string());
  if (!log_level.empty()) confd::SetLogLevel(log_level);
  confd::Options o;
  o.confdir = pick("--confdir", f.confdir, fs->confdir, std::string("/etc/confd"));
  o.onetime = f.onetime;
  o.watch = pick("--watch", f.watch, fs->watch, false);
  o.interval_seconds = pick("--interval", f.interval, fs->interval, 600);
  o.prefix = pick("--confd-prefix", f.confd_prefix, fs->prefix, std::string());
  o.noop = pick("--noop", f.noop, fs->noop, false);
  o.sync_only = pick("--sync-only", f.sync_only, fs->sync_only, false);
  o.keep_stage_file = f.keep_stage_file;
  auto nodes = pick("--node", f.nodes, fs->nodes, std::vector<std::string>());
  auto backend = pick("--backend", f.backend, fs->backend, std::string());
  if (!nodes.empty()) {
    o.backend = "etcdv3";
    o.nodes = nodes;
  } else if (!f.etcd.empty()) {
    o.backend = "etcdv3";
    for (const auto& e : util::Split(f.etcd, ','))
      o.nodes.push_back(util::StartsWith(e, "http") ? e : "http://" + e);
  } else if (backend == "etcdv3") {  // confd's -backend etcdv3 without -node
    o.backend = "etcdv3";
    o.nodes = {"http://127.0.0.1:2379"};
  } else {
    o.backend = "store";
    o.store_url = StoreUrl(f, c);
  }
  return confd::Run(o);
}

int RunRouter(const RouterFlags& f, const Config& c) {
  router::RouterOptions o = router::RouterOptionsFromConfig(c);
  if (!f.mode.empty()) o.mode = f.mode;
  if (!f.nginx.empty()) o.nginx_binary = f.nginx;
  if (!f.prefix.empty()) o.prefix = f.prefix;
  if (!f.listen_http.empty()) o.http_listen = f.listen_http;
  if (!f.listen_https.empty()) o.https_listen = f.listen_https;
  if (!f.cert.empty()) o.tls_cert = f.cert;
  if (!f.key.empty()) o.tls_key = f.key;
  if (!f.upstream_scheme.empty()) o.upstream_scheme = f.upstream_scheme;
  if (!f.snippet.empty()) o.http_snippet_file = f.snippet;
  if (o.mode == "off")
    return ReportError(Error{ErrorCode::kInvalidArgument, "router mode is \"off\""});
  if (auto s = router::ValidateRouterOptions(o); !s) return ReportError(s.error());

  const std::string url = StoreUrl(f, c);
  auto store = store::OpenStore(url);
  if (!store) return ReportError(Wrap(store.error(), "opening " + url));

  // Signals go to sigwait below, not to the worker threads started next.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  router::RouteSync sync(**store, o);
  if (auto s = sync.Start(); !s) return ReportError(s.error());
  spdlog::info("router: {} mode, nginx prefix {}, http {}{}, routes from {}", o.mode, o.prefix,
               o.http_listen, o.tls_cert.empty() ? "" : ", https " + o.https_listen, url);
  int sig = 0;
  sigwait(&set, &sig);
  spdlog::info("router: signal {}, stopping", sig);
  auto st = sync.Stats();
  sync.Stop();
  spdlog::info("router: {} routes, {} rejected, {} applies, {} failed, {} reloads", st.routes,
               st.rejected, st.applies, st.failed_applies, st.reloads);
  return 0;
}

}  // namespace

void AddRouterCommand(CLI::App& app) {
  auto f = std::make_shared<RouterFlags>();
  auto* cmd = app.add_subcommand(
      "router",
      "Run the router alone: follow routes (/devnginx/<ns>/<name>) in etcd or a store and keep a\n"
      "Berth-managed nginx in step. Lua mode changes routes without reloads; classic mode renders\n"
      "server blocks and reloads through a checked, atomic apply. With --confdir, run an existing\n"
      "confd configuration instead (conf.d/*.toml + templates/). Stops on SIGINT/SIGTERM.");
  cmd->add_option("--store", f->store,
                  "Store URL: etcd://host:port[,...] or sqlite:///path/berth.db");
  cmd->add_option("--etcd", f->etcd,
                  "etcd v3 endpoints host:port[,host:port] (same as --store etcd://...)");
  cmd->add_option("--mode", f->mode, "lua (default: no reloads for route changes) or classic")
      ->check(CLI::IsMember({"lua", "classic"}));
  cmd->add_option("--nginx", f->nginx, "nginx binary (default from config: nginx)");
  cmd->add_option("--prefix", f->prefix, "nginx prefix owned by Berth (default <state_dir>/nginx)");
  cmd->add_option("--listen-http", f->listen_http, "HTTP listener, e.g. 0.0.0.0:80");
  cmd->add_option("--listen-https", f->listen_https, "HTTPS listener (with --cert/--key)");
  cmd->add_option("--cert", f->cert, "TLS certificate (PEM) for HTTPS termination");
  cmd->add_option("--key", f->key, "TLS private key (PEM)");
  cmd->add_option(
         "--upstream-scheme", f->upstream_scheme,
         "The HTTPS listener proxies to the route's http port (http) or https port (https)")
      ->check(CLI::IsMember({"http", "https"}));
  cmd->add_option("--snippet", f->snippet, "File of extra nginx directives for the http block");
  // confd mode's options; each needs confd mode (checked in the callback, since confd mode
  // may also come from --confd or --confd-config-file).
  std::vector<CLI::Option*> confd_only;
  cmd->add_option("--confdir", f->confdir,
                  "confd mode: directory with conf.d/*.toml and templates/");
  cmd->add_flag("--confd", f->confd, "confd mode with the confdir of confd.toml or /etc/confd")
      ->group("");  // what confd's single-dash flags turn into; not for typing
  cmd->add_option("--confd-config-file", f->confd_config_file,
                  "confd mode: confd's config file (default /etc/confd/confd.toml if present)");
  confd_only.push_back(cmd->add_flag("--onetime", f->onetime, "confd mode: render once and exit"));
  confd_only.push_back(cmd->add_flag("--watch", f->watch, "confd mode: re-render on every change"));
  confd_only.push_back(cmd->add_option("--interval", f->interval,
                                       "confd mode: re-render every N seconds (default 600)"));
  confd_only.push_back(cmd->add_option("--node", f->nodes,
                                       "confd mode: etcd endpoint http://host:port (repeatable)"));
  confd_only.push_back(cmd->add_option("--confd-prefix", f->confd_prefix,
                                       "confd mode: key prefix, like confd -prefix"));
  confd_only.push_back(cmd->add_flag("--noop", f->noop, "confd mode: render and check only"));
  confd_only.push_back(cmd->add_flag(
      "--sync-only", f->sync_only, "confd mode: write changed files without check_cmd/reload_cmd"));
  confd_only.push_back(
      cmd->add_flag("--keep-stage-file", f->keep_stage_file, "confd mode: keep staged files"));
  confd_only.push_back(
      cmd->add_option("--backend", f->backend,
                      "confd mode: etcdv3 (etcd v3 at --node, default http://127.0.0.1:2379)")
          ->check(CLI::IsMember({"etcdv3"})));
  confd_only.push_back(
      cmd->add_option("--log-level", f->log_level,
                      "confd mode: lowest level logged: debug|info (all), warn, error")
          ->check(CLI::IsMember(confd::LogLevelNames())));
  cmd->footer(
      "confd users: confd's own command line works here too: -confdir, -onetime, -watch,\n"
      "-interval, -node, -prefix (= --confd-prefix), -noop, -sync-only, -keep-stage-file,\n"
      "-backend etcdv3, -log-level, -config-file, as -flag value or -flag=value. confd.toml\n"
      "(default /etc/confd/confd.toml) is read as confd reads it; flags win (docs/confd.md).\n"
      "Config keys: [router] in berth.toml (docs/router.md).");
  cmd->callback([f, &app, cmd, confd_only] {
    auto cfg = LoadConfig(ConfigPath(app));
    if (!cfg) std::exit(ReportError(cfg.error()));
    const bool confd_mode = !f->confdir.empty() || f->confd || !f->confd_config_file.empty();
    if (!confd_mode) {
      for (const auto* o : confd_only)
        if (o->count() > 0)
          std::exit(ReportError(Error{ErrorCode::kInvalidArgument,
                                      o->get_name() + " needs confd mode (--confdir DIR)"}));
      std::exit(RunRouter(*f, *cfg));
    }
    auto given = [cmd](const char* name) { return cmd->get_option(name)->count() > 0; };
    std::exit(RunConfd(*f, given, *cfg));
  });
}

}  // namespace berth::cli
