#include "cli/cli.h"

#include <unistd.h>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "berth/config.h"
#include "cli/commands.h"
#include "cli/completion.h"
#include "cli/completion_cmd.h"
#include "cli/confd_args.h"
#include "cli/config_cmd.h"
#include "cli/output.h"
#include "cli/release_cmd.h"
#include "cli/serve.h"
#include "cli/status_cmd.h"
#include "cli/top_cmd.h"
#include "util/memory.h"

#if __has_include("cli/router_cmd.h")
#include "cli/router_cmd.h"
#define BERTH_HAVE_ROUTER_CMD 1
#endif
#if __has_include("cli/dns_cmd.h")
#include "cli/dns_cmd.h"
#define BERTH_HAVE_DNS_CMD 1
#endif

namespace berth::cli {

namespace {

// The global options that take a value ("--config FILE", "-o json"): what follows them is
// their value, not the subcommand.
std::set<std::string> ValueOptionNames(const CLI::App& app) {
  std::set<std::string> names;
  for (const CLI::Option* o : app.get_options()) {
    if (o->get_type_size_max() == 0) continue;  // a flag
    for (const auto& l : o->get_lnames()) names.insert("--" + l);
    for (const auto& s : o->get_snames()) names.insert("-" + s);
  }
  return names;
}

}  // namespace

std::unique_ptr<CLI::App> BuildApp(CliState& st) {
  auto app_ptr = std::make_unique<CLI::App>(
      "Berth gives every developer, branch and CI job its own running container environment:\n"
      "its own ports, persistent /apps volume and domain name.",
      "berth");
  CLI::App& app = *app_ptr;
  GlobalOptions& g = st.g;
  int& rc = st.rc;
  app.require_subcommand(1);
  app.fallthrough();
  app.footer(
      "Exit codes: 0 ok, 1 internal error, 2 invalid input, 3 not found, 4 already exists or "
      "conflict,\n5 permission denied, 6 berth serve or a backend unavailable, 7 timeout, "
      "8 environment failed.\nDocs: docs/cli.md");

  app.add_option("--config", g.config_file,
                 "Config file (default /etc/berth/berth.toml or "
                 "$XDG_CONFIG_HOME/berth/berth.toml)")
      ->envname("BERTH_CONFIG");
  app.add_option("--socket", g.socket, "API unix socket of berth serve")->envname("BERTH_SOCKET");
  app.add_option("--server", g.server, "API base URL instead of the socket (http://host:port)")
      ->envname("BERTH_SERVER");
  app.add_option("--token", g.token, "Bearer token for --server")->envname("BERTH_TOKEN");
  app.add_option("-o,--output", g.output, "Output format: table, json or yaml")
      ->check(CLI::IsMember({"table", "wide", "json", "yaml"}));
  app.add_option("-n,--namespace", g.ns, "Namespace (default from config: \"default\")")
      ->type_name(kNamespaceArg);
  app.add_flag("-v,--verbose", g.verbose, "Debug logging");

  AddEnvironmentCommands(app, g, rc);
  AddLegacyCommands(app, g, rc);
  AddStatusCommand(app, g, rc);
  AddTopCommand(app, g, rc);
  AddConfigCommand(app, g, rc);
  AddReleaseCommands(app, g, rc);

  auto* serve = app.add_subcommand("serve", "Run the daemon: REST API, controller, router");
  serve->add_option("--listen-http", st.listen_http, "Also serve the API on this TCP address");
  serve->add_flag("--insecure-no-auth", st.insecure_no_auth,
                  "Serve --listen-http without api_token: anyone who can reach it may run "
                  "containers (server.insecure_no_auth)");
  serve->add_flag("--stop-nginx-on-exit", st.stop_nginx_on_exit,
                  "Stop the router's nginx on exit (by default it keeps serving and the next "
                  "serve adopts it)");
  serve->callback([&] {
    auto cfg = LoadEffectiveConfig(g);
    if (!cfg) {
      rc = ReportError(cfg.error());
      return;
    }
    if (!st.listen_http.empty()) cfg->listen_http = st.listen_http;
    if (st.insecure_no_auth) cfg->insecure_no_auth = true;
    if (st.stop_nginx_on_exit) cfg->stop_nginx_on_exit = true;
    rc = RunServe(*cfg);
  });

  auto* version = app.add_subcommand("version", "Print the version");
  version->callback([&] {
    // The allocator says whether this build is the tuned one (jemalloc: src/main.cc).
    const std::string allocator = util::AllocatorName();
    const nlohmann::json j = {{"version", BERTH_VERSION_STRING}, {"allocator", allocator}};
    if (g.output == "json")
      PrintJson(std::cout, j);
    else if (g.output == "yaml")
      PrintYaml(std::cout, j);
    else
      std::cout << "berth " << BERTH_VERSION_STRING << "\nallocator: " << allocator << "\n";
  });

#ifdef BERTH_HAVE_ROUTER_CMD
  AddRouterCommand(app);
#endif
#ifdef BERTH_HAVE_DNS_CMD
  AddDnsCommand(app);
#endif
  AddCompletionCommands(app, rc);
  return app_ptr;
}

int Main(int argc, char** argv) {
  CliState st;
  auto app_ptr = BuildApp(st);
  CLI::App& app = *app_ptr;
  int& rc = st.rc;
  if (argc >= 2 && std::string(argv[1]) == kCompleteCommand)
    return RunComplete(app, std::vector<std::string>(argv + 2, argv + argc));

  // `berth router` also takes confd's single-dash flags (-onetime, -interval 60): CLI11 gets them
  // as berth router's --onetime, --interval 60 (docs/confd.md).
  auto args = RewriteConfdArgv(std::vector<std::string>(argv, argv + argc), ValueOptionNames(app));
  if (!args) return ReportError(args.error());
  std::vector<const char*> cargs;
  for (const auto& a : *args) cargs.push_back(a.c_str());

  try {
    app.parse(static_cast<int>(cargs.size()), cargs.data());
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  return rc;
}

}  // namespace berth::cli
