#include "api/api_server.h"

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>

#include <charconv>
#include <optional>
#include <set>

#include "api/dashboard.h"
#include "api/queue_stream.h"
#include "berth/validate.h"
#include "core/duration.h"
#include "util/fs.h"
#include "util/strict_json.h"
#include "util/strings.h"

namespace berth::api {
namespace {

using json = nlohmann::json;
using net::ServerRequest;
using net::ServerResponse;

ServerResponse ErrorResponse(const Error& e) {
  json j = {{"error", {{"code", ErrorCodeName(e.code)}, {"message", e.message}}}};
  // Messages may quote the request (a path, a query value, a Host): bytes that are not UTF-8
  // are replaced rather than letting the encoder throw and turn a 400 into a 500.
  return ServerResponse::Json(HttpStatusFor(e.code),
                              j.dump(-1, ' ', false, json::error_handler_t::replace));
}

ServerResponse ErrorResponse(ErrorCode c, std::string msg) {
  return ErrorResponse(Error{c, std::move(msg)});
}

// An error with its own HTTP status (405, 415, 421): the JSON code stays one of ErrorCode's.
ServerResponse ErrorResponse(int status, ErrorCode c, std::string msg) {
  ServerResponse r = ErrorResponse(c, std::move(msg));
  r.status = status;
  return r;
}

// Query parameters are strict: a value that does not parse is a 400 naming the parameter, not
// silently the default.
Result<bool> QueryBool(const ServerRequest& r, const std::string& k) {
  auto it = r.query.find(k);
  if (it == r.query.end()) return false;
  const std::string& v = it->second;
  if (v.empty() || v == "1" || v == "true") return true;
  if (v == "0" || v == "false") return false;
  return Fail(ErrorCode::kInvalidArgument,
              "query parameter " + k + " must be true or false, not \"" + v.substr(0, 64) + "\"");
}

Result<int> QueryInt(const ServerRequest& r, const std::string& k, int def, int min) {
  auto it = r.query.find(k);
  if (it == r.query.end()) return def;
  const std::string& v = it->second;
  int n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size() || n < min)
    return Fail(ErrorCode::kInvalidArgument, "query parameter " + k +
                                                 " must be an integer >= " + std::to_string(min) +
                                                 ", not \"" + v.substr(0, 64) + "\"");
  return n;
}

bool IsWrite(const std::string& m) {
  return m == "POST" || m == "PUT" || m == "PATCH" || m == "DELETE";
}

// The methods an endpoint answers ("" = no such endpoint); any other method is a 405.
std::string AllowedMethods(const std::string& path, const std::vector<std::string>& parts) {
  if (path == "/healthz" || path == "/readyz") return "GET, HEAD";  // probes
  if (path == "/" || path == "/ui" || path == "/v1/info" || path == "/metrics" ||
      path == "/v1/usage")
    return "GET";
  if (parts.size() < 2 || parts[0] != "v1" || parts[1] != "environments") return "";
  if (parts.size() == 2) return "GET, POST";
  if (parts.size() == 4) return "GET, DELETE";
  if (parts.size() == 5) {
    if (parts[4] == "rebuild" || parts[4] == "extend" || parts[4] == "sleep" || parts[4] == "wake")
      return "POST";
    if (parts[4] == "watch" || parts[4] == "logs" || parts[4] == "usage") return "GET";
    if (parts[4] == "releases") return "GET, POST";
    if (parts[4] == "rollback") return "POST";
  }
  if (parts.size() == 6 && parts[4] == "usage" && parts[5] == "history") return "GET";
  if (parts.size() == 6 && parts[4] == "releases") return "GET";
  return "";
}

// The Host part of a Host header: "a.b:8080" -> "a.b", "[::1]:8080" -> "[::1]".
std::string HostName(const std::string& host) {
  if (!host.empty() && host.front() == '[')
    return util::ToLower(host.substr(0, host.find(']') + 1));
  return util::ToLower(host.substr(0, host.rfind(':')));
}

bool IsIpLiteral(const std::string& h) {
  in6_addr a6{};
  in_addr a4{};
  if (h.size() > 2 && h.front() == '[' && h.back() == ']')
    return inet_pton(AF_INET6, h.substr(1, h.size() - 2).c_str(), &a6) == 1;
  return inet_pton(AF_INET, h.c_str(), &a4) == 1;
}

}  // namespace

