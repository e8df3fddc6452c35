#include "store/etcd/client.h"

#include <algorithm>
#include <thread>

#include "util/base64.h"

namespace berth::store::etcd {

using nlohmann::json;

namespace {
constexpr size_t kMaxIdlePerEndpoint = 8;
constexpr std::chrono::milliseconds kMinAttempt{2000};
// How long a call keeps going round the members while all of them refuse (an election).
constexpr std::chrono::milliseconds kElectionWait{3000};

// gRPC status codes, as the gateway reports them.
ErrorCode FromGrpc(int code) {
  switch (code) {
    case 3:  // INVALID_ARGUMENT
      return ErrorCode::kInvalidArgument;
    case 4:   // DEADLINE_EXCEEDED: no quorum to answer in time
    case 14:  // UNAVAILABLE: no leader, leader changed, member stopping, "request timed out"
      return ErrorCode::kUnavailable;
    case 5:  // NOT_FOUND
      return ErrorCode::kNotFound;
    case 7:   // PERMISSION_DENIED
    case 16:  // UNAUTHENTICATED
      return ErrorCode::kPermissionDenied;
    case 9:  // FAILED_PRECONDITION
      return ErrorCode::kConflict;
    case 11:  // OUT_OF_RANGE: "required revision has been compacted"
      return ErrorCode::kGone;
    default:
      return ErrorCode::kInternal;
  }
}
}  // namespace

Client::Client(ClientConfig cfg) : cfg_(std::move(cfg)), pool_(cfg_.endpoints.size()) {}
Client::~Client() = default;

net::ClientOptions Client::HttpOptions(size_t endpoint, std::chrono::milliseconds timeout) const {
  net::ClientOptions o;
  o.base_url = cfg_.endpoints[endpoint];
  o.tls = cfg_.tls;
  o.connect_timeout = cfg_.connect_timeout;
  o.timeout = timeout;
  return o;
}

std::unique_ptr<net::HttpClient> Client::Acquire(size_t endpoint) {
  {
    std::lock_guard<std::mutex> l(pool_mu_);
    auto& idle = pool_[endpoint];
    if (!idle.empty()) {
      auto c = std::move(idle.back());
      idle.pop_back();
      return c;
    }
  }
  return std::make_unique<net::HttpClient>(HttpOptions(endpoint, cfg_.request_timeout));
}

void Client::Release(size_t endpoint, std::unique_ptr<net::HttpClient> c) {
  std::lock_guard<std::mutex> l(pool_mu_);
  if (pool_[endpoint].size() < kMaxIdlePerEndpoint) pool_[endpoint].push_back(std::move(c));
}

Result<json> Client::Call(const std::string& path, const json& body, bool* retried) {
  if (cfg_.endpoints.empty()) return Fail(ErrorCode::kInvalidArgument, "etcd: no endpoints");
  const size_t n = cfg_.endpoints.size();
  const size_t start = preferred_.load();
  const auto deadline = std::chrono::steady_clock::now() + cfg_.request_timeout;
  // Each endpoint gets its share of the budget (at least kMinAttempt): a member that holds the
  // request (no quorum: etcd answers only after 7 s) or swallows it (a partition) costs one
  // share, and the next member is still tried in time.
  const auto share = std::max(kMinAttempt, cfg_.request_timeout / static_cast<int64_t>(n));
  Error last{ErrorCode::kUnavailable, "etcd: no endpoint answered"};
  net::HttpRequest req;
  req.method = "POST";
  req.path = cfg_.api_prefix + path;
  req.body = body.dump();
  req.headers[kRequireLeaderHeader] = "true";
  const auto started = std::chrono::steady_clock::now();
  auto pause = std::chrono::milliseconds(100);
  for (size_t i = 0;; ++i) {
    if (i > 0 && i % n == 0) {
      // Every member refused: while a new leader is elected (they say "no leader" for a moment)
      // or a member restarts. Go round again for a few seconds, not the whole budget: a cluster
      // that stays without quorum is answered as unavailable promptly.
      if (std::chrono::steady_clock::now() + pause - started > kElectionWait) break;
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(1000));
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    if (i > 0 && retried) *retried = true;
    size_t ep = (start + i) % n;
    req.timeout = std::min(left, share);
    auto http = Acquire(ep);
    auto resp = http->Send(req);
    if (!resp) {
      // A broken connection is not returned to the pool. A time-out is a member that cannot
      // answer (no quorum, or gone): unavailable, like a refused connection.
      last = Error{ErrorCode::kUnavailable,
                   "etcd " + cfg_.endpoints[ep] + ": " + resp.error().message};
      if (resp.error().code == ErrorCode::kUnavailable || resp.error().code == ErrorCode::kTimeout)
        continue;
      return Fail(resp.error());
    }
    Release(ep, std::move(http));
    if (resp->status != 200) {
      Error e = GatewayError(resp->status, resp->body);
      e.message = "etcd " + cfg_.endpoints[ep] + path + ": " + e.message;
      if (e.code == ErrorCode::kUnavailable) {
        last = e;
        continue;
      }
      return Fail(e);
    }
    preferred_.store(ep);
    try {
      return json::parse(resp->body);
    } catch (const json::exception& ex) {
      return Fail(ErrorCode::kInternal, "etcd " + path + ": bad JSON: " + ex.what());
    }
  }
  last.message = std::string("etcd unavailable (") +
                 (n == 1 ? "its member" : "none of its " + std::to_string(n) + " members") +
                 " could serve the request: down, or no quorum): " + last.message;
  return Fail(last);
}

Status Client::Probe(size_t endpoint, std::chrono::milliseconds timeout,
                     const std::atomic<bool>* cancel) {
  if (endpoint >= cfg_.endpoints.size())
    return Fail(ErrorCode::kInvalidArgument, "etcd: no endpoint " + std::to_string(endpoint));
  net::HttpRequest req;
  req.method = "POST";
  req.path = cfg_.api_prefix + "/kv/range";
  req.body = json{{"key", util::Base64Encode(std::string(1, '\0'))}, {"count_only", true}}.dump();
  req.headers[kRequireLeaderHeader] = "true";
  req.timeout = timeout;
  req.cancel = cancel;
  auto http = Acquire(endpoint);
  auto resp = http->Send(req);
  if (!resp) return Fail(ErrorCode::kUnavailable, resp.error().message);
  Release(endpoint, std::move(http));
  if (resp->status != 200) return Fail(GatewayError(resp->status, resp->body));
  return {};
}

int64_t JsonInt(const json& obj, const char* field) {
  if (!obj.is_object()) return 0;
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return 0;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) {
    try {
      return std::stoll(it->get<std::string>());
    } catch (...) {
      return 0;
    }
  }
  return 0;
}

