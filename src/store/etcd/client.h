// etcd v3 over its JSON gRPC gateway: POSTs JSON to <endpoint>/v3/..., fails over between
// endpoints, and maps gateway errors onto Berth's codes. Thread-safe: each call borrows an
// HttpClient (one per thread, as HttpClient requires) from a per-endpoint pool.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/result.h"
#include "berth/store.h"
#include "net/http_client.h"

namespace berth::store::etcd {

struct ClientConfig {
  std::vector<std::string> endpoints;  // "http://127.0.0.1:2379", "https://10.0.0.1:2379"
  net::TlsOptions tls;
  std::chrono::milliseconds connect_timeout{3000};
  // The whole Call's budget, over every endpoint it tries (each gets an equal share, at least
  // 2 s). A member without quorum holds a request for 7 s (5 s + 2 election timeouts) before
  // it answers "request timed out"; the share cuts that short, so a store without quorum is a
  // prompt kUnavailable (503), well within an API client's patience, never a hang.
  std::chrono::milliseconds request_timeout{10000};
  std::string api_prefix = "/v3";  // etcd 3.4+ (3.3 had /v3beta)
};

class Client {
 public:
  explicit Client(ClientConfig cfg);
  ~Client();

  // POSTs `body` to api_prefix + path ("/kv/range") and returns the parsed answer. Transport
  // failures, time-outs and an unavailable member move on to the next endpoint, all within
  // request_timeout; when every endpoint refused, it goes round again for up to 3 s (a leader
  // election). Whatever fails for want of a member or a quorum
  // is kUnavailable. `retried`, if given, is set when an attempt failed before the answer: a
  // txn sent then may have been applied (EtcdStore::Commit checks for that).
  Result<nlohmann::json> Call(const std::string& path, const nlohmann::json& body,
                              bool* retried = nullptr);

  // One cheap linearizable read on `endpoint` alone: fails unless that member answers and is
  // part of a quorum with a leader. Watches use it to tell a quiet stream from a dead one.
  // `cancel` (optional) ends it early.
  Status Probe(size_t endpoint, std::chrono::milliseconds timeout,
               const std::atomic<bool>* cancel = nullptr);

  const ClientConfig& config() const { return cfg_; }
  // The endpoint that answered last; watches start there.
  size_t preferred() const { return preferred_.load(); }
  net::ClientOptions HttpOptions(size_t endpoint, std::chrono::milliseconds timeout) const;

 private:
  std::unique_ptr<net::HttpClient> Acquire(size_t endpoint);
  void Release(size_t endpoint, std::unique_ptr<net::HttpClient> c);

  ClientConfig cfg_;
  std::atomic<size_t> preferred_{0};
  std::mutex pool_mu_;
  std::vector<std::vector<std::unique_ptr<net::HttpClient>>> pool_;
};

// Asks the member to refuse (unary calls) or cancel (watches) at once when it has no leader,
// instead of holding the request until its own time-out: gRPC metadata "hasleader", which the
// gateway takes from this header (etcd clientv3's WithRequireLeader).
inline constexpr const char* kRequireLeaderHeader = "Grpc-Metadata-hasleader";

// JSON helpers for the gateway's encoding: int64 as strings, bytes as base64, zero values
// omitted.
int64_t JsonInt(const nlohmann::json& obj, const char* field);
Result<std::string> JsonBytes(const nlohmann::json& obj, const char* field);
Result<KeyValue> ParseKeyValue(const nlohmann::json& kv);
// Maps a gateway error body ({"error","message","code"}) or an HTTP status onto an Error.
Error GatewayError(long http_status, const std::string& body);

}  // namespace berth::store::etcd