Result<EnvironmentSpec> ParseCreateRequest(const std::string& body, bool* pull_policy_given,
                                           bool* ttl_given) {
  auto j = util::ParseStrictJson(body, "request body");
  if (!j) return Fail(j.error());
  return DecodeCreateRequest(*j, pull_policy_given, ttl_given);
}

Result<int64_t> ParseExtendRequest(const std::string& body) {
  auto j = util::ParseStrictJson(body, "extend body");
  if (!j) return Fail(j.error());
  if (auto s = util::StrictObject(*j, "", {"ttl_seconds"}); !s) return Fail(s.error());
  if (!j->contains("ttl_seconds"))
    return Fail(ErrorCode::kInvalidArgument, "ttl_seconds: required (0 = never expires)");
  return util::StrictInt(j->at("ttl_seconds"), "ttl_seconds", 0, core::kMaxTtlSeconds);
}

Result<std::string> ParseRebuildRequest(const std::string& body) {
  if (body.empty()) return std::string();
  auto j = util::ParseStrictJson(body, "rebuild body");
  if (!j) return Fail(j.error());
  if (auto s = util::StrictObject(*j, "", {"image"}); !s) return Fail(s.error());
  if (!j->contains("image")) return std::string();
  return util::StrictString(j->at("image"), "image");
}

bool IsArchiveContentType(const std::string& content_type) {
  std::string t = util::ToLower(util::Trim(content_type.substr(0, content_type.find(';'))));
  return t == "application/x-tar" || t == "application/gzip" || t == "application/x-gzip" ||
         t == "application/x-compressed-tar";
}

nlohmann::json ReleaseJson(const store::Release& r, const std::string& current) {
  json j = json::parse(store::SerializeRelease(r));
  j["current"] = !current.empty() && r.id == current;
  return j;
}

namespace {

// A free-text field from a request: bounded, no control characters but tab (and newline where
// `lines`), valid as given.
Result<std::string> TextField(const std::string& v, const std::string& what, size_t max,
                              bool lines) {
  if (v.size() > max)
    return Fail(ErrorCode::kInvalidArgument,
                what + " is longer than " + std::to_string(max) + " bytes");
  for (char c : v) {
    unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t' && !(lines && c == '\n')) || u == 0x7f)
      return Fail(ErrorCode::kInvalidArgument, what + " holds a control character");
  }
  return v;
}

}  // namespace

Status ParseEmptyRequest(const std::string& body, const std::string& action) {
  if (body.empty()) return {};
  auto j = util::ParseStrictJson(body, action + " body");
  if (!j) return Fail(j.error());
  return util::StrictObject(*j, "", {});
}

ApiServer::ApiServer(EnvironmentService& service, const Config& config, LogsFn logs, InfoFn info)
    : service_(service), config_(config), logs_(std::move(logs)), info_(std::move(info)) {}

ApiServer::~ApiServer() {
  Stop();
}

Status CheckTcpAuth(const Config& c) {
  if (c.listen_http.empty() || !c.api_token.empty() || c.insecure_no_auth) return {};
  return Fail(
      ErrorCode::kInvalidArgument,
      "listen_http " + c.listen_http +
          " without api_token would let anyone who can reach it run containers: set "
          "api_token (BERTH_API_TOKEN), or pass --insecure-no-auth (server.insecure_no_auth "
          "= true) to serve an open API on purpose");
}

int64_t ApiServer::MaxUpload() const {
  // A tar header per entry (and a long-name header), each padded to 512 bytes, plus the end.
  return config_.releases_max_bytes + config_.releases_max_files * int64_t{2048} + (1 << 20);
}