Result<std::string> JsonBytes(const json& obj, const char* field) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return std::string();
  if (!it->is_string()) {
    return Fail(ErrorCode::kInternal, std::string("etcd: field ") + field + " is not a string");
  }
  auto decoded = util::Base64Decode(it->get_ref<const std::string&>());
  if (!decoded) {
    return Fail(ErrorCode::kInternal, std::string("etcd: field ") + field + " is not base64");
  }
  return *decoded;
}

Result<KeyValue> ParseKeyValue(const json& kv) {
  if (!kv.is_object()) return Fail(ErrorCode::kInternal, "etcd: kv is not an object");
  KeyValue out;
  auto key = JsonBytes(kv, "key");
  if (!key) return Fail(key.error());
  auto value = JsonBytes(kv, "value");
  if (!value) return Fail(value.error());
  out.key = std::move(*key);
  out.value = std::move(*value);
  out.create_revision = JsonInt(kv, "create_revision");
  out.mod_revision = JsonInt(kv, "mod_revision");
  return out;
}

Error GatewayError(long http_status, const std::string& body) {
  try {
    auto j = json::parse(body);
    if (j.is_object() && j.contains("code")) {
      std::string msg = j.value("message", j.value("error", std::string("etcd error")));
      ErrorCode code = FromGrpc(static_cast<int>(JsonInt(j, "code")));
      // A txn on a member without quorum ends as UNKNOWN "context deadline exceeded".
      if (msg.find("deadline exceeded") != std::string::npos) code = ErrorCode::kUnavailable;
      return Error{code, msg};
    }
  } catch (const json::exception&) {
  }
  ErrorCode code = http_status == 503 ? ErrorCode::kUnavailable : ErrorCode::kInternal;
  return Error{code, "HTTP " + std::to_string(http_status) + ": " + body.substr(0, 300)};
}

}  // namespace berth::store::etcd
