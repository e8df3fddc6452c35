#include "cli/top_cmd.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <thread>
#include <tuple>

#include "berth/validate.h"
#include "cli/output.h"
#include "cli/target.h"

namespace berth::cli {

using nlohmann::json;

std::string FormatBytes(const json& v) {
  if (!v.is_number()) return "-";
  const double b = v.get<double>();
  const char* units[] = {"B", "Ki", "Mi", "Gi", "Ti"};
  double x = b;
  int u = 0;
  while (x >= 1024 && u < 4) {
    x /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%.0fB", x);
  else if (x >= 100 || x == static_cast<double>(static_cast<int64_t>(x)))
    std::snprintf(buf, sizeof buf, "%.0f%s", x, units[u]);
  else
    std::snprintf(buf, sizeof buf, "%.1f%s", x, units[u]);
  return buf;
}

std::string FormatCores(const json& v) {
  if (!v.is_number()) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v.get<double>());
  return buf;
}

std::string UsageLine(const json& item) {
  std::string out = "CPU " + FormatCores(item.value("cpu_cores", json())) + " cores, memory " +
                    FormatBytes(item.value("memory_bytes", json())) + " / " +
                    FormatBytes(item.value("memory_limit_bytes", json())) + ", net in " +
                    FormatBytes(item.value("network_receive_bytes_total", json())) + " out " +
                    FormatBytes(item.value("network_transmit_bytes_total", json())) + ", restarts ";
  const json r = item.value("restarts", json());
  out += r.is_number_integer() ? std::to_string(r.get<int64_t>()) : "-";
  return out;
}

namespace {

double Num(const json& item, const char* k) {
  auto it = item.find(k);
  return it != item.end() && it->is_number() ? it->get<double>() : -1;
}

std::string S(const json& item, const char* k) {
  auto it = item.find(k);
  return it != item.end() && it->is_string() ? it->get<std::string>() : "";
}

bool NeedsSecondSample(const json& items) {
  for (const auto& i : items)
    if (i.value("cpu_cores", json()).is_null() && i.value("cpu_seconds_total", json()).is_number())
      return true;
  return false;
}

}  // namespace

void SortUsage(std::vector<json>& items, const std::string& by) {
  std::stable_sort(items.begin(), items.end(), [&](const json& a, const json& b) {
    auto key = [](const json& i) { return std::make_tuple(S(i, "namespace"), S(i, "name")); };
    if (by == "cpu" || by == "memory") {
      const char* k = by == "cpu" ? "cpu_cores" : "memory_bytes";
      if (Num(a, k) != Num(b, k)) return Num(a, k) > Num(b, k);
    }
    return key(a) < key(b);
  });
}

void AddTopCommand(CLI::App& app, GlobalOptions& g, int& rc) {
  struct TopArgs {
    bool all = false;
    std::string sort = "cpu";
  };
  auto a = std::make_shared<TopArgs>();
  auto* top = app.add_subcommand(
      "top", "What each environment uses: CPU, memory, network, restarts (sorted table)");
  top->add_flag("-A,--all-namespaces", a->all, "Every namespace");
  top->add_option("--sort", a->sort, "Sort by cpu, memory (highest first) or name")
      ->check(CLI::IsMember({"cpu", "memory", "name"}))
      ->default_str("cpu");
  top->callback([&g, &rc, a] {
    auto t = OpenTarget(g);
    if (!t) return void(rc = ReportError(t.error()));
    Format f = Format::kTable;
    if (!ParseFormat(g.output, f))
      return void(rc = ReportError(Error(ErrorCode::kInvalidArgument,
                                         "output format must be table, json or yaml")));
    std::string ns = a->all ? "" : t->ns;
    if (!ns.empty())
      if (auto s = ValidateNamespace(ns); !s) return void(rc = ReportError(s.error()));
    const std::string path = "/v1/usage" + (ns.empty() ? "" : "?namespace=" + ns);
    auto r = t->client.Call("GET", path);
    if (!r) return void(rc = ReportError(r.error()));
    // A CPU rate needs two samples: an environment sampled once gets its second ~1 s later.
    if (NeedsSecondSample((*r)["items"])) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1100));
      r = t->client.Call("GET", path);
      if (!r) return void(rc = ReportError(r.error()));
    }
    std::vector<json> items((*r)["items"].begin(), (*r)["items"].end());
    SortUsage(items, a->sort);
    if (f == Format::kJson) return PrintJson(std::cout, json(items));
    if (f == Format::kYaml) return PrintYaml(std::cout, json(items));
    std::vector<std::vector<std::string>> rows;
    for (const auto& i : items) {
      const json restarts = i.value("restarts", json());
      rows.push_back({S(i, "namespace"), S(i, "name"), FormatCores(i.value("cpu_cores", json())),
                      FormatBytes(i.value("memory_bytes", json())),
                      FormatBytes(i.value("memory_limit_bytes", json())),
                      FormatBytes(i.value("network_receive_bytes_total", json())),
                      FormatBytes(i.value("network_transmit_bytes_total", json())),
                      restarts.is_number_integer() ? std::to_string(restarts.get<int64_t>())
                      : S(i, "error").empty()      ? "-"
                                                   : "- (" + S(i, "error") + ")"});
    }
    PrintTable(
        std::cout,
        {"NAMESPACE", "NAME", "CPU(cores)", "MEMORY", "LIMIT", "NET-IN", "NET-OUT", "RESTARTS"},
        rows);
  });
}

}  // namespace berth::cli
