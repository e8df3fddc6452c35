#include "api/api_server.h"

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <set>

#include "api/dashboard.h"
#include "api/queue_stream.h"
#include "berth/validate.h"
#include "util/strings.h"

namespace berth::api {
namespace {

using json = nlohmann::json;
using net::ServerRequest;
using net::ServerResponse;

ServerResponse ErrorResponse(const Error& e) {
  json j = {{"error", {{"code", ErrorCodeName(e.code)}, {"message", e.message}}}};
  return ServerResponse::Json(HttpStatusFor(e.code), j.dump());
}

ServerResponse ErrorResponse(ErrorCode c, std::string msg) {
  return ErrorResponse(Error{c, std::move(msg)});
}

bool QueryBool(const ServerRequest& r, const std::string& k) {
  auto it = r.query.find(k);
  return it != r.query.end() && (it->second == "1" || it->second == "true" || it->second.empty());
}

int QueryInt(const ServerRequest& r, const std::string& k, int def) {
  auto it = r.query.find(k);
  if (it == r.query.end()) return def;
  try {
    return std::stoi(it->second);
  } catch (...) {
    return def;
  }
}

}  // namespace

Result<EnvironmentSpec> ParseCreateRequest(const std::string& body, bool* pull_policy_given) {
  static const std::set<std::string> allowed = {
      "namespace", "name",        "image",        "release_mode", "replicas",
      "ports",     "resources",   "env",          "labels",       "command",
      "domains",   "pull_policy", "volume_mount", "controller",   "ttl_seconds"};
  json j;
  try {
    j = json::parse(body);
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInvalidArgument, std::string("request body is not JSON: ") + e.what());
  }
  if (!j.is_object())
    return Fail(ErrorCode::kInvalidArgument, "request body must be a JSON object");
  for (const auto& [k, v] : j.items())
    if (!allowed.count(k)) return Fail(ErrorCode::kInvalidArgument, "unknown field \"" + k + "\"");
  try {
    EnvironmentSpec s = j.get<EnvironmentSpec>();
    if (!j.contains("volume_mount")) s.volume_mount = "/apps";
    if (pull_policy_given) *pull_policy_given = j.contains("pull_policy");
    return s;
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInvalidArgument, std::string("invalid field: ") + e.what());
  }
}

ApiServer::ApiServer(EnvironmentService& service, const Config& config, LogsFn logs, InfoFn info)
    : service_(service), config_(config), logs_(std::move(logs)), info_(std::move(info)) {}

ApiServer::~ApiServer() {
  Stop();
}

Status ApiServer::Start() {
  server_ = std::make_unique<net::HttpServer>([this](const ServerRequest& r) { return Handle(r); });
  if (auto s = server_->ListenUnix(config_.socket); !s) return s;
  if (!config_.listen_http.empty())
    if (auto s = server_->ListenTcp(config_.listen_http); !s) return s;
  return {};
}

void ApiServer::Stop() {
  stopping_ = true;
  if (server_) server_->Stop();
  server_.reset();
}

ServerResponse ApiServer::Handle(const ServerRequest& req) {
  // The unix socket is protected by file permissions; TCP needs the token when one is set.
  // The dashboard page holds no data: it loads without the token so that it can ask for it.
  const bool public_page =
      req.path == "/healthz" || (req.method == "GET" && (req.path == "/" || req.path == "/ui"));
  if (req.peer != "unix" && !config_.api_token.empty() && !public_page) {
    auto it = req.headers.find("authorization");
    if (it == req.headers.end() || it->second != "Bearer " + config_.api_token)
      return ErrorResponse(ErrorCode::kPermissionDenied, "missing or wrong bearer token");
  }
  ServerResponse r = Route(req);
  spdlog::debug("{} {} -> {}", req.method, req.path, r.status);
  return r;
}