ServerResponse ApiServer::Releases(const ServerRequest& req, const std::string& ns,
                                   const std::string& name, const std::vector<std::string>& parts) {
  if (!releases_) return ErrorResponse(ErrorCode::kUnavailable, "releases are not available");
  const std::string& m = req.method;
  auto ListResponse = [](const release::ReleaseList& list) {
    json items = json::array();
    for (const auto& r : list.releases) items.push_back(ReleaseJson(r, list.current));
    return ServerResponse::Json(
        200, json{{"items", items}, {"current", list.current}, {"deploying", list.deploying}}.dump(
                 -1, ' ', false, json::error_handler_t::replace));
  };
  if (parts[4] == "rollback") {
    std::string to;
    if (!req.body.empty()) {
      auto j = util::ParseStrictJson(req.body, "rollback body");
      if (!j) return ErrorResponse(j.error());
      if (auto s = util::StrictObject(*j, "", {"to"}); !s) return ErrorResponse(s.error());
      if (j->contains("to")) {
        auto t = util::StrictString(j->at("to"), "to");
        if (!t) return ErrorResponse(t.error());
        to = *t;
      }
    }
    auto list = releases_->Rollback(ns, name, to);
    if (!list) return ErrorResponse(list.error());
    return ListResponse(*list);
  }
  if (m == "GET" && parts.size() == 6) {
    auto r = releases_->Get(ns, name, parts[5]);
    if (!r) return ErrorResponse(r.error());
    auto list = releases_->List(ns, name);
    return ServerResponse::Json(200, ReleaseJson(*r, list ? list->current : "")
                                         .dump(-1, ' ', false, json::error_handler_t::replace));
  }
  if (m == "GET") {
    auto list = releases_->List(ns, name);
    if (!list) return ErrorResponse(list.error());
    return ListResponse(*list);
  }
  // POST: an archive (spooled) or {"image": ...}.
  release::DeployRequest d;
  d.ns = ns;
  d.name = name;
  if (req.body_fd >= 0) {
    auto q = [&](const char* k) {
      auto it = req.query.find(k);
      return it == req.query.end() ? std::string() : it->second;
    };
    for (const auto& [k, v] : req.query)
      if (k != "message" && k != "reload_command" && k != "no_rollback" && k != "created_by")
        return ErrorResponse(ErrorCode::kInvalidArgument,
                             "unknown query parameter " + k.substr(0, 64));
    auto msg = TextField(q("message"), "message", 1024, true);
    auto reload = TextField(q("reload_command"), "reload_command", 4096, true);
    auto by = TextField(q("created_by"), "created_by", 128, false);
    auto nr = QueryBool(req, "no_rollback");
    if (!msg) return ErrorResponse(msg.error());
    if (!reload) return ErrorResponse(reload.error());
    if (!by) return ErrorResponse(by.error());
    if (!nr) return ErrorResponse(nr.error());
    d.archive_fd = req.body_fd;
    d.message = *msg;
    d.reload_command = *reload;
    d.created_by = *by;
    d.no_rollback = *nr;
  } else {
    if (req.body.empty())
      return ErrorResponse(ErrorCode::kInvalidArgument,
                           "a release is a tar archive (Content-Type: application/x-tar, "
                           "optionally gzip) or {\"image\": \"REF\"}");
    auto j = util::ParseStrictJson(req.body, "release body");
    if (!j) return ErrorResponse(j.error());
    if (auto s = util::StrictObject(*j, "", {"image", "message", "created_by", "no_rollback"}); !s)
      return ErrorResponse(s.error());
    if (!j->contains("image"))
      return ErrorResponse(ErrorCode::kInvalidArgument,
                           "image: required (or send the code as a tar archive)");
    auto image = util::StrictString(j->at("image"), "image");
    if (!image) return ErrorResponse(image.error());
    d.image = *image;
    if (j->contains("message")) {
      auto v = util::StrictString(j->at("message"), "message");
      if (!v) return ErrorResponse(v.error());
      auto t = TextField(*v, "message", 1024, true);
      if (!t) return ErrorResponse(t.error());
      d.message = *t;
    }
    if (j->contains("created_by")) {
      auto v = util::StrictString(j->at("created_by"), "created_by");
      if (!v) return ErrorResponse(v.error());
      auto t = TextField(*v, "created_by", 128, false);
      if (!t) return ErrorResponse(t.error());
      d.created_by = *t;
    }
    if (j->contains("no_rollback")) {
      auto v = util::StrictBool(j->at("no_rollback"), "no_rollback");
      if (!v) return ErrorResponse(v.error());
      d.no_rollback = *v;
    }
  }
  // Who asked, as the server knows it (the unix socket's peer) rather than as the client says.
  if (!req.peer_user.empty()) d.created_by = req.peer_user;
  auto r = releases_->Deploy(d);
  if (!r) return ErrorResponse(r.error());
  auto list = releases_->List(ns, name);
  return ServerResponse::Json(202, ReleaseJson(*r, list ? list->current : "")
                                       .dump(-1, ' ', false, json::error_handler_t::replace));
}

