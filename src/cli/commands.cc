#include "cli/commands.h"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <set>
#include <string>

#include "berth/validate.h"
#include "cli/completion.h"
#include "cli/output.h"
#include "cli/target.h"
#include "cli/top_cmd.h"
#include "core/branch_name.h"
#include "core/duration.h"
#include "util/strings.h"

namespace berth::cli {

using nlohmann::json;

namespace {

bool Interactive() {
  return ::isatty(STDOUT_FILENO) && ::isatty(STDERR_FILENO);
}

std::string Str(const json& j, const char* k) {
  return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : "";
}

// " (xN)" for an event that happened N > 1 times (the server folds repeats), else "".
std::string RepeatSuffix(const json& event) {
  int count = event.value("count", 1);
  return count > 1 ? " (x" + std::to_string(count) + ")" : "";
}

std::string PortCell(const json& view, const std::string& name) {
  int p = PublishedPort(view, name);
  return p ? std::to_string(p) : "-";
}

std::string Phase(const json& view) {
  const auto& st = view["status"];
  return st.is_object() ? st.value("phase", "Pending") : "Pending";
}

// "3h12m" until the time, "now" once passed, "-" for none.
std::string ExpiresIn(const std::string& rfc3339) {
  if (rfc3339.empty()) return "-";
  auto at = core::ParseRfc3339Utc(rfc3339);
  if (!at) return "-";
  int64_t left = *at - core::NowEpochSeconds();
  return left <= 0 ? "now" : core::FormatDuration(left);
}

Status ParseKv(const std::vector<std::string>& in, std::map<std::string, std::string>& out,
               const char* what) {
  for (const auto& s : in) {
    auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0)
      return Fail(ErrorCode::kInvalidArgument,
                  std::string(what) + " \"" + s + "\" must be KEY=VALUE");
    out[s.substr(0, eq)] = s.substr(eq + 1);
  }
  return {};
}

Result<std::vector<PortSpec>> ParsePorts(const std::vector<std::string>& in) {
  std::vector<PortSpec> out;
  for (const auto& s : in) {
    auto parts = util::Split(s, ':', false);
    if (parts.size() < 2 || parts.size() > 3)
      return Fail(ErrorCode::kInvalidArgument,
                  "port \"" + s + "\" must be NAME:CONTAINER_PORT[:HOST_PORT], e.g. http:8080");
    PortSpec p;
    p.name = parts[0];
    try {
      size_t used = 0;
      p.container_port = std::stoi(parts[1], &used);
      if (used != parts[1].size()) throw std::invalid_argument("x");
      if (parts.size() == 3) {
        p.host_port = std::stoi(parts[2], &used);
        if (used != parts[2].size()) throw std::invalid_argument("x");
      }
    } catch (...) {
      return Fail(ErrorCode::kInvalidArgument, "port \"" + s + "\": ports must be numbers");
    }
    out.push_back(p);
  }
  return out;
}

void PrintView(const GlobalOptions& g, const json& view) {
  Format f = Format::kTable;
  ParseFormat(g.output, f);
  if (f == Format::kJson) return PrintJson(std::cout, view);
  if (f == Format::kYaml) return PrintYaml(std::cout, view);
  const auto& spec = view["spec"];
  const auto& st = view["status"];
  std::cout << "Name:        " << Str(spec, "namespace") << "/" << Str(spec, "name") << "\n"
            << "Image:       " << Str(spec, "image") << "\n"
            << "Phase:       " << Phase(view);
  if (st.is_object() && !Str(st, "reason").empty() && Str(st, "reason") != Phase(view))
    std::cout << " (" << Str(st, "reason") << ")";
  std::cout << "\n";
  if (st.is_object() && !Str(st, "host_ip").empty())
    std::cout << "Host IP:     " << Str(st, "host_ip") << "\n";
  std::cout << "Ports:       ";
  bool first = true;
  for (const auto& p : spec["ports"]) {
    std::string n = p.value("name", "");
    std::cout << (first ? "" : ", ") << n << " " << PortCell(view, n) << "->"
              << p.value("container_port", 0);
    first = false;
  }
  std::cout << "\n";
  if (!spec["domains"].empty()) {
    std::cout << "Domains:     ";
    first = true;
    for (const auto& d : spec["domains"]) {
      std::cout << (first ? "" : ", ") << d.get<std::string>();
      first = false;
    }
    std::cout << "\n";
  }
  if (st.is_object())
    std::cout << "Routed:      " << (st.value("routed", false) ? "yes" : "no") << "\n";
  std::cout << "Volume:      "
            << (Str(spec, "volume_mount").empty() ? "none" : Str(spec, "volume_mount")) << "\n"
            << "Generation:  " << spec.value("generation", 0) << "\n"
            << "Created:     " << Str(spec, "created_at") << "\n";
  if (!Str(spec, "branch").empty()) std::cout << "Branch:      " << Str(spec, "branch") << "\n";
  if (!Str(spec, "expires_at").empty())
    std::cout << "Expires:     " << Str(spec, "expires_at") << " (in "
              << ExpiresIn(Str(spec, "expires_at")) << ", ttl "
              << core::FormatDuration(spec.value("ttl_seconds", int64_t{0}))
              << (spec.value("purge_on_expiry", false) ? ", volume purged then" : "") << ")\n";
  else
    std::cout << "Expires:     never\n";
  if (st.is_object() && !Str(st, "last_error").empty())
    std::cout << "Last error:  " << Str(st, "last_error") << "\n";
  if (st.is_object() && st.contains("events") && !st["events"].empty()) {
    std::cout << "Events:\n";
    for (const auto& e : st["events"])
      std::cout << "  " << Str(e, "time") << "  " << Str(e, "type") << "  " << Str(e, "reason")
                << "  " << Str(e, "message") << RepeatSuffix(e) << "\n";
  }
}

std::string Path(const std::string& ns, const std::string& name) {
  return "/v1/environments/" + ns + "/" + name;
}

}  // namespace

