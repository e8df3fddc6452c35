// What each environment uses, as the API serves it: the JSON of `GET /v1/usage` and
// `GET /v1/environments/{ns}/{name}/usage`, and the per-environment families of /metrics in
// the Prometheus text format (counters stay counters; label values escaped).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/environment.h"
#include "berth/runtime.h"

namespace berth::api {

// The usage of one environment (berth serve's sampler): the cached sample, or with
// `sample_if_stale` a fresh one when the cache has none recent.
using UsageFn = std::function<runtime::UsageReport(const EnvironmentSpec&, bool sample_if_stale)>;

// {"namespace", "name", "sampled_at" (RFC 3339 or null), "cpu_seconds_total", "cpu_cores",
//  "memory_bytes", "memory_limit_bytes", "network_receive_bytes_total",
//  "network_transmit_bytes_total", "restarts", "error"}; figures the engine did not report are
//  null.
nlohmann::json UsageJson(const runtime::UsageReport& r);

// The kept samples of one environment, oldest first, for the dashboard's charts
// (`GET /v1/environments/{ns}/{name}/usage/history`).
using UsageHistoryFn = std::function<std::vector<runtime::UsageRates>(const std::string& key)>;

// {"namespace", "name", "interval_seconds", "points": [{"at", "cpu_cores", "memory_bytes",
//  "memory_limit_bytes", "network_receive_bytes_per_second",
//  "network_transmit_bytes_per_second", "requests_per_minute", "restarts"}]}; a figure the
//  source did not give is null.
nlohmann::json UsageHistoryJson(const std::string& ns, const std::string& name, int64_t interval_ms,
                                const std::vector<runtime::UsageRates>& points);

// A label value escaped for the Prometheus text format: \ -> \\, " -> \", newline -> \n.
std::string PromEscapeLabel(std::string_view v);

// The berth_environment_* families (HELP, TYPE, one line per environment with a sample).
std::string UsageMetricsText(const std::vector<runtime::UsageReport>& reports);

}  // namespace berth::api