Status ApiServer::Start() {
  if (auto s = CheckTcpAuth(config_); !s) return s;
  if (!config_.listen_http.empty() && config_.api_token.empty())
    spdlog::warn(
        "API on {} has no api_token (--insecure-no-auth): anyone who can reach it can "
        "run containers",
        config_.listen_http);
  server_ = std::make_unique<net::HttpServer>([this](const ServerRequest& r) { return Handle(r); });
  if (releases_) {
    // Release archives go to a file, not memory; only for a caller that would be admitted, so
    // nobody without the token can fill the disk.
    const std::string spool = config_.state_dir + "/spool";
    if (auto s = util::MakeDirs(spool, 0700); !s) return s;
    server_->SetSpoolRule(
        [this](const std::string& method, const std::string& target,
               const std::map<std::string, std::string>& headers,
               const std::string& peer) -> int64_t {
          if (method != "POST") return 0;
          auto parts = util::Split(target.substr(0, target.find('?')), '/');
          if (parts.size() != 5 || parts[0] != "v1" || parts[1] != "environments" ||
              parts[4] != "releases")
            return 0;
          auto ct = headers.find("content-type");
          if (ct == headers.end() || !IsArchiveContentType(ct->second)) return 0;
          if (peer != "unix") {
            ServerRequest probe;
            probe.headers = headers;
            if (!TokenAccepted(probe) || !HostAllowed(probe)) return 0;
          }
          return MaxUpload();
        },
        spool);
  }
  net::ListenerLimits limits;
  limits.idle_timeout_seconds = static_cast<unsigned>(config_.api_idle_timeout_seconds);
  limits.connection_memory_bytes = static_cast<size_t>(config_.api_max_header_kib) * 1024;
  limits.max_connections = static_cast<unsigned>(config_.api_socket_max_connections);
  if (auto s = server_->ListenUnix(config_.socket, limits); !s) return s;
  if (!config_.listen_http.empty()) {
    limits.max_connections = static_cast<unsigned>(config_.api_max_connections);
    limits.max_connections_per_client =
        static_cast<unsigned>(config_.api_max_connections_per_client);
    if (auto s = server_->ListenTcp(config_.listen_http, limits); !s) return s;
  }
  return {};
}

void ApiServer::Stop() {
  stopping_ = true;
  if (server_) server_->Stop();
  server_.reset();
}

bool ApiServer::HostAllowed(const ServerRequest& req) const {
  auto it = req.headers.find("host");
  if (it == req.headers.end()) return true;  // HTTP/1.0 without Host: not a browser
  const std::string name = HostName(it->second);
  if (name == "localhost" || IsIpLiteral(name)) return true;
  return std::any_of(config_.api_hosts.begin(), config_.api_hosts.end(),
                     [&](const std::string& h) { return util::ToLower(h) == name; });
}