int ReportError(const Error& e) {
  std::cerr << "berth: " << e.message << "\n";
  return ExitCodeFor(e.code);
}

Result<Config> LoadEffectiveConfig(const GlobalOptions& g) {
  auto cfg = LoadConfig(g.config_file);
  if (!cfg) return cfg;
  if (!g.socket.empty()) cfg->socket = g.socket;
  if (g.verbose) spdlog::set_level(spdlog::level::debug);
  return cfg;
}

Endpoint EndpointFor(const GlobalOptions& g, const Config& c) {
  Endpoint ep;
  ep.socket = g.socket.empty() ? c.socket : g.socket;
  ep.server_url = g.server;
  ep.token = g.token;
  return ep;
}

namespace {

// What following an environment's watch stream ended with.
struct Followed {
  bool gone = false;             // a "deleted" line came
  std::optional<Error> failure;  // an "error" line came
};

// Reads the watch stream of ns/name, handing each environment update to `on_update` (which
// returns false to stop); "deleted" and "error" lines end it.
Status Follow(ApiClient& client, const std::string& ns, const std::string& name, int timeout_s,
              Followed& out, const std::function<bool(const json&)>& on_update) {
  return client.StreamLines(
      Path(ns, name) + "/watch?timeout=" + std::to_string(timeout_s), [&](const json& ev) {
        std::string type = ev.value("type", "");
        if (type == "deleted") {
          out.gone = true;
          return false;
        }
        if (type == "error") {
          out.failure = Error{ErrorCodeFromName(ev["error"].value("code", "")),
                              ev["error"].value("message", "")};
          return false;
        }
        return type != "update" || on_update(ev["environment"]);
      });
}

}  // namespace

