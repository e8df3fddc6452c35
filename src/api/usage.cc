#include "api/usage.h"

#include <charconv>
#include <optional>

#include "core/duration.h"

namespace berth::api {

using nlohmann::json;

namespace {

template <typename T>
json OrNull(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

std::string Number(double d) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  if (ec != std::errc()) return "NaN";
  return std::string(buf, end);
}

}  // namespace

json UsageJson(const runtime::UsageReport& r) {
  json j = {{"namespace", r.ns}, {"name", r.name}};
  const runtime::WorkloadUsage u = r.usage.value_or(runtime::WorkloadUsage{});
  const bool have = r.usage.has_value();
  j["sampled_at"] = have ? json(core::FormatRfc3339Utc(r.sampled_at_ms / 1000)) : json(nullptr);
  j["cpu_seconds_total"] = OrNull(u.cpu_seconds);
  j["cpu_cores"] = OrNull(r.cpu_cores);
  j["memory_bytes"] = OrNull(u.memory_bytes);
  j["memory_limit_bytes"] = OrNull(u.memory_limit_bytes);
  j["network_receive_bytes_total"] = OrNull(u.network_rx_bytes);
  j["network_transmit_bytes_total"] = OrNull(u.network_tx_bytes);
  j["restarts"] = have ? json(u.restarts) : json(nullptr);
  j["error"] = r.error.empty() ? json(nullptr) : json(r.error);
  return j;
}

json UsageHistoryJson(const std::string& ns, const std::string& name, int64_t interval_ms,
                      const std::vector<runtime::UsageRates>& points) {
  json pts = json::array();
  for (const auto& p : points)
    pts.push_back({{"at", core::FormatRfc3339Utc(p.at_ms / 1000)},
                   {"cpu_cores", OrNull(p.cpu_cores)},
                   {"memory_bytes", OrNull(p.memory_bytes)},
                   {"memory_limit_bytes", OrNull(p.memory_limit_bytes)},
                   {"network_receive_bytes_per_second", OrNull(p.network_rx_per_second)},
                   {"network_transmit_bytes_per_second", OrNull(p.network_tx_per_second)},
                   {"requests_per_minute", OrNull(p.requests_per_minute)},
                   {"restarts", p.restarts}});
  return {{"namespace", ns},
          {"name", name},
          {"interval_seconds", static_cast<double>(interval_ms) / 1000.0},
          {"points", std::move(pts)}};
}

std::string PromEscapeLabel(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string UsageMetricsText(const std::vector<runtime::UsageReport>& reports) {
  struct Family {
    const char* name;
    const char* type;
    const char* help;
    std::function<std::optional<double>(const runtime::WorkloadUsage&)> get;
  };
  auto d = [](const std::optional<int64_t>& v) {
    return v ? std::optional<double>(static_cast<double>(*v)) : std::nullopt;
  };
  const std::vector<Family> families = {
      {"berth_environment_cpu_seconds_total", "counter",
       "CPU time used by the environment's containers, in seconds.",
       [](const runtime::WorkloadUsage& u) { return u.cpu_seconds; }},
      {"berth_environment_cpu_usage_cores", "gauge",
       "CPU cores in use, where the source reports a rate (the Kubernetes metrics API).",
       [](const runtime::WorkloadUsage& u) { return u.cpu_cores; }},
      {"berth_environment_memory_bytes", "gauge", "Memory in use by the environment, in bytes.",
       [&](const runtime::WorkloadUsage& u) { return d(u.memory_bytes); }},
      {"berth_environment_memory_limit_bytes", "gauge",
       "Memory limit of the environment, in bytes.",
       [&](const runtime::WorkloadUsage& u) { return d(u.memory_limit_bytes); }},
      {"berth_environment_network_receive_bytes_total", "counter",
       "Bytes received by the environment.",
       [&](const runtime::WorkloadUsage& u) { return d(u.network_rx_bytes); }},
      {"berth_environment_network_transmit_bytes_total", "counter",
       "Bytes sent by the environment.",
       [&](const runtime::WorkloadUsage& u) { return d(u.network_tx_bytes); }},
      {"berth_environment_restarts_total", "counter", "Restarts of the environment's containers.",
       [](const runtime::WorkloadUsage& u) {
         return std::optional<double>(static_cast<double>(u.restarts));
       }},
  };
  std::string out;
  for (const auto& f : families) {
    out +=
        std::string("# HELP ") + f.name + " " + f.help + "\n# TYPE " + f.name + " " + f.type + "\n";
    for (const auto& r : reports) {
      if (!r.usage) continue;
      auto v = f.get(*r.usage);
      if (!v) continue;
      out += std::string(f.name) + "{namespace=\"" + PromEscapeLabel(r.ns) + "\",name=\"" +
             PromEscapeLabel(r.name) + "\"} " + Number(*v) + "\n";
    }
  }
  return out;
}

}  // namespace berth::api