ServerResponse ApiServer::Route(const ServerRequest& req) {
  const auto parts = util::Split(req.path, '/');
  const std::string& m = req.method;
  if (req.path == "/" || req.path == "/ui") {
    ServerResponse r;
    r.headers["Content-Type"] = "text/html; charset=utf-8";
    r.body = DashboardHtml();
    return r;
  }
  if (req.path == "/healthz") return ServerResponse::Json(200, R"({"ok":true})");
  if (req.path == "/v1/info" && m == "GET") {
    json j = {{"version", BERTH_VERSION_STRING},
              {"runtime", config_.runtime},
              {"base_domains", config_.base_domains},
              {"host_ip", config_.host_ip},
              {"default_namespace", config_.default_namespace},
              {"default_image", config_.default_image}};
    if (info_) {
      try {
        j["components"] = json::parse(info_());
      } catch (...) {
      }
    }
    return ServerResponse::Json(200, j.dump());
  }
  if (req.path == "/metrics" && m == "GET") {
    auto all = service_.List("");
    if (!all) return ErrorResponse(all.error());
    std::map<std::string, int> by_phase{
        {"Pending", 0}, {"Running", 0}, {"Failed", 0}, {"Deleting", 0}};
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
  if (parts.size() < 2 || parts[0] != "v1" || parts[1] != "environments")
    return ErrorResponse(ErrorCode::kNotFound, "no such endpoint: " + m + " " + req.path);

  // /v1/environments
  if (parts.size() == 2) {
    if (m == "GET") {
      std::string ns;
      if (auto it = req.query.find("namespace"); it != req.query.end()) ns = it->second;
      auto list = service_.List(ns);
      if (!list) return ErrorResponse(list.error());
      json arr = json::array();
      for (const auto& v : *list) arr.push_back(json::parse(SerializeView(v)));
      return ServerResponse::Json(200, json{{"items", arr}}.dump());
    }
    if (m == "POST") {
      CreateOptions opts;
      auto spec = ParseCreateRequest(req.body, &opts.pull_policy_given);
      if (!spec) return ErrorResponse(spec.error());
      if (req.query.count("rollback")) opts.rollback_on_failure = QueryBool(req, "rollback");
      auto v = service_.Create(std::move(*spec), opts);
      if (!v) return ErrorResponse(v.error());
      return ServerResponse::Json(201, SerializeView(*v));
    }
    return ErrorResponse(ErrorCode::kInvalidArgument, "method " + m + " not allowed");
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
    if (m == "DELETE") {
      auto v = service_.Delete(ns, name, QueryBool(req, "purge"));
      if (!v) return ErrorResponse(v.error());
      return ServerResponse::Json(202, SerializeView(*v));
    }
    return ErrorResponse(ErrorCode::kInvalidArgument, "method " + m + " not allowed");
  }
  const std::string& action = parts[4];
  if (action == "rebuild" && m == "POST") {
    std::string image;
    if (!req.body.empty()) {
      try {
        auto j = json::parse(req.body);
        if (!j.is_object()) throw std::runtime_error("not an object");
        for (const auto& [k, v] : j.items())
          if (k != "image")
            return ErrorResponse(ErrorCode::kInvalidArgument, "unknown field \"" + k + "\"");
        image = j.value("image", "");
      } catch (const std::exception& e) {
        return ErrorResponse(ErrorCode::kInvalidArgument,
                             std::string("bad rebuild body: ") + e.what());
      }
    }
    auto v = service_.Rebuild(ns, name, image);
    if (!v) return ErrorResponse(v.error());
    return ServerResponse::Json(202, SerializeView(*v));
  }
  if (action == "watch" && m == "GET") {
    int timeout = std::clamp(QueryInt(req, "timeout", 300), 1, 3600);
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
  if (action == "logs" && m == "GET") {
    auto v = service_.Get(ns, name);
    if (!v) return ErrorResponse(v.error());
    if (!logs_) return ErrorResponse(ErrorCode::kUnavailable, "logs are not available");
    runtime::LogOptions lo;
    lo.follow = QueryBool(req, "follow");
    lo.tail = QueryInt(req, "tail", -1);
    lo.timestamps = QueryBool(req, "timestamps");
    ServerResponse r;
    r.headers["Content-Type"] = "text/plain; charset=utf-8";
    auto spec = v->spec;
    r.stream =
        std::make_unique<QueueStream>([this, spec, lo](const std::function<bool(std::string)>& push,
                                                       const std::atomic<bool>& cancelled) {
          runtime::LogOptions o = lo;
          o.cancel = &cancelled;  // an idle follow ends when the client goes away
          auto s = logs_(spec, o, [&](std::string_view chunk) {
            return !cancelled && !stopping_ && push(std::string(chunk));
          });
          if (!s && !cancelled) push("berth: logs: " + s.error().message + "\n");
        });
    return r;
  }
  return ErrorResponse(ErrorCode::kNotFound, "no such endpoint: " + m + " " + req.path);
}

}  // namespace berth::api
