#include "cli/serve.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <mutex>
#include <nlohmann/json.hpp>

#include "api/api_server.h"
#include "api/environment_service.h"
#include "controller/controller.h"
#include "controller/idle_sleep.h"
#include "controller/installation.h"
#include "controller/leader_election.h"
#include "core/duration.h"
#include "net/port_probe.h"
#include "release/release_manager.h"
#include "router/etcd_publisher.h"
#include "router/nginx_conf.h"
#include "router/route_sync.h"
#include "router/router_options.h"
#include "router/wake_poller.h"
#include "runtime/reachability.h"
#include "runtime/runtime_registry.h"
#include "runtime/usage_sampler.h"
#include "storage/volume_provider_factory.h"
#include "store/claims.h"
#include "store/env_cache.h"
#include "store/informer.h"
#include "store/spec_records.h"
#include "util/fs.h"
#include "util/memory.h"

namespace berth::cli {

int RunServe(const Config& config) {
  auto fail = [](const std::string& what, const Error& e) {
    spdlog::error("{}: {}", what, e.message);
    return ExitCodeFor(e.code);
  };
  if (auto s = api::CheckTcpAuth(config); !s) return fail("API", s.error());
  // Caches of thousands of small records: a few shared arenas instead of one per thread keep
  // freed memory reusable (docs/operations.md, "Memory").
  util::LimitMallocArenas(2);
  if (auto s = util::MakeDirs(config.state_dir, 0755); !s) return fail("state dir", s.error());

  // Block the stop signals in every thread; the main thread waits for them below.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto store = store::OpenStore(config.store_url);
  if (!store) return fail("opening store " + config.store_url, store.error());
  // Records in the flat form of releases before 0.2 get the record form (and a uid) first.
  auto migrated_specs = store::MigrateSpecRecords(**store);
  if (!migrated_specs) return fail("migrating environment records", migrated_specs.error());
  if (*migrated_specs)
    spdlog::info("environment records: {} rewritten in the record form (metadata + spec)",
                 *migrated_specs);
  // Environments stored by a release without domain claims get theirs before any create can
  // take one: first come first served.
  auto migrated = store::ClaimUnclaimedDomains(**store);
  if (!migrated) return fail("claiming the domains of existing environments", migrated.error());
  if (migrated->claimed || migrated->conflicts)
    spdlog::info("domain claims: {} claimed for existing environments, {} lost to an earlier one",
                 migrated->claimed, migrated->conflicts);
  // One list + watch of the store for everything that follows environments in this process:
  // the API's reads come from `envs`, the controller's queue from the same feed.
  store::Informer informer(**store,
                           {{std::string(store::keys::kSpecs), std::string(store::keys::kStatus)}});
  store::EnvCache envs;
  auto envs_feed = informer.AddHandlers(envs.Handlers());
  informer.Start();
  if (!informer.WaitForSync(std::chrono::seconds(30)))
    spdlog::warn("the store's environments are not listed yet; reads go to the store meanwhile");
  auto rt = runtime::MakeRuntime(config);
  if (!rt) return fail("runtime " + config.runtime, rt.error());
  // What differs between runtimes is asked of the runtime, never decided by its name.
  const runtime::Capabilities caps = (*rt)->capabilities();
  // On a local engine (a unix socket) published ports are this host's: allocation skips the
  // ones another process holds, and the controller moves an auto-assigned one taken later.
  core::PortBusyFn port_busy;
  if (caps.local_host_ports)
    port_busy = [ip = config.host_ip](int port) {
      auto free = net::TcpPortFree(ip, port);
      return free && !*free;  // cannot tell = not busy: the engine decides
    };
  auto volumes = storage::MakeVolumeProvider(config, caps.host_dir_mount);
  if (!volumes) return fail("volumes " + config.volume_driver, volumes.error());
  // Who this installation is: everything below creates only objects carrying its id and
  // touches nothing carrying another's.
  auto installation = controller::EnsureInstallation(**store, **rt);
  if (!installation) return fail("installation id", installation.error());
  (*rt)->SetOwnership(installation->ownership());
  (*volumes)->SetInstallation(installation->id);
  spdlog::info("installation {}", installation->id);

  std::unique_ptr<router::RouteSync> router;
  if (config.router_mode != "off") {
    router = std::make_unique<router::RouteSync>(**store, router::RouterOptionsFromConfig(config));
    if (auto s = router->Start(); !s) return fail("router", s.error());
  }
  std::unique_ptr<router::EtcdRoutePublisher> publisher;
  if (!config.etcd_endpoints.empty()) {
    auto p = router::EtcdRoutePublisher::Open(**store, config.etcd_endpoints);
    if (!p) return fail("etcd route publisher", p.error());
    publisher = std::move(*p);
    publisher->SetInstallation(installation->id);
    publisher->Start();
  }

  // The API's service: every spec write, the controller's requests for one included.
  api::EnvironmentService service(**store, config, port_busy, caps);
  service.ReadFrom(&informer, &envs);
  controller::ControllerOptions copts;
  copts.workers = config.workers;
  copts.informer = &informer;
  copts.resync = std::chrono::seconds(config.resync_seconds);
  copts.probe_http = caps.probe_http;
  copts.installation = installation->id;
  copts.host_port_busy = port_busy;
  copts.move_held_ports = [&service](const std::string& ns, const std::string& name,
                                     const std::string& uid) {
    return service.MoveHeldPorts(ns, name, uid);
  };
  controller::RouteWaiter waiter;
  if (router) {
    waiter = [&router](int64_t rev) { return router->AppliedRevision() >= rev; };
    copts.routed_domains = [&router](const std::string& ns, const std::string& name) {
      return router->RoutedDomains(store::keys::Route(ns, name));
    };
  }
  // The controller runs here, or — with leader election — only while this replica holds the
  // lease; every replica serves the API either way (it only writes specs to the store).
  std::mutex ctl_mu;
  std::unique_ptr<controller::Controller> ctl;
  auto start_controller = [&] {
    std::lock_guard<std::mutex> l(ctl_mu);
    ctl = std::make_unique<controller::Controller>(**store, **rt, **volumes, copts, waiter);
    ctl->Start();
  };
  auto stop_controller = [&] {
    std::lock_guard<std::mutex> l(ctl_mu);
    if (ctl) ctl->Stop();
    ctl.reset();
  };
  // The router says when it has applied a revision, so that no reconcile waits for it. The
  // guard clears the callback (waiting out a call in progress) before ctl goes.
  if (router)
    router->OnApplied([&](int64_t rev) {
      std::lock_guard<std::mutex> l(ctl_mu);
      if (ctl) ctl->RoutesApplied(rev);
    });
  struct ClearOnApplied {
    router::RouteSync* r;
    ~ClearOnApplied() {
      if (r) r->OnApplied(nullptr);
    }
  } clear_on_applied{router.get()};
  // The engine's reachability, pinged in the background: `berth status` and /readyz show an
  // outage; a change queues every environment so each shows it (or converges) at once.
  runtime::ReachabilityMonitor engine(**rt, std::chrono::seconds(2), std::chrono::seconds(2),
                                      [&](bool) {
                                        std::lock_guard<std::mutex> l(ctl_mu);
                                        if (ctl) ctl->ResyncNow();
                                      });
  engine.Start();
  std::unique_ptr<controller::LeaderElector> elector;
  if (config.LeaderElectionEnabled()) {
    controller::LeaderElectionOptions lo;
    lo.identity = config.identity;
    lo.lease = std::chrono::seconds(config.leader_lease_seconds);
    lo.renew_deadline = lo.lease * 2 / 3;
    lo.retry = lo.lease / 7;
    elector =
        std::make_unique<controller::LeaderElector>(**store, lo, start_controller, stop_controller);
    elector->Start();
  } else {
    start_controller();
  }

  // Wake on request: a request through the Lua router for a sleeping environment's host.
  std::unique_ptr<router::WakePoller> wakes;
  if (router && config.router_mode == "lua") {
    wakes = std::make_unique<router::WakePoller>(
        router::NginxPaths(router::RouterOptionsFromConfig(config).prefix).control_socket,
        [&service](const std::string& ns, const std::string& name) {
          if (auto v = service.Wake(ns, name); !v)
            spdlog::warn("waking {}/{} on a request: {}", ns, name, v.error().message);
        });
    wakes->Start();
  }
  // Idle sleep: environments with no request through this router for their idle time.
  std::unique_ptr<controller::IdleSleeper> idle;
  if (router && config.router_mode == "lua") {
    const std::string control =
        router::NginxPaths(router::RouterOptionsFromConfig(config).prefix).control_socket;
    const int64_t default_idle = config.idle_sleep_seconds;
    idle = std::make_unique<controller::IdleSleeper>(
        [control] { return router::ReadHits(control); },
        [&service, default_idle]() -> Result<std::vector<controller::IdleCandidate>> {
          auto list = service.ListBrief("");
          if (!list) return Fail(list.error());
          std::vector<controller::IdleCandidate> out;
          for (const auto& v : *list) {
            controller::IdleCandidate c;
            c.key = v.spec.Key();
            c.idle_seconds = EffectiveIdleSleep(v.spec, default_idle);
            c.awake = !v.spec.sleeping && !v.spec.deleting && v.status &&
                      v.status->phase == Phase::kRunning;
            out.push_back(std::move(c));
          }
          return out;
        },
        [&service](const std::string& key, int64_t idle_seconds) {
          auto id = EnvKey::Parse(key);
          if (!id) return;
          spdlog::info("{}: no request for {}: putting it to sleep", key,
                       core::FormatDuration(idle_seconds));
          if (auto v = service.Sleep(id->ns, id->name); !v)
            spdlog::warn("{}: idle sleep: {}", key, v.error().message);
        },
        controller::IdleCheckInterval(default_idle > 0 ? default_idle : 120));
    idle->Start();
  }
  // Releases: code onto the volume or a new image, with history and rollback.
  release::ReleaseOptions ropts;
  ropts.limits.max_files = config.releases_max_files;
  ropts.limits.max_bytes = config.releases_max_bytes;
  ropts.keep = static_cast<size_t>(config.releases_keep);
  ropts.ready_timeout = std::chrono::seconds(config.releases_ready_timeout_seconds);
  ropts.host_ip = config.host_ip;
  ropts.probe_http = caps.probe_http;
  release::ReleaseManager releases(
      **store, **rt, **volumes,
      [&service](const std::string& ns, const std::string& name,
                 const std::string& image) -> Result<int64_t> {
        auto v = service.Rebuild(ns, name, image);
        if (!v) return Fail(v.error());
        return v->spec.generation;
      },
      ropts);
  // A deploy a killed server left half done: back to the previous release, partial files gone.
  releases.Recover();
  runtime::Runtime* runtime_ptr = rt->get();
  api::ApiServer server(
      service, config,
      [runtime_ptr](const EnvironmentSpec& spec, const runtime::LogOptions& o,
                    const runtime::LogSink& sink) { return runtime_ptr->Logs(spec, o, sink); },
      [&]() {
        nlohmann::json j;
        j["runtime"] = runtime_ptr->Name();
        j["installation"] = installation->id;
        auto reach = engine.State();
        j["engine"] = {{"reachable", reach.reachable},
                       {"checked", reach.checked},
                       {"since", reach.since},
                       {"error", reach.error}};
        j["volumes"] = (*volumes)->Name();
        if (elector) {
          auto le = elector->State();
          j["leader_election"] = {{"identity", le.identity},
                                  {"leader", le.leader},
                                  {"holder", le.holder},
                                  {"transitions", le.transitions}};
        } else {
          j["leader_election"] = nullptr;
        }
        if (router) {
          auto st = router->Stats();
          j["router"] = {{"mode", st.mode},
                         {"routes", st.routes},
                         {"rejected", st.rejected},
                         {"rejected_keys", st.rejected_keys},
                         {"conflicts", st.conflicts},
                         {"reloads", st.reloads},
                         {"applied_revision", st.applied_revision},
                         {"last_error", st.last_error},
                         {"http_listen", config.http_listen}};
        }
        if (publisher) {
          auto ps = publisher->Stats();
          j["etcd_publisher"] = {{"puts", ps.puts},
                                 {"deletes", ps.deletes},
                                 {"errors", ps.errors},
                                 {"last_error", ps.last_error}};
        }
        return j.dump();
      });
  // What each environment uses: sampled in the background so /metrics never waits for the
  // engine; the API takes a fresh sample for an environment with none recent.
  runtime::UsageSamplerOptions uopts;
  uopts.interval = std::chrono::seconds(config.usage_sample_seconds);
  uopts.max_points = static_cast<size_t>(config.usage_history_points);
  runtime::UsageSampler sampler(
      **rt,
      [&service]() -> Result<std::vector<EnvironmentSpec>> {
        auto list = service.ListBrief("");
        if (!list) return Fail(list.error());
        std::vector<EnvironmentSpec> out;
        for (auto& v : *list) out.push_back(std::move(v.spec));
        return out;
      },
      uopts);
  if (router && config.router_mode == "lua") {
    // Requests per minute on the charts: the same counters idle sleep reads.
    const std::string control =
        router::NginxPaths(router::RouterOptionsFromConfig(config).prefix).control_socket;
    sampler.SetRequestCounter([control] { return router::ReadHits(control); });
  }
  server.SetUsageHistory(
      [&sampler](const std::string& key) { return sampler.HistoryRates(key); },
      std::chrono::duration_cast<std::chrono::milliseconds>(sampler.interval()).count());
  sampler.Start();
  server.SetUsage([&sampler](const EnvironmentSpec& spec, bool sample_if_stale) {
    return sampler.Report(spec, sample_if_stale);
  });
  server.SetReleases(&releases);
  server.SetReadinessChecks({
      {"engine", [&engine] { return engine.Check(); }},
      {"store",
       [&store]() -> Status {
         if (auto r = (*store)->Revision(); !r) return Fail(r.error());
         return {};
       }},
      {"router", [&router]() -> Status { return router ? router->Ready() : Status{}; }},
  });
  auto stop_all = [&] {
    if (elector) elector->Stop();  // steps down, then gives up the lease
    stop_controller();
    engine.Stop();
  };
  if (auto s = server.Start(); !s) {
    releases.Stop();
    sampler.Stop();
    stop_all();
    return fail("API", s.error());
  }
  spdlog::info("berth serve ready: socket {}{}, runtime {}, router {} on {}", config.socket,
               config.listen_http.empty() ? "" : ", http " + config.listen_http,
               runtime_ptr->Name(), config.router_mode, config.http_listen);

  // Between signals, every 10 s: the allocator gives back the pages that bursts of work (a
  // list of thousands, a converging controller) freed, so the RSS follows what is held.
  int sig = -1;
  const timespec every{10, 0};
  while ((sig = sigtimedwait(&sigs, nullptr, &every)) < 0) util::ReleaseFreeMemory();
  spdlog::info("signal {}: shutting down", sig);
  server.Stop();
  releases.Stop();
  sampler.Stop();
  if (wakes) wakes->Stop();
  if (idle) idle->Stop();
  stop_all();
  if (publisher) publisher->Stop();
  if (router) router->Stop();
  return 0;
}

}  // namespace berth::cli
