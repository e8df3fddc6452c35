#include "cli/status_cmd.h"

#include <iostream>

#include "cli/output.h"
#include "cli/target.h"

namespace berth::cli {

using nlohmann::json;

namespace {

std::string Str(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key)) return "-";
  const auto& v = j[key];
  if (v.is_string()) return v.get<std::string>().empty() ? "-" : v.get<std::string>();
  if (v.is_null()) return "-";
  return v.dump();
}

void PrintHuman(const json& info) {
  const json comps = info.value("components", json::object());
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"version", Str(info, "version")});
  rows.push_back({"installation", Str(comps, "installation")});
  rows.push_back({"runtime", Str(comps, "runtime")});
  if (comps.contains("engine") && comps["engine"].is_object()) {
    const auto& e = comps["engine"];
    if (!e.value("checked", false))
      rows.push_back({"engine", "not checked yet"});
    else if (e.value("reachable", false))
      rows.push_back({"engine", "reachable since " + Str(e, "since")});
    else
      rows.push_back({"engine", "unreachable since " + Str(e, "since") + ": " + Str(e, "error")});
  }
  rows.push_back({"volumes", Str(comps, "volumes")});
  if (comps.contains("router") && comps["router"].is_object()) {
    const auto& r = comps["router"];
    rows.push_back({"router", Str(r, "mode") + " on " + Str(r, "http_listen") + ", " +
                                  Str(r, "routes") + " routes, " + Str(r, "reloads") +
                                  " reloads, " + Str(r, "rejected") + " rejected"});
    if (Str(r, "last_error") != "-") rows.push_back({"router error", Str(r, "last_error")});
  } else {
    rows.push_back({"router", "off"});
  }
  const json le = comps.value("leader_election", json());
  if (le.is_object()) {
    rows.push_back({"replica", Str(le, "identity")});
    rows.push_back({"controller", le.value("leader", false)
                                      ? std::string("running here (leader)")
                                      : "on " + Str(le, "holder") + " (this replica follows)"});
  } else {
    rows.push_back({"controller", "running here (single replica)"});
  }
  rows.push_back({"domains", info.contains("base_domains") ? info["base_domains"].dump() : "-"});
  rows.push_back({"host ip", Str(info, "host_ip")});
  const json api = info.value("api", json::object());
  if (Str(api, "listen_http") != "-")
    rows.push_back({"api tcp", Str(api, "listen_http") + " (auth: " + Str(api, "auth") + ")"});
  PrintTable(std::cout, {"FIELD", "VALUE"}, rows);
}

}  // namespace

void AddStatusCommand(CLI::App& app, GlobalOptions& g, int& rc) {
  auto* status = app.add_subcommand(
      "status", "Show the server: version, runtime, router, and which replica runs the controller");
  status->callback([&] {
    auto t = OpenTarget(g);
    if (!t) {
      rc = ReportError(t.error());
      return;
    }
    Format fmt;
    if (!ParseFormat(g.output, fmt)) fmt = Format::kTable;
    auto info = t->client.Call("GET", "/v1/info");
    if (!info) {
      rc = ReportError(info.error());
      return;
    }
    if (fmt == Format::kJson)
      PrintJson(std::cout, *info);
    else if (fmt == Format::kYaml)
      PrintYaml(std::cout, *info);
    else
      PrintHuman(*info);
    rc = 0;
  });
}

}  // namespace berth::cli