Result<json> WaitRunning(ApiClient& client, const std::string& ns, const std::string& name,
                         int64_t generation, int timeout_s, bool progress) {
  auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  json last;
  Followed f;
  std::optional<Error>& failure = f.failure;
  bool done = false;
  std::set<std::string> events_shown;  // time|reason|message|count of what was printed
  bool router_enabled = false;
  if (auto info = client.Call("GET", "/v1/info"); info && (*info).contains("components"))
    router_enabled = (*info)["components"].contains("router");
  auto s = Follow(client, ns, name, timeout_s, f, [&](const json& env) {
    last = env;
    const auto& st = last["status"];
    if (!st.is_object()) return true;
    if (progress && st.contains("events")) {
      // Events are bounded and a repeat is folded into an earlier one with a higher count:
      // print each (event, count) once, whatever its position.
      for (const auto& e : st["events"]) {
        std::string key = Str(e, "time") + "|" + Str(e, "reason") + "|" + Str(e, "message") + "|" +
                          std::to_string(e.value("count", 1));
        if (!events_shown.insert(key).second) continue;
        std::fprintf(stderr, "[%5.1fs] %-10s %s%s\n", elapsed(), Str(e, "reason").c_str(),
                     Str(e, "message").c_str(), RepeatSuffix(e).c_str());
      }
    }
    std::string phase = st.value("phase", "");
    int64_t observed = st.value("observed_generation", int64_t{0});
    bool has_route = !last["spec"]["domains"].empty();
    if (phase == "Running" && observed >= generation &&
        (st.value("routed", false) || !router_enabled || !has_route)) {
      done = true;
      return false;
    }
    if (phase == "Failed" && observed < generation && Str(st, "reason") != "Replacing") {
      // Creation failed; with rollback the server removes it next: keep reading for that.
      failure = Error{ErrorCode::kFailed, Str(st, "last_error").empty()
                                              ? "environment failed: " + Str(st, "reason")
                                              : Str(st, "last_error")};
      return last["spec"].value("rollback_on_failure", false);
    }
    if (phase == "Failed" && observed >= generation) {
      failure = Error{ErrorCode::kFailed,
                      "environment failed: " + Str(st, "reason") +
                          (Str(st, "last_error").empty() ? "" : ": " + Str(st, "last_error"))};
      return false;
    }
    return true;
  });
  // The error's class decides the exit code (ExitCodeFor): a server that went away or an engine
  // that does not answer is "unavailable" (6), not a timeout (7) nor a failed environment.
  if (!s && s.error().code == ErrorCode::kUnavailable && !last.is_null())
    return Fail(ErrorCode::kUnavailable,
                "berth serve went away while waiting for " + ns + "/" + name);
  if (!s) return Fail(s.error());
  const json& st = last.is_object() ? last["status"] : json();
  if (failure && failure->code == ErrorCode::kTimeout && st.is_object() &&
      Str(st, "reason") == "RuntimeUnavailable")
    return Fail(ErrorCode::kUnavailable, "timed out after " + std::to_string(timeout_s) +
                                             "s waiting for " + ns + "/" + name + ": " +
                                             Str(st, "last_error"));
  if (failure) {
    Error e = *failure;
    if (f.gone) e.message += " (the environment was removed; nothing is left behind)";
    return Fail(e);
  }
  if (f.gone) return Fail(ErrorCode::kNotFound, "environment " + ns + "/" + name + " was deleted");
  // The server ends a watch with a "deleted" or "error" line (its own timeout included): a
  // stream that simply stops means the server went away.
  if (!done)
    return Fail(ErrorCode::kUnavailable,
                "berth serve went away while waiting for " + ns + "/" + name);
  if (progress) std::fprintf(stderr, "[%5.1fs] ready\n", elapsed());
  return last;
}

