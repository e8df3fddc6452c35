#include "cli/router_cmd.h"

#include <pthread.h>
#include <signal.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "berth/config.h"
#include "berth/store.h"
#include "cli/commands.h"
#include "router/confd/confd.h"
#include "router/confd/log.h"
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

int RunConfd(const RouterFlags& f, const Config& c) {
  if (!f.log_level.empty()) router::confd::SetLogLevel(f.log_level);
  router::confd::Options o;
  o.confdir = f.confdir;
  o.onetime = f.onetime;
  o.watch = f.watch;
  o.interval_seconds = f.interval;
  o.prefix = f.confd_prefix;
  o.noop = f.noop;
  o.keep_stage_file = f.keep_stage_file;
  if (!f.nodes.empty()) {
    o.backend = "etcdv3";
    o.nodes = f.nodes;
  } else if (!f.etcd.empty()) {
    o.backend = "etcdv3";
    for (const auto& e : util::Split(f.etcd, ','))
      o.nodes.push_back(util::StartsWith(e, "http") ? e : "http://" + e);
  } else if (f.backend == "etcdv3") {  // confd's -backend etcdv3 without -node
    o.backend = "etcdv3";
    o.nodes = {"http://127.0.0.1:2379"};
  } else {
    o.backend = "store";
    o.store_url = StoreUrl(f, c);
  }
  return router::confd::Run(o);
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
  auto* confdir = cmd->add_option("--confdir", f->confdir,
                                  "confd mode: directory with conf.d/*.toml and templates/");
  cmd->add_flag("--onetime", f->onetime, "confd mode: render once and exit")->needs(confdir);
  cmd->add_flag("--watch", f->watch, "confd mode: re-render on every change")->needs(confdir);
  cmd->add_option("--interval", f->interval, "confd mode: re-render every N seconds (default 600)")
      ->needs(confdir);
  cmd->add_option("--node", f->nodes, "confd mode: etcd endpoint http://host:port (repeatable)")
      ->needs(confdir);
  cmd->add_option("--confd-prefix", f->confd_prefix, "confd mode: key prefix, like confd -prefix")
      ->needs(confdir);
  cmd->add_flag("--noop", f->noop, "confd mode: render and check only")->needs(confdir);
  cmd->add_flag("--keep-stage-file", f->keep_stage_file, "confd mode: keep staged files")
      ->needs(confdir);
  cmd->add_option("--backend", f->backend,
                  "confd mode: etcdv3 (etcd v3 at --node, default http://127.0.0.1:2379)")
      ->check(CLI::IsMember({"etcdv3"}))
      ->needs(confdir);
  cmd->add_option("--log-level", f->log_level,
                  "confd mode: lowest level logged: debug|info (all), warn, error")
      ->check(
          CLI::IsMember({"trace", "debug", "info", "warn", "warning", "error", "fatal", "panic"}))
      ->needs(confdir);
  cmd->footer(
      "confd users: confd's own command line works here too: -confdir, -onetime, -watch,\n"
      "-interval, -node, -prefix (= --confd-prefix), -noop, -keep-stage-file, -backend etcdv3,\n"
      "-log-level, as -flag value or -flag=value; without -confdir, /etc/confd (docs/confd.md).\n"
      "Config keys: [router] in berth.toml (docs/router.md).");
  cmd->callback([f, &app] {
    auto cfg = LoadConfig(ConfigPath(app));
    if (!cfg) std::exit(ReportError(cfg.error()));
    int rc = f->confdir.empty() ? RunRouter(*f, *cfg) : RunConfd(*f, *cfg);
    std::exit(rc);
  });
}

}  // namespace berth::cli