bool ApiServer::TokenAccepted(const ServerRequest& req) const {
  if (config_.api_token.empty()) return true;  // no token configured (insecure_no_auth)
  auto it = req.headers.find("authorization");
  return it != req.headers.end() && it->second == "Bearer " + config_.api_token;
}

runtime::UsageReport ApiServer::UsageOf(const EnvironmentSpec& spec, bool sample_if_stale) {
  if (spec.sleeping) {
    runtime::UsageReport r;
    r.ns = spec.ns;
    r.name = spec.name;
    r.error = "asleep";
    return r;
  }
  return usage_(spec, sample_if_stale);
}

ServerResponse ApiServer::Handle(const ServerRequest& req) {
  auto refused = Admit(req);
  ServerResponse r = refused ? std::move(*refused) : Route(req);
  spdlog::debug("{} {} -> {}", req.method, req.path, r.status);
  return r;
}

std::optional<ServerResponse> ApiServer::Admit(const ServerRequest& req) {
  const bool tcp = req.peer != "unix";
  // DNS rebinding: a page of evil.example whose name now resolves to this host is same-origin
  // with the API to the browser, but its requests still carry "Host: evil.example".
  if (tcp && !HostAllowed(req))
    return ErrorResponse(421, ErrorCode::kPermissionDenied,
                         "this API does not answer for Host \"" +
                             req.headers.at("host").substr(0, 253) +
                             "\" (allowed: IP addresses, localhost and server.api_hosts)");
  // The unix socket is protected by file permissions; TCP needs the token when one is set.
  // The dashboard page holds no data: it loads without the token so that it can ask for it.
  const bool public_page = req.path == "/healthz" || req.path == "/readyz" ||
                           (req.method == "GET" && (req.path == "/" || req.path == "/ui"));
  if (tcp && !public_page && !TokenAccepted(req))
    return ErrorResponse(ErrorCode::kPermissionDenied, "missing or wrong bearer token");
  if (IsWrite(req.method)) {
    // CSRF: a cross-origin form can POST text/plain or form data but cannot set a JSON content
    // type or a custom header without the browser asking (CORS preflight, never granted here).
    if (req.body_fd >= 0) {
      // Spooled only for an archive content type (the spool rule): a form cannot send one.
    } else if (!req.body.empty()) {
      auto ct = req.headers.find("content-type");
      std::string type = ct == req.headers.end() ? "" : ct->second.substr(0, ct->second.find(';'));
      if (util::ToLower(util::Trim(type)) != "application/json")
        return ErrorResponse(415, ErrorCode::kInvalidArgument,
                             "a request body must be sent as Content-Type: application/json");
    }
    // With a token the Authorization header is that proof; without one (--insecure-no-auth)
    // a write must carry X-Berth-Client, which the CLI and the dashboard send.
    if (tcp && config_.api_token.empty() && !req.headers.count("x-berth-client"))
      return ErrorResponse(ErrorCode::kPermissionDenied,
                           "writes over TCP without api_token need the X-Berth-Client header");
  }
  return std::nullopt;
}