Status WaitDeleted(ApiClient& client, const std::string& ns, const std::string& name, int timeout_s,
                   bool progress) {
  Followed f;
  auto start = std::chrono::steady_clock::now();
  auto s = Follow(client, ns, name, timeout_s, f, [](const json&) { return true; });
  if (!s && s.error().code == ErrorCode::kNotFound) return {};
  if (!s) return s;
  if (f.failure) return Fail(*f.failure);
  if (!f.gone)
    return Fail(ErrorCode::kTimeout, "timed out waiting for deletion of " + ns + "/" + name);
  if (progress)
    std::fprintf(stderr, "[%5.1fs] deleted\n",
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return {};
}

void AddEnvironmentCommands(CLI::App& app, GlobalOptions& g, int& rc) {
  // ---- create
  struct CreateArgs {
    std::string name, image, pull_policy, release_mode = "image", controller, mount = "/apps";
    std::string cpu_limit, memory_limit, cpu_request, memory_request;
    std::vector<std::string> env, labels, ports, domains, command;
    int replicas = 1;
    std::string ttl, branch, idle_sleep, reload_cmd;
    bool ttl_given = false, purge_on_expiry = false, reuse = false;
    bool no_volume = false, wait = false, no_wait = false;
    int timeout = 300;
  };
  auto ca = std::make_shared<CreateArgs>();
  auto* create = app.add_subcommand(
      "create", "Create an environment and (by default on a terminal) wait until it runs");
  create->add_option("name", ca->name,
                     "Environment name (DNS label, up to 40 characters; omit with --from-branch)");
  create->add_option("--from-branch", ca->branch,
                     "CI branch: the environment is named after it (berth name-for) and "
                     "labelled berth.dev/branch");
  create->add_flag("--reuse", ca->reuse,
                   "If the environment exists (for the same branch), use it instead of failing");
  create->add_option("-i,--image", ca->image, "Image reference (default: config default_image)");
  create->add_option("-e,--env", ca->env, "Environment variable KEY=VALUE (repeatable)");
  create->add_option("-l,--label", ca->labels, "Label KEY=VALUE (repeatable)");
  create->add_option("-p,--port", ca->ports,
                     "Port NAME:CONTAINER[:HOST] (repeatable; default ssh:22 http:80 https:443)");
  create->add_option("--domain", ca->domains, "Domain (repeatable; default NAME.<base domain>)");
  create->add_option("--pull-policy", ca->pull_policy, "Always (default), IfNotPresent or Never");
  create->add_option("--release-mode", ca->release_mode,
                     "image (code in the image) or code (code on /apps)");
  create->add_option("--reload-cmd", ca->reload_cmd,
                     "Code mode: run this in the container (sh -c) to pick up a release instead "
                     "of restarting it");
  create->add_option("--replicas", ca->replicas, "Replicas (Kubernetes; Docker runs one)");
  create->add_option("--controller", ca->controller, "Kubernetes workload: deployment or rc");
  create->add_option("--cpu-limit", ca->cpu_limit, "CPU limit (default 500m)");
  create->add_option("--memory-limit", ca->memory_limit, "Memory limit (default 2000Mi)");
  create->add_option("--cpu-request", ca->cpu_request, "CPU request (default 10m)");
  create->add_option("--memory-request", ca->memory_request, "Memory request (default 100Mi)");
  create->add_option("--mount", ca->mount,
                     "Where the persistent volume is mounted (default /apps)");
  create->add_flag("--no-volume", ca->no_volume, "No persistent volume");
  create
      ->add_option("--ttl", ca->ttl,
                   "Delete the environment after this long: 90m, 8h, 3d or seconds; 0 = never "
                   "(default: the namespace's default_ttl)")
      ->each([ca](const std::string&) { ca->ttl_given = true; });
  create->add_option("--idle-sleep", ca->idle_sleep,
                     "Sleep after this long without a request through the router (30m, 2h...); "
                     "off = never (default: environments.idle_sleep)");
  create->add_flag("--purge-on-expiry", ca->purge_on_expiry,
                   "When the TTL passes, delete the volume too (default: keep it)");
  create->add_option("--cmd", ca->command, "Command and arguments (repeatable, in order)");
  create->add_flag("--wait", ca->wait, "Wait until Running (default on a terminal)");
  create->add_flag("--no-wait", ca->no_wait, "Return as soon as the environment is accepted");
  create->add_option("--timeout", ca->timeout, "Seconds to wait (default 300)");
  create->callback([&g, &rc, ca] {
    if (!ca->branch.empty()) {
      auto derived = core::NameForBranch(ca->branch);
      if (!derived) return void(rc = ReportError(Wrap(derived.error(), "--from-branch")));
      if (!ca->name.empty() && ca->name != *derived)
        return void(rc = ReportError(Error{ErrorCode::kInvalidArgument,
                                           "give NAME or --from-branch, not both (branch \"" +
                                               ca->branch + "\" is named " + *derived + ")"}));
      ca->name = *derived;
    }
    if (ca->name.empty())
      return void(rc = ReportError(
                      Error{ErrorCode::kInvalidArgument, "a NAME or --from-branch is required"}));
    auto t = OpenTarget(g);
    if (!t) return void(rc = ReportError(t.error()));
    json body = {{"name", ca->name}, {"namespace", t->ns}};
    if (!ca->branch.empty()) body["branch"] = ca->branch;
    if (!ca->image.empty()) body["image"] = ca->image;
    std::map<std::string, std::string> env, labels;
    if (auto s = ParseKv(ca->env, env, "--env"); !s) return void(rc = ReportError(s.error()));
    if (auto s = ParseKv(ca->labels, labels, "--label"); !s)
      return void(rc = ReportError(s.error()));
    if (!env.empty()) body["env"] = env;
    if (!labels.empty()) body["labels"] = labels;
    if (!ca->ports.empty()) {
      auto ports = ParsePorts(ca->ports);
      if (!ports) return void(rc = ReportError(ports.error()));
      json arr = json::array();
      for (const auto& p : *ports)
        arr.push_back(
            {{"name", p.name}, {"container_port", p.container_port}, {"host_port", p.host_port}});
      body["ports"] = arr;
    }
    if (!ca->domains.empty()) body["domains"] = ca->domains;
    if (!ca->pull_policy.empty()) body["pull_policy"] = ca->pull_policy;
    body["release_mode"] = ca->release_mode;
    if (!ca->reload_cmd.empty()) body["reload_command"] = ca->reload_cmd;
    body["replicas"] = ca->replicas;
    if (!ca->controller.empty()) body["controller"] = ca->controller;
    json res = json::object();
    json limits = json::object(), requests = json::object();
    if (!ca->cpu_limit.empty()) limits["cpu"] = ca->cpu_limit;
    if (!ca->memory_limit.empty()) limits["memory"] = ca->memory_limit;
    if (!ca->cpu_request.empty()) requests["cpu"] = ca->cpu_request;
    if (!ca->memory_request.empty()) requests["memory"] = ca->memory_request;
    if (!limits.empty()) res["limits"] = limits;
    if (!requests.empty()) res["requests"] = requests;
    if (!res.empty()) body["resources"] = res;
    body["volume_mount"] = ca->no_volume ? "" : ca->mount;
    if (ca->ttl_given) {
      auto ttl = core::ParseDuration(ca->ttl, "--ttl");
      if (!ttl) return void(rc = ReportError(ttl.error()));
      body["ttl_seconds"] = *ttl;
    }
    if (ca->purge_on_expiry) body["purge_on_expiry"] = true;
    if (!ca->idle_sleep.empty()) {
      if (ca->idle_sleep == "off" || ca->idle_sleep == "never") {
        body["idle_sleep_seconds"] = -1;
      } else {
        auto d = core::ParseDuration(ca->idle_sleep, "--idle-sleep");
        if (!d) return void(rc = ReportError(d.error()));
        if (*d == 0)
          return void(rc = ReportError(Error{ErrorCode::kInvalidArgument,
                                             "--idle-sleep: give a duration, or off"}));
        body["idle_sleep_seconds"] = *d;
      }
    }
    if (!ca->command.empty()) body["command"] = ca->command;
    if (auto s = CheckTarget(t->ns, ca->name); !s) return void(rc = ReportError(s.error()));

    auto created = t->client.Call("POST", "/v1/environments", body.dump());
    if (!created && created.error().code == ErrorCode::kAlreadyExists && ca->reuse) {
      // A pipeline's second run: the branch's environment is already there. Another
      // branch's is not ours to take.
      auto existing = t->client.Call("GET", Path(t->ns, ca->name));
      if (!existing) return void(rc = ReportError(existing.error()));
      const std::string owner = (*existing)["spec"].value("branch", "");
      if (owner != ca->branch) return void(rc = ReportError(created.error()));
      if ((*existing)["spec"].value("deleting", false))
        return void(rc = ReportError(Error{ErrorCode::kConflict,
                                           "environment " + t->ns + "/" + ca->name +
                                               " is being deleted; create it again after"}));
      created = std::move(existing);
    }
    if (!created) return void(rc = ReportError(created.error()));
    bool wait = ca->wait || (!ca->no_wait && Interactive());
    json view = *created;
    if (wait) {
      bool human = g.output == "table" || g.output == "wide";
      auto v = WaitRunning(t->client, view["spec"]["namespace"], ca->name,
                           view["spec"].value("generation", int64_t{1}), ca->timeout,
                           human && ::isatty(STDERR_FILENO));
      if (!v && v.error().code == ErrorCode::kUnavailable) {
        // The create itself succeeded: say so, whatever happened while waiting.
        const std::string ns = view["spec"].value("namespace", t->ns);
        return void(
            rc = ReportError(Error{
                ErrorCode::kUnavailable,
                "environment " + ns + "/" + ca->name + " was accepted and stored, but " +
                    v.error().message + "; it carries on without this command: see `berth view " +
                    ca->name + (ns == t->cfg.default_namespace ? "" : " -n " + ns) + "`"}));
      }
      if (!v) return void(rc = ReportError(v.error()));
      view = *v;
    }
    PrintView(g, view);
  });

  // ---- name-for
  auto branch = std::make_shared<std::string>();
  auto* name_for = app.add_subcommand(
      "name-for", "Print the environment name for a CI branch (what create --from-branch uses)");
  name_for->add_option("branch", *branch, "Branch name, e.g. \"feature/JIRA-123_Add stuff\"")
      ->required();
  name_for->callback([&g, &rc, branch] {
    auto n = core::NameForBranch(*branch);
    if (!n) return void(rc = ReportError(n.error()));
    if (g.output == "json")
      PrintJson(std::cout, json{{"branch", *branch}, {"name", *n}});
    else
      std::cout << *n << "\n";
  });

  // ---- list
  auto* list = app.add_subcommand("list", "List environments");
  list->alias("ls");
  auto all = std::make_shared<bool>(false);
  list->add_flag("-A,--all-namespaces", *all, "Every namespace");
  list->callback([&g, &rc, all] {
    auto t = OpenTarget(g);
    if (!t) return void(rc = ReportError(t.error()));
    std::string ns = *all ? "" : t->ns;
    if (!ns.empty())
      if (auto s = ValidateNamespace(ns); !s) return void(rc = ReportError(s.error()));
    Format f = Format::kTable;
    ParseFormat(g.output, f);
    if (f == Format::kJson || f == Format::kYaml) {
      auto r = t->client.Call(
          "GET", "/v1/environments" + (ns.empty() ? std::string() : "?namespace=" + ns));
      if (!r) return void(rc = ReportError(r.error()));
      if (f == Format::kJson) return PrintJson(std::cout, (*r)["items"]);
      return PrintYaml(std::cout, (*r)["items"]);
    }
    // The server prints the table (?view=table): with thousands of environments the client
    // has only short strings to lay out.
    auto r = t->client.CallRaw(
        "GET", "/v1/environments?view=table" + (ns.empty() ? std::string() : "&namespace=" + ns));
    if (!r) return void(rc = ReportError(r.error()));
    if (auto s = PrintServerTable(std::cout, *r); !s) rc = ReportError(s.error());
  });

  // ---- view
  auto* view = app.add_subcommand("view", "Show one environment");
  view->alias("get");
  auto vname = std::make_shared<std::string>();
  view->add_option("name", *vname, "Environment name")->required()->type_name(kEnvironmentArg);
  view->callback([&g, &rc, vname] {
    auto t = ResolveTarget(g, *vname);
    if (!t) return void(rc = ReportError(t.error()));
    auto r = t->client.Call("GET", Path(t->ns, *vname));
    if (!r) return void(rc = ReportError(r.error()));
    PrintView(g, *r);
    Format f = Format::kTable;
    ParseFormat(g.output, f);
    if (f != Format::kTable) return;
    // What it uses, when the server can say (a sleeping one, or a cluster without metrics,
    // cannot): one line, never a failure of `view`.
    auto u = t->client.Call("GET", Path(t->ns, *vname) + "/usage");
    std::cout << "Usage:       " << (u ? UsageLine(*u) : "- (" + u.error().message + ")") << "\n";
    // The current release (docs/releases.md), when there is one.
    if (auto rel = t->client.Call("GET", Path(t->ns, *vname) + "/releases"); rel) {
      for (const auto& x : (*rel)["items"])
        if (x.value("current", false))
          std::cout << "Release:     " << Str(x, "id") << " (" << Str(x, "mode") << " "
                    << (Str(x, "mode") == "image" ? Str(x, "image")
                                                  : Str(x, "digest").substr(0, 19))
                    << ", " << Str(x, "created_at") << ")"
                    << (Str(x, "message").empty() ? "" : " " + Str(x, "message")) << "\n";
    }
  });

  // ---- rebuild
  struct RebuildArgs {
    std::string name, image;
    bool wait = false, no_wait = false;
    int timeout = 300;
  };
  auto ra = std::make_shared<RebuildArgs>();
  auto* rebuild = app.add_subcommand(
      "rebuild", "Replace the container (pulling the image again); ports and /apps are kept");
  rebuild->add_option("name", ra->name, "Environment name")->required()->type_name(kEnvironmentArg);
  rebuild->add_option("-i,--image", ra->image, "Switch to this image");
  rebuild->add_flag("--wait", ra->wait,
                    "Wait until the new container runs (default on a terminal)");
  rebuild->add_flag("--no-wait", ra->no_wait, "Return at once");
  rebuild->add_option("--timeout", ra->timeout, "Seconds to wait (default 300)");
  rebuild->callback([&g, &rc, ra] {
    auto t = ResolveTarget(g, ra->name);
    if (!t) return void(rc = ReportError(t.error()));
    json body = json::object();
    if (!ra->image.empty()) body["image"] = ra->image;
    auto r = t->client.Call("POST", Path(t->ns, ra->name) + "/rebuild", body.dump());
    if (!r) return void(rc = ReportError(r.error()));
    json v = *r;
    if (ra->wait || (!ra->no_wait && Interactive())) {
      auto w = WaitRunning(t->client, t->ns, ra->name, v["spec"].value("generation", int64_t{1}),
                           ra->timeout, (g.output == "table") && ::isatty(STDERR_FILENO));
      if (!w) return void(rc = ReportError(w.error()));
      v = *w;
    }
    PrintView(g, v);
  });

  // ---- extend
  struct ExtendArgs {
    std::string name, ttl;
  };
  auto ea = std::make_shared<ExtendArgs>();
  auto* extend = app.add_subcommand(
      "extend", "Set an environment to expire a TTL from now (--ttl 4h), or never (--ttl 0)");
  extend->add_option("name", ea->name, "Environment name")->required()->type_name(kEnvironmentArg);
  extend->add_option("--ttl", ea->ttl, "From now: 90m, 8h, 3d or seconds; 0 = never")->required();
  extend->callback([&g, &rc, ea] {
    auto ttl = core::ParseDuration(ea->ttl, "--ttl");
    if (!ttl) return void(rc = ReportError(ttl.error()));
    auto t = ResolveTarget(g, ea->name);
    if (!t) return void(rc = ReportError(t.error()));
    auto r = t->client.Call("POST", Path(t->ns, ea->name) + "/extend",
                            json{{"ttl_seconds", *ttl}}.dump());
    if (!r) return void(rc = ReportError(r.error()));
    Format f = Format::kTable;
    ParseFormat(g.output, f);
    if (f != Format::kTable) return PrintView(g, *r);
    const std::string at = Str((*r)["spec"], "expires_at");
    std::cout << "environment " << t->ns << "/" << ea->name
              << (at.empty() ? " never expires"
                             : " expires at " + at + " (in " + ExpiresIn(at) + ")")
              << "\n";
  });

  // ---- sleep / wake
  struct SleepArgs {
    std::string name;
    bool wait = false;
    int timeout = 300;
  };
  auto sa = std::make_shared<SleepArgs>();
  auto* sleep_cmd = app.add_subcommand(
      "sleep", "Stop an environment's workload; ports, /apps, domains and route are kept");
  sleep_cmd->add_option("name", sa->name, "Environment name")
      ->required()
      ->type_name(kEnvironmentArg);
  sleep_cmd->add_flag("--wait", sa->wait, "Wait until the workload has stopped (phase Sleeping)");
  sleep_cmd->add_option("--timeout", sa->timeout, "Seconds to wait (default 300)");
  sleep_cmd->callback([&g, &rc, sa] {
    auto t = ResolveTarget(g, sa->name);
    if (!t) return void(rc = ReportError(t.error()));
    auto r = t->client.Call("POST", Path(t->ns, sa->name) + "/sleep", "{}");
    if (!r) return void(rc = ReportError(r.error()));
    json v = *r;
    if (sa->wait) {
      Followed f;
      auto s = Follow(t->client, t->ns, sa->name, sa->timeout, f, [&](const json& env) {
        v = env;
        return Phase(env) != "Sleeping";
      });
      if (!s) return void(rc = ReportError(s.error()));
      if (f.failure) return void(rc = ReportError(*f.failure));
      if (f.gone)
        return void(rc = ReportError(Error{ErrorCode::kNotFound, "environment " + t->ns + "/" +
                                                                     sa->name + " was deleted"}));
    }
    Format f = Format::kTable;
    ParseFormat(g.output, f);
    if (f != Format::kTable) return PrintView(g, v);
    std::cout << "environment " << t->ns << "/" << sa->name
              << (Phase(v) == "Sleeping" ? " is sleeping" : " is going to sleep")
              << "; a request to it or `berth wake " << sa->name << "` wakes it\n";
  });

  struct WakeArgs {
    std::string name;
    bool wait = false;
    int timeout = 300;
  };
  auto wk = std::make_shared<WakeArgs>();
  auto* wake = app.add_subcommand("wake", "Start a sleeping environment again");
  wake->add_option("name", wk->name, "Environment name")->required()->type_name(kEnvironmentArg);
  wake->add_flag("--wait", wk->wait, "Wait until it runs (and is routed) again");
  wake->add_option("--timeout", wk->timeout, "Seconds to wait (default 300)");
  wake->callback([&g, &rc, wk] {
    auto t = ResolveTarget(g, wk->name);
    if (!t) return void(rc = ReportError(t.error()));
    auto r = t->client.Call("POST", Path(t->ns, wk->name) + "/wake", "{}");
    if (!r) return void(rc = ReportError(r.error()));
    json v = *r;
    if (wk->wait) {
      auto w = WaitRunning(t->client, t->ns, wk->name, v["spec"].value("generation", int64_t{1}),
                           wk->timeout, (g.output == "table") && ::isatty(STDERR_FILENO));
      if (!w) return void(rc = ReportError(w.error()));
      v = *w;
      return PrintView(g, v);
    }
    Format f = Format::kTable;
    ParseFormat(g.output, f);
    if (f != Format::kTable) return PrintView(g, v);
    std::cout << "environment " << t->ns << "/" << wk->name
              << (Phase(v) == "Sleeping" || Phase(v) == "Pending" ? " is waking up" : " is awake")
              << "\n";
  });

  // ---- delete
  struct DeleteArgs {
    std::string name;
    bool purge = false, wait = false, no_wait = false;
    int timeout = 300;
  };
  auto da = std::make_shared<DeleteArgs>();
  auto* del =
      app.add_subcommand("delete", "Delete an environment (its /apps data is kept unless --purge)");
  del->alias("rm");
  del->add_option("name", da->name, "Environment name")->required()->type_name(kEnvironmentArg);
  del->add_flag("--purge", da->purge, "Also delete the persistent volume and its data");
  del->add_flag("--wait", da->wait, "Wait until everything is gone (default on a terminal)");
  del->add_flag("--no-wait", da->no_wait, "Return at once");
  del->add_option("--timeout", da->timeout, "Seconds to wait (default 300)");
  del->callback([&g, &rc, da] {
    auto t = ResolveTarget(g, da->name);
    if (!t) return void(rc = ReportError(t.error()));
    auto r = t->client.Call("DELETE", Path(t->ns, da->name) + (da->purge ? "?purge=true" : ""));
    if (!r) return void(rc = ReportError(r.error()));
    if (da->wait || (!da->no_wait && Interactive())) {
      if (auto s = WaitDeleted(t->client, t->ns, da->name, da->timeout, ::isatty(STDERR_FILENO));
          !s)
        return void(rc = ReportError(s.error()));
    }
    if (g.output == "json")
      PrintJson(std::cout, json{{"namespace", t->ns}, {"name", da->name}, {"deleted", true}});
    else
      std::cout << "environment " << t->ns << "/" << da->name << " deleted\n";
  });

  // ---- wait
  struct WaitArgs {
    std::string name, for_what = "running";
    int timeout = 300;
  };
  auto wa = std::make_shared<WaitArgs>();
  auto* waitc = app.add_subcommand(
      "wait", "Wait until an environment runs its latest generation, or is deleted");
  waitc->add_option("name", wa->name, "Environment name")->required()->type_name(kEnvironmentArg);
  waitc->add_option("--for", wa->for_what, "running (default) or deleted")
      ->check(CLI::IsMember({"running", "deleted"}));
  waitc->add_option("--timeout", wa->timeout, "Seconds to wait (default 300)");
  waitc->callback([&g, &rc, wa] {
    auto t = ResolveTarget(g, wa->name);
    if (!t) return void(rc = ReportError(t.error()));
    bool progress = ::isatty(STDERR_FILENO);
    if (wa->for_what == "deleted") {
      if (auto s = WaitDeleted(t->client, t->ns, wa->name, wa->timeout, progress); !s)
        rc = ReportError(s.error());
      return;
    }
    auto cur = t->client.Call("GET", Path(t->ns, wa->name));
    if (!cur) return void(rc = ReportError(cur.error()));
    auto v = WaitRunning(t->client, t->ns, wa->name, (*cur)["spec"].value("generation", int64_t{1}),
                         wa->timeout, progress && g.output == "table");
    if (!v) return void(rc = ReportError(v.error()));
    PrintView(g, *v);
  });

  // ---- logs
  struct LogsArgs {
    std::string name;
    bool follow = false, timestamps = false;
    int tail = -1;
  };
  auto la = std::make_shared<LogsArgs>();
  auto* logs = app.add_subcommand("logs", "Print an environment's container output");
  logs->add_option("name", la->name, "Environment name")->required()->type_name(kEnvironmentArg);
  logs->add_flag("-f,--follow", la->follow, "Keep streaming new output");
  logs->add_option("--tail", la->tail, "Only the last N lines");
  logs->add_flag("-t,--timestamps", la->timestamps, "Prefix lines with timestamps");
  logs->callback([&g, &rc, la] {
    auto t = ResolveTarget(g, la->name);
    if (!t) return void(rc = ReportError(t.error()));
    if (auto r = t->client.Call("GET", Path(t->ns, la->name)); !r)
      return void(rc = ReportError(r.error()));
    std::string q = "?follow=" + std::string(la->follow ? "true" : "false") +
                    "&tail=" + std::to_string(la->tail) +
                    (la->timestamps ? "&timestamps=true" : "");
    auto s = t->client.StreamText(Path(t->ns, la->name) + "/logs" + q, [](std::string_view chunk) {
      std::cout.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      std::cout.flush();
      return true;
    });
    if (!s) rc = ReportError(s.error());
  });
}

}  // namespace berth::cli
