#include "runtime/kubernetes/client.h"

#include "util/base64.h"
#include "util/strings.h"

namespace berth::kube {

std::string NamespacedPath(const std::string& api, const std::string& ns,
                           const std::string& resource, const std::string& name) {
  std::string p = api + "/namespaces/" + ns + "/" + resource;
  if (!name.empty()) p += "/" + name;
  return p;
}

KubeClient::KubeClient(Connection conn) : conn_(conn), creds_(std::move(conn)) {}
KubeClient::~KubeClient() = default;

Result<std::unique_ptr<net::HttpClient>> KubeClient::Borrow(uint64_t* epoch) {
  auto snap = creds_.Current();
  if (!snap) return Fail(snap.error());
  *epoch = snap->epoch;
  std::unique_ptr<net::HttpClient> c;
  {
    std::lock_guard lock(mu_);
    if (idle_epoch_ != snap->epoch) {
      idle_.clear();  // the TLS identity changed: old connections carry the old certificate
      idle_epoch_ = snap->epoch;
    }
    if (!idle_.empty()) {
      c = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (!c) c = std::make_unique<net::HttpClient>(ConnectOptions(*snap));
  c->set_bearer_token(snap->token);
  return c;
}

net::ClientOptions KubeClient::ConnectOptions(const CredentialSnapshot& snap) const {
  net::ClientOptions o;
  o.base_url = conn_.server;
  o.tls = conn_.tls;
  if (!snap.cert_pem.empty()) {
    o.tls.cert_file.clear();
    o.tls.key_file.clear();
    o.tls.cert_pem = snap.cert_pem;
    o.tls.key_pem = snap.key_pem;
  }
  return o;
}

Result<std::unique_ptr<net::WebSocket>> KubeClient::OpenWebSocket(
    const std::string& path, const std::vector<std::string>& protocols,
    std::chrono::milliseconds timeout) {
  net::UpgradeRequest req;
  req.path = path;
  req.protocols = protocols;
  req.timeout = timeout;
  AddFixedHeaders(req.headers);
  for (int attempt = 0;; ++attempt) {
    auto snap = creds_.Current();
    if (!snap) return Fail(snap.error());
    req.bearer_token = snap->token;
    auto up = net::WebSocket::Connect(ConnectOptions(*snap), req);
    if (!up) return Fail(Wrap(up.error(), "Kubernetes API " + conn_.server));
    if (up->socket) return std::move(up->socket);
    if (up->refused.status == 401 && attempt == 0 && creds_.Refreshable()) {
      creds_.Invalidate();
      continue;
    }
    // An upgrade the server answers 2xx is no upgrade either: name it, not "success".
    long status = up->refused.status >= 400 ? up->refused.status : 502;
    return Fail(MapApiError(ParseRequest("GET", path), status,
                            up->refused.status >= 400
                                ? up->refused.body
                                : "answered " + std::to_string(up->refused.status) +
                                      " without switching to a WebSocket"));
  }
}

void KubeClient::Return(std::unique_ptr<net::HttpClient> c, uint64_t epoch) {
  std::lock_guard lock(mu_);
  if (epoch == idle_epoch_ && idle_.size() < 32) idle_.push_back(std::move(c));
}

void KubeClient::AddFixedHeaders(std::map<std::string, std::string>& headers) const {
  // Basic auth only where the kubeconfig gives nothing better (a token or a plugin wins).
  if (!conn_.username.empty() && !conn_.exec && conn_.token.empty() && conn_.token_file.empty())
    headers["Authorization"] = "Basic " + util::Base64Encode(conn_.username + ":" + conn_.password);
  headers["User-Agent"] = "berth";
}

Result<net::HttpResponse> KubeClient::Do(net::HttpRequest req, const net::ChunkFn* stream) {
  AddFixedHeaders(req.headers);
  req.headers["Accept"] = "application/json";
  for (int attempt = 0;; ++attempt) {
    uint64_t epoch = 0;
    auto c = Borrow(&epoch);
    if (!c) return Fail(c.error());
    auto resp = stream ? (*c)->Stream(req, *stream) : (*c)->Send(req);
    Return(std::move(*c), epoch);
    if (!resp) return Fail(Wrap(resp.error(), "Kubernetes API " + conn_.server));
    // A rotated token or an expired exec credential: refresh once and retry.
    if (resp->status == 401 && attempt == 0 && creds_.Refreshable()) {
      creds_.Invalidate();
      continue;
    }
    return resp;
  }
}

Status KubeClient::Ping(std::chrono::milliseconds timeout) {
  net::HttpRequest req;
  req.path = "/version";
  req.timeout = timeout;
  auto resp = Do(std::move(req), nullptr);
  if (!resp) return Fail(resp.error());
  if (resp->status >= 400)
    return Fail(MapApiError(ParseRequest("GET", "/version"), resp->status, resp->body));
  return {};
}

Result<std::string> KubeClient::Request(const std::string& method, const std::string& path,
                                        const std::string& body, const std::string& content_type,
                                        std::chrono::milliseconds timeout) {
  net::HttpRequest req;
  req.method = method;
  req.path = path;
  req.body = body;
  req.timeout = timeout;
  if (!content_type.empty()) req.headers["Content-Type"] = content_type;
  auto resp = Do(std::move(req), nullptr);
  if (!resp) return Fail(resp.error());
  if (resp->status >= 400)
    return Fail(MapApiError(ParseRequest(method, path), resp->status, resp->body));
  return std::move(resp->body);
}

namespace {
Result<nlohmann::json> ParseJson(const Result<std::string>& body) {
  if (!body) return Fail(body.error());
  if (body->empty()) return nlohmann::json::object();
  try {
    return nlohmann::json::parse(*body);
  } catch (const nlohmann::json::exception& e) {
    return Fail(ErrorCode::kInternal, std::string("Kubernetes API returned bad JSON: ") + e.what());
  }
}
std::string AddQuery(const std::string& path, const std::string& q) {
  return path + (path.find('?') == std::string::npos ? "?" : "&") + q;
}
}  // namespace

Result<nlohmann::json> KubeClient::Get(const std::string& path, std::chrono::milliseconds timeout) {
  return ParseJson(Request("GET", path, "", "", timeout));
}
Result<nlohmann::json> KubeClient::Create(const std::string& collection,
                                          const nlohmann::json& obj) {
  return ParseJson(Request("POST",
                           AddQuery(collection, std::string("fieldManager=") + kFieldManager),
                           obj.dump(), "application/json"));
}
Result<nlohmann::json> KubeClient::Update(const std::string& path, const nlohmann::json& obj) {
  return ParseJson(Request("PUT", AddQuery(path, std::string("fieldManager=") + kFieldManager),
                           obj.dump(), "application/json"));
}
Result<nlohmann::json> KubeClient::Apply(const std::string& path, const nlohmann::json& obj,
                                         bool force, const std::string& field_manager) {
  // JSON is YAML, so the apply-patch body can be the object serialized as JSON.
  std::string q = "fieldManager=" + util::UrlEncode(field_manager) + (force ? "&force=true" : "");
  return ParseJson(Request("PATCH", AddQuery(path, q), obj.dump(), "application/apply-patch+yaml"));
}
Result<nlohmann::json> KubeClient::MergePatch(const std::string& path,
                                              const nlohmann::json& patch) {
  return ParseJson(Request("PATCH", AddQuery(path, std::string("fieldManager=") + kFieldManager),
                           patch.dump(), "application/merge-patch+json"));
}
Result<nlohmann::json> KubeClient::Delete(const std::string& path, const std::string& propagation) {
  nlohmann::json opts = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
  if (!propagation.empty()) opts["propagationPolicy"] = propagation;
  return ParseJson(Request("DELETE", path, opts.dump(), "application/json"));
}
Status KubeClient::DeleteCollection(const std::string& collection, const std::string& selector,
                                    const std::string& propagation) {
  nlohmann::json opts = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
  if (!propagation.empty()) opts["propagationPolicy"] = propagation;
  auto r = Request("DELETE", AddQuery(collection, "labelSelector=" + util::UrlEncode(selector)),
                   opts.dump(), "application/json");
  if (!r) return Fail(r.error());
  return {};
}
Result<nlohmann::json> KubeClient::List(const std::string& collection, const std::string& selector,
                                        std::chrono::milliseconds timeout) {
  std::string p = selector.empty()
                      ? collection
                      : AddQuery(collection, "labelSelector=" + util::UrlEncode(selector));
  return Get(p, timeout);
}

Status KubeClient::Watch(const std::string& collection, const std::string& selector,
                         const std::string& resource_version, int timeout_seconds,
                         const WatchFn& fn, const std::string& field_selector,
                         const std::atomic<bool>* cancel) {
  std::string q = "watch=1&allowWatchBookmarks=true";
  if (!selector.empty()) q += "&labelSelector=" + util::UrlEncode(selector);
  if (!field_selector.empty()) q += "&fieldSelector=" + util::UrlEncode(field_selector);
  if (!resource_version.empty()) q += "&resourceVersion=" + util::UrlEncode(resource_version);
  if (timeout_seconds > 0) q += "&timeoutSeconds=" + std::to_string(timeout_seconds);
  net::HttpRequest req;
  req.method = "GET";
  req.path = AddQuery(collection, q);
  req.timeout = std::chrono::milliseconds(0);
  req.cancel = cancel;
  net::LineSplitter lines;
  Status result;
  // Only a 2xx answer is streamed here; an error reply's Status body is the response's.
  net::ChunkFn on_chunk = [&](std::string_view chunk) {
    return lines.Feed(chunk, [&](std::string_view line) {
      if (util::Trim(line).empty()) return true;
      nlohmann::json ev;
      try {
        ev = nlohmann::json::parse(line);
      } catch (const nlohmann::json::exception&) {
        return true;  // not an event
      }
      if (!ev.contains("type")) return true;
      WatchEvent e{ev.value("type", ""), ev.value("object", nlohmann::json::object())};
      if (e.type == "ERROR") {
        long code = e.object.value("code", 500);
        result = Fail(MapApiError(ParseRequest("GET", req.path), code, e.object.dump()));
        return false;
      }
      return fn(e);
    });
  };
  auto resp = Do(req, &on_chunk);
  if (!resp) return Fail(resp.error());
  if (resp->status >= 400)
    return Fail(MapApiError(ParseRequest("GET", req.path), resp->status, resp->body));
  return result;
}

Status KubeClient::StreamBody(const std::string& path, const net::ChunkFn& fn,
                              const std::atomic<bool>* cancel) {
  net::HttpRequest req;
  req.path = path;
  req.timeout = std::chrono::milliseconds(0);
  req.cancel = cancel;
  auto resp = Do(req, &fn);  // an error answer's body is the response's, never fn's
  if (!resp) {
    if (cancel && cancel->load()) return {};  // the reader left: not an error
    return Fail(resp.error());
  }
  if (resp->status >= 400)
    return Fail(MapApiError(ParseRequest("GET", path), resp->status, resp->body));
  return {};
}

}  // namespace berth::kube
