// The REST API (docs/api.md, docs/openapi.yaml): HTTP requests in, EnvironmentService calls out.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/environment_service.h"
#include "api/readiness.h"
#include "api/usage.h"
#include "berth/runtime.h"
#include "net/http_server.h"
#include "release/release_manager.h"

namespace berth::api {

using LogsFn = std::function<Status(const EnvironmentSpec&, const runtime::LogOptions&,
                                    const runtime::LogSink&)>;
// Extra JSON for /v1/info (router stats, runtime name...).
using InfoFn = std::function<std::string()>;

class ApiServer {
 public:
  ApiServer(EnvironmentService& service, const Config& config, LogsFn logs, InfoFn info);
  ~ApiServer();

  // What GET /readyz checks (set before Start).
  void SetReadinessChecks(std::vector<ReadinessCheck> checks) { readiness_ = std::move(checks); }
  // Where usage comes from (berth serve's sampler; set before Start). Unset: the usage
  // endpoints answer 503 and /metrics has no per-environment families.
  void SetUsage(UsageFn usage) { usage_ = std::move(usage); }
  // The kept history (the dashboard's charts), sampled every `interval_ms`.
  void SetUsageHistory(UsageHistoryFn history, int64_t interval_ms) {
    history_ = std::move(history);
    history_interval_ms_ = interval_ms;
  }
  // Where releases are made (berth serve's ReleaseManager; set before Start). Unset: the
  // release endpoints answer 503.
  void SetReleases(release::ReleaseManager* releases) { releases_ = releases; }
  Status Start();
  void Stop();
  // Exposed for tests: handles one request without a socket.
  net::ServerResponse Handle(const net::ServerRequest& req);

 private:
  // Host, token, content type and CSRF checks: the refusal, or nullopt = admitted.
  std::optional<net::ServerResponse> Admit(const net::ServerRequest& req);
  // The request's bearer token is the configured one (true when none is configured).
  bool TokenAccepted(const net::ServerRequest& req) const;
  bool HostAllowed(const net::ServerRequest& req) const;
  net::ServerResponse Route(const net::ServerRequest& req);

  EnvironmentService& service_;
  Config config_;
  LogsFn logs_;
  InfoFn info_;
  // The report of one environment: a sleeping one is not asked about.
  runtime::UsageReport UsageOf(const EnvironmentSpec& spec, bool sample_if_stale);

  std::vector<ReadinessCheck> readiness_;
  UsageFn usage_;
  UsageHistoryFn history_;
  int64_t history_interval_ms_ = 0;
  release::ReleaseManager* releases_ = nullptr;
  // The largest release upload accepted (releases.max_bytes plus the archive's own overhead).
  int64_t MaxUpload() const;
  net::ServerResponse Releases(const net::ServerRequest& req, const std::string& ns,
                               const std::string& name, const std::vector<std::string>& parts);
  std::atomic<bool> stopping_{false};
  std::unique_ptr<net::HttpServer> server_;
};

// Refuses listen_http without api_token unless insecure_no_auth says so (serve checks it
// before starting anything).
Status CheckTcpAuth(const Config& c);

// Parses a create request body strictly (DecodeCreateRequest): unknown or repeated fields,
// wrong types, fractions and out-of-range integers are kInvalidArgument naming the field.
Result<EnvironmentSpec> ParseCreateRequest(const std::string& body,
                                           bool* pull_policy_given = nullptr,
                                           bool* ttl_given = nullptr);
// Parses an extend body, {"ttl_seconds": N} (0 = never expires): N.
Result<int64_t> ParseExtendRequest(const std::string& body);
// Parses a rebuild body, {} or {"image": "..."} (empty body = keep the image): the image or "".
Result<std::string> ParseRebuildRequest(const std::string& body);
// A release as served: the record, with `current` set when it is the environment's current one.
nlohmann::json ReleaseJson(const store::Release& r, const std::string& current);
// Whether a content type (header value) is a tar archive, compressed or not.
bool IsArchiveContentType(const std::string& content_type);
// A sleep or wake body: empty or {} (no fields); anything else is kInvalidArgument.
Status ParseEmptyRequest(const std::string& body, const std::string& action);

}  // namespace berth::api