ServerResponse ApiServer::Route(const ServerRequest& req) {
  const auto parts = util::Split(req.path, '/');
  const std::string& m = req.method;
  const std::string allow = AllowedMethods(req.path, parts);
  if (allow.empty()) return ErrorResponse(ErrorCode::kNotFound, "no such endpoint: " + req.path);
  bool allowed = false;
  for (const auto& a : util::Split(allow, ',')) allowed = allowed || util::Trim(a) == m;
  if (!allowed) {
    ServerResponse r = ErrorResponse(
        405, ErrorCode::kInvalidArgument,
        "method " + m + " is not allowed on " + req.path + " (allowed: " + allow + ")");
    r.headers["Allow"] = allow;
    return r;
  }
  if (req.path == "/" || req.path == "/ui") {
    ServerResponse r;
    r.headers["Content-Type"] = "text/html; charset=utf-8";
    r.body = DashboardHtml();
    return r;
  }
  // Liveness: the process answers. Readiness: each dependency, checked now (readiness.h).
  if (req.path == "/healthz") return ServerResponse::Json(200, R"({"ok":true})");
  if (req.path == "/readyz") {
    return ReadinessResponse(readiness_, req.peer == "unix" || TokenAccepted(req));
  }
  if (req.path == "/v1/info" && m == "GET") {
    json j = {{"version", BERTH_VERSION_STRING},
              {"runtime", config_.runtime},
              {"base_domains", config_.base_domains},
              {"host_ip", config_.host_ip},
              {"default_namespace", config_.default_namespace},
              {"default_image", config_.default_image},
              {"api",
               {{"listen_http", config_.listen_http},
                {"auth", config_.listen_http.empty() ? "socket only"
                         : config_.api_token.empty() ? "none (insecure: --insecure-no-auth)"
                                                     : "bearer token"},
                {"insecure", !config_.listen_http.empty() && config_.api_token.empty()}}}};
    if (info_) {
      try {
        j["components"] = json::parse(info_());
      } catch (...) {
      }
    }
    return ServerResponse::Json(200, j.dump());
  }
  if (req.path == "/metrics" && m == "GET") {
    auto all = service_.ListBrief("");  // phase, routed and what a usage report reads
    if (!all) return ErrorResponse(all.error());
    std::map<std::string, int> by_phase{
        {"Pending", 0}, {"Running", 0}, {"Failed", 0}, {"Deleting", 0}, {"Sleeping", 0}};
    int routed = 0;
    for (const auto& v : *all) {
      if (v.status) {
        by_phase[PhaseName(v.status->phase)]++;
        routed += v.status->routed ? 1 : 0;
      } else {
        by_phase["Pending"]++;
      }
    }
    std::string out =
        "# HELP berth_environments Environments by phase.\n# TYPE berth_environments gauge\n";
    for (const auto& [p, n] : by_phase)
      out += "berth_environments{phase=\"" + p + "\"} " + std::to_string(n) + "\n";
    out +=
        "# HELP berth_environments_routed Environments reachable through the router.\n"
        "# TYPE berth_environments_routed gauge\nberth_environments_routed " +
        std::to_string(routed) + "\n";
    if (usage_) {
      // Cached samples only: /metrics never waits for the engine.
      std::vector<runtime::UsageReport> reports;
      for (const auto& v : *all)
        if (!v.spec.deleting && !v.spec.sleeping) reports.push_back(UsageOf(v.spec, false));
      out += UsageMetricsText(reports);
    }
    if (info_) {
      auto c = json::parse(info_(), nullptr, false);
      if (c.is_object() && c.contains("leader_election") && c["leader_election"].is_object())
        out +=
            "# HELP berth_leader 1 if this replica holds the controller lease.\n"
            "# TYPE berth_leader gauge\nberth_leader " +
            std::string(c["leader_election"].value("leader", false) ? "1" : "0") + "\n";
    }
    ServerResponse r;
    r.headers["Content-Type"] = "text/plain; version=0.0.4";
    r.body = out;
    return r;
  }
  if (req.path == "/v1/usage" && m == "GET") {
    if (!usage_) return ErrorResponse(ErrorCode::kUnavailable, "usage is not available");
    std::string ns;
    if (auto it = req.query.find("namespace"); it != req.query.end()) {
      ns = it->second;
      if (auto s = ValidateNamespace(ns); !s) return ErrorResponse(s.error());
    }
    auto list = service_.List(ns);
    if (!list) return ErrorResponse(list.error());
    json arr = json::array();
    for (const auto& v : *list)
      if (!v.spec.deleting) arr.push_back(UsageJson(UsageOf(v.spec, true)));
    return ServerResponse::Json(
        200, json{{"items", arr}}.dump(-1, ' ', false, json::error_handler_t::replace));
  }
  if (parts.size() < 2 || parts[0] != "v1" || parts[1] != "environments")
    return ErrorResponse(ErrorCode::kNotFound, "no such endpoint: " + m + " " + req.path);

  // /v1/environments
  if (parts.size() == 2) {
    if (m == "GET") {
      std::string ns;
      if (auto it = req.query.find("namespace"); it != req.query.end()) ns = it->second;
      std::string view = "full";
      if (auto it = req.query.find("view"); it != req.query.end()) view = it->second;
      if (view != "summary" && view != "full" && view != "table")
        return ErrorResponse(ErrorCode::kInvalidArgument,
                             "view must be \"full\" (the default), \"summary\" or \"table\"");
      auto list =
          view == "table" ? service_.ListTableJson(ns) : service_.ListJson(ns, view == "summary");
      if (!list) return ErrorResponse(list.error());
      return ServerResponse::Json(200, std::move(*list));
    }
    // POST (AllowedMethods)
    CreateOptions opts;
    auto rollback = QueryBool(req, "rollback");
    if (!rollback) return ErrorResponse(rollback.error());
    auto spec = ParseCreateRequest(req.body, &opts.pull_policy_given, &opts.ttl_given);
    if (!spec) return ErrorResponse(spec.error());
    if (req.query.count("rollback")) opts.rollback_on_failure = *rollback;
    auto v = service_.Create(std::move(*spec), opts);
    if (!v) return ErrorResponse(v.error());
    return ServerResponse::Json(201, SerializeView(*v));
  }
  if (parts.size() < 4) return ErrorResponse(ErrorCode::kNotFound, "no such endpoint: " + req.path);
  const std::string& ns = parts[2];
  const std::string& name = parts[3];
  if (auto s = ValidateNamespace(ns); !s) return ErrorResponse(s.error());
  if (auto s = ValidateName(name); !s) return ErrorResponse(s.error());

  if (parts.size() == 4) {
    if (m == "GET") {
      auto v = service_.Get(ns, name);
      if (!v) return ErrorResponse(v.error());
      return ServerResponse::Json(200, SerializeView(*v));
    }
    // DELETE (AllowedMethods)
    auto purge = QueryBool(req, "purge");
    if (!purge) return ErrorResponse(purge.error());
    auto v = service_.Delete(ns, name, *purge);
    if (!v) return ErrorResponse(v.error());
    return ServerResponse::Json(202, SerializeView(*v));
  }
  const std::string& action = parts[4];
  if (action == "releases" || action == "rollback") return Releases(req, ns, name, parts);
  if (parts.size() == 6 && action == "usage") {  // GET .../usage/history
    auto v = service_.Get(ns, name);
    if (!v) return ErrorResponse(v.error());
    if (!history_) return ErrorResponse(ErrorCode::kUnavailable, "usage is not available");
    // A sleeping environment keeps the samples from before it slept.
    return ServerResponse::Json(
        200, UsageHistoryJson(ns, name, history_interval_ms_, history_(v->spec.Key()))
                 .dump(-1, ' ', false, json::error_handler_t::replace));
  }
  if (action == "rebuild" && m == "POST") {
    auto image = ParseRebuildRequest(req.body);
    if (!image) return ErrorResponse(image.error());
    auto v = service_.Rebuild(ns, name, *image);
    if (!v) return ErrorResponse(v.error());
    return ServerResponse::Json(202, SerializeView(*v));
  }
  if (action == "extend" && m == "POST") {
    auto ttl = ParseExtendRequest(req.body);
    if (!ttl) return ErrorResponse(ttl.error());
    auto v = service_.Extend(ns, name, *ttl);
    if (!v) return ErrorResponse(v.error());
    return ServerResponse::Json(200, SerializeView(*v));
  }
  if ((action == "sleep" || action == "wake") && m == "POST") {
    if (auto s = ParseEmptyRequest(req.body, action); !s) return ErrorResponse(s.error());
    auto v = action == "sleep" ? service_.Sleep(ns, name) : service_.Wake(ns, name);
    if (!v) return ErrorResponse(v.error());
    return ServerResponse::Json(202, SerializeView(*v));
  }
  if (action == "watch" && m == "GET") {
    // 0 is taken as 1 s (the CLI passes its --timeout through); above an hour is capped.
    auto timeout_q = QueryInt(req, "timeout", 300, 0);
    if (!timeout_q) return ErrorResponse(timeout_q.error());
    int timeout = std::clamp(*timeout_q, 1, 3600);
    // Probe first, so a missing environment is a plain 404 rather than a stream.
    if (auto v = service_.Get(ns, name); !v) return ErrorResponse(v.error());
    ServerResponse r;
    r.headers["Content-Type"] = "application/x-ndjson";
    r.stream = std::make_unique<QueueStream>([this, ns, name, timeout](
                                                 const std::function<bool(std::string)>& push,
                                                 const std::atomic<bool>& cancelled) {
      auto s = service_.Watch(
          ns, name,
          [&](const std::optional<EnvView>& v) {
            if (cancelled || stopping_) return false;
            if (!v)
              return push(R"({"type":"deleted"})"
                          "\n");
            return push(std::string(R"({"type":"update","environment":)") + SerializeView(*v) +
                        "}\n");
          },
          std::chrono::seconds(timeout), stopping_);
      if (!s && !cancelled) {
        json j = {
            {"type", "error"},
            {"error", {{"code", ErrorCodeName(s.error().code)}, {"message", s.error().message}}}};
        push(j.dump() + "\n");
      }
    });
    return r;
  }
  if (action == "usage" && m == "GET") {
    auto v = service_.Get(ns, name);
    if (!v) return ErrorResponse(v.error());
    if (!usage_) return ErrorResponse(ErrorCode::kUnavailable, "usage is not available");
    auto r = UsageOf(v->spec, true);
    if (!r.usage)
      return ErrorResponse(ErrorCode::kUnavailable, "usage of " + v->spec.Key() + ": " + r.error);
    return ServerResponse::Json(200,
                                UsageJson(r).dump(-1, ' ', false, json::error_handler_t::replace));
  }
  if (action == "logs" && m == "GET") {
    auto follow = QueryBool(req, "follow");
    auto tail = QueryInt(req, "tail", -1, -1);
    auto timestamps = QueryBool(req, "timestamps");
    if (!follow) return ErrorResponse(follow.error());
    if (!tail) return ErrorResponse(tail.error());
    if (!timestamps) return ErrorResponse(timestamps.error());
    auto v = service_.Get(ns, name);
    if (!v) return ErrorResponse(v.error());
    if (!logs_) return ErrorResponse(ErrorCode::kUnavailable, "logs are not available");
    runtime::LogOptions lo;
    lo.follow = *follow;
    lo.tail = *tail;
    lo.timestamps = *timestamps;
    ServerResponse r;
    r.headers["Content-Type"] = "text/plain; charset=utf-8";
    auto spec = v->spec;
    // An error before any output (engine unreachable, no container) is the response's status,
    // so the CLI exits non-zero; one after output has started can only be a last line.
    auto early_error = std::make_shared<std::optional<Error>>();
    auto stream = std::make_unique<QueueStream>(
        [this, spec, lo, early_error](const std::function<bool(std::string)>& push,
                                      const std::atomic<bool>& cancelled) {
          runtime::LogOptions o = lo;
          o.cancel = &cancelled;  // an idle follow ends when the client goes away
          bool sent = false;
          auto s = logs_(spec, o, [&](std::string_view chunk) {
            sent = true;
            return !cancelled && !stopping_ && push(std::string(chunk));
          });
          if (s || cancelled) return;
          if (sent)
            push("berth: logs: " + s.error().message + "\n");
          else
            *early_error = s.error();  // read after EndedEmpty saw the producer finish
        });
    if (stream->EndedEmpty(std::chrono::seconds(2)) && *early_error)
      return ErrorResponse(Wrap(**early_error, "logs"));
    r.stream = std::move(stream);
    return r;
  }
  return ErrorResponse(ErrorCode::kNotFound, "no such endpoint: " + m + " " + req.path);
}

}  // namespace berth::api
