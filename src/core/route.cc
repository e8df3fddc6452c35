// The route record: serialization in the original's byte layout and strict parsing of records
// read from a store (they end up inside nginx configs).
#include "berth/route.h"

#include <nlohmann/json.hpp>

#include "berth/store.h"
#include "berth/validate.h"
#include "util/strict_json.h"
#include "util/strings.h"

namespace berth {

namespace {

// Records are small; anything bigger is not a route.
constexpr size_t kMaxRecordBytes = 16 * 1024;
constexpr size_t kMaxDomains = 64;

// Never throws: a key read from a store may hold bytes that are not UTF-8 (dump() would throw).
std::string Quote(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<int> PortField(const nlohmann::json& j, const char* field, bool allow_zero) {
  if (!j.contains(field)) {
    if (allow_zero) return 0;
    return Fail(ErrorCode::kInvalidArgument, std::string("missing \"") + field + "\"");
  }
  // Python's json.dumps writes ints; a string, float or bool here is not the original's format.
  // StrictInt compares the number as written: get<int64_t>() would wrap a uint64 above 2^63.
  auto p = util::StrictInt(j.at(field), field, allow_zero ? 0 : 1, 65535);
  if (!p) return Fail(p.error());
  return static_cast<int>(*p);
}

Result<std::string> StringField(const nlohmann::json& j, const char* field) {
  if (!j.contains(field)) {
    return Fail(ErrorCode::kInvalidArgument, std::string("missing \"") + field + "\"");
  }
  const auto& v = j.at(field);
  if (!v.is_string()) {
    return Fail(ErrorCode::kInvalidArgument, std::string("\"") + field + "\" is not a string");
  }
  return v.get<std::string>();
}

}  // namespace

std::string SerializeRoute(const Route& r) {
  // json.dumps(dict) with the original's insertion order: name, http_port, https_port, domain,
  // host_ip; ", " between items and ": " after keys.
  std::string out = "{\"name\": " + Quote(r.name);
  out += ", \"http_port\": " + std::to_string(r.http_port);
  out += ", \"https_port\": " + std::to_string(r.https_port);
  out += ", \"domain\": " + Quote(util::Join(r.domains, " "));
  out += ", \"host_ip\": " + Quote(r.host_ip);
  if (!r.installation.empty()) out += ", \"installation\": " + Quote(r.installation);
  if (r.sleeping) out += ", \"sleeping\": true";
  out += "}";
  return out;
}

Result<Route> ParseRoute(std::string_view key, std::string_view value) {
  auto bad = [&](const std::string& why) {
    // Quoted: keys and values may carry newlines that must not forge log lines.
    return Fail(ErrorCode::kInvalidArgument, "route " + Quote(std::string(key)) + ": " + why);
  };
  const std::string_view prefix = store::keys::kRoutes;
  if (key.substr(0, prefix.size()) != prefix) return bad("key is not under " + std::string(prefix));
  auto parts = util::Split(key.substr(prefix.size()), '/', /*skip_empty=*/false);
  if (parts.size() != 2) return bad("key is not " + std::string(prefix) + "<namespace>/<name>");
  Route r;
  r.ns = parts[0];
  if (auto s = ValidateNamespace(r.ns); !s) return bad("namespace: " + s.error().message);
  const std::string key_name = parts[1];
  if (auto s = ValidateName(key_name); !s) return bad("name in key: " + s.error().message);

  if (value.size() > kMaxRecordBytes) return bad("record larger than 16 KiB");
  nlohmann::json j = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return bad("value is not JSON");
  if (!j.is_object()) return bad("value is not a JSON object");

  auto name = StringField(j, "name");
  if (!name) return bad(name.error().message);
  if (auto s = ValidateName(*name); !s) return bad("name: " + s.error().message);
  if (*name != key_name) return bad("name " + Quote(*name) + " does not match the key");
  r.name = *name;

  auto http = PortField(j, "http_port", /*allow_zero=*/false);
  if (!http) return bad(http.error().message);
  r.http_port = *http;
  auto https = PortField(j, "https_port", /*allow_zero=*/true);
  if (!https) return bad(https.error().message);
  r.https_port = *https;

  auto domain = StringField(j, "domain");
  if (!domain) return bad(domain.error().message);
  // Split on single spaces only: a tab or newline stays inside a token and fails validation.
  for (auto& d : util::Split(*domain, ' ', /*skip_empty=*/true)) {
    if (auto s = ValidateDomain(d); !s) return bad("domain " + Quote(d) + " is invalid");
    bool dup = false;
    for (const auto& have : r.domains) dup = dup || have == d;
    if (!dup) r.domains.push_back(d);
  }
  if (r.domains.empty()) return bad("no domain");
  if (r.domains.size() > kMaxDomains) return bad("more than 64 domains");

  auto ip = StringField(j, "host_ip");
  if (!ip) return bad(ip.error().message);
  if (auto s = ValidateHostIp(*ip); !s) return bad("host_ip: " + s.error().message);
  r.host_ip = *ip;
  if (auto it = j.find("installation"); it != j.end()) {
    if (!it->is_string()) return bad("installation is not a string");
    r.installation = it->get<std::string>();
  }
  if (auto it = j.find("sleeping"); it != j.end()) {
    if (!it->is_boolean()) return bad("sleeping is not a boolean");
    r.sleeping = it->get<bool>();
  }
  return r;
}

std::string RouteInstallation(std::string_view value) {
  if (value.size() > kMaxRecordBytes) return "";
  nlohmann::json j = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return "";
  auto it = j.find("installation");
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

Route RouteFor(const EnvironmentSpec& spec, const std::string& host_ip,
               const std::map<std::string, int>& ports) {
  Route r;
  r.ns = spec.ns;
  r.name = spec.name;
  if (auto it = ports.find("http"); it != ports.end()) r.http_port = it->second;
  if (auto it = ports.find("https"); it != ports.end()) r.https_port = it->second;
  r.domains = spec.domains;
  r.host_ip = host_ip;
  return r;
}

}  // namespace berth
