// The route record: the original platform's etcd value under /devnginx/<namespace>/<name>.
// {"name": ..., "http_port": ..., "https_port": ..., "domain": "a.b c.d", "host_ip": ...}
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "berth/environment.h"
#include "berth/result.h"

namespace berth {

struct Route {
  std::string ns;  // from the key, not the value
  std::string name;
  int http_port = 0;
  int https_port = 0;
  std::vector<std::string> domains;  // "domain" in the JSON, space separated
  std::string host_ip;
  // The installation that wrote it (an added field, after the original's; confd templates
  // ignore it). "" = written by a release before installation ids.
  std::string installation;
  // The environment sleeps (an added field, written only when true): the router wakes it on a
  // request instead of proxying to a stopped workload.
  bool sleeping = false;

  bool operator==(const Route&) const = default;
};

// Serializes in the original's field order and Python json.dumps spacing.
std::string SerializeRoute(const Route& r);
// Parses and validates a record read from a store: anything that could break out of an
// nginx block (quotes, ;, {}, $, whitespace in names, bad ports, bad IPs) is rejected.
Result<Route> ParseRoute(std::string_view key, std::string_view value);
// The "installation" field of a route record's JSON, "" when absent or unreadable: whose
// record it is, for deleting only one's own.
std::string RouteInstallation(std::string_view value);
// The route of a Running environment.
Route RouteFor(const EnvironmentSpec& spec, const std::string& host_ip,
               const std::map<std::string, int>& ports);

}  // namespace berth
