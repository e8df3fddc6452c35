// A small Kubernetes REST client: JSON in and out, server-side apply, watches. Thread-safe:
// each request borrows a pooled HttpClient (one libcurl handle per concurrent request).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/result.h"
#include "net/http_client.h"
#include "net/websocket.h"
#include "runtime/kubernetes/api_error.h"
#include "runtime/kubernetes/credentials.h"
#include "runtime/kubernetes/kubeconfig.h"

namespace berth::kube {

inline constexpr char kFieldManager[] = "berth";

// One watch event: ADDED, MODIFIED, DELETED, BOOKMARK (ERROR events become errors).
struct WatchEvent {
  std::string type;
  nlohmann::json object;
};
// Return false to end the watch.
using WatchFn = std::function<bool(const WatchEvent&)>;

class KubeClient {
 public:
  explicit KubeClient(Connection conn);
  ~KubeClient();
  KubeClient(const KubeClient&) = delete;
  KubeClient& operator=(const KubeClient&) = delete;

  // Paths are API paths with their query: "/apis/apps/v1/namespaces/x/deployments/web".
  // `timeout`: this call's deadline (-1 = the connection's).
  Result<nlohmann::json> Get(const std::string& path,
                             std::chrono::milliseconds timeout = std::chrono::milliseconds(-1));
  Result<nlohmann::json> Create(const std::string& collection, const nlohmann::json& obj);
  Result<nlohmann::json> Update(const std::string& path, const nlohmann::json& obj);
  // Server-side apply with fieldManager=berth; conflicts come back as kConflict unless force.
  Result<nlohmann::json> Apply(const std::string& path, const nlohmann::json& obj,
                               bool force = false,
                               const std::string& field_manager = kFieldManager);
  Result<nlohmann::json> MergePatch(const std::string& path, const nlohmann::json& patch);
  // propagation: "Foreground", "Background" or "Orphan".
  Result<nlohmann::json> Delete(const std::string& path, const std::string& propagation);
  // Deletes every object of a collection matching a label selector.
  Status DeleteCollection(const std::string& collection, const std::string& label_selector,
                          const std::string& propagation);
  // LIST with an optional label selector (items + metadata.resourceVersion).
  Result<nlohmann::json> List(const std::string& collection, const std::string& label_selector,
                              std::chrono::milliseconds timeout = std::chrono::milliseconds(-1));
  // Streams a watch from `resource_version` ("" = now). Ends with OK when fn returns false or
  // the server closes the stream (timeout_seconds); kGone when the version was compacted.
  Status Watch(const std::string& collection, const std::string& label_selector,
               const std::string& resource_version, int timeout_seconds, const WatchFn& fn,
               const std::string& field_selector = "", const std::atomic<bool>* cancel = nullptr);
  // Streams a plain body (pod logs) into fn.
  Status StreamBody(const std::string& path, const net::ChunkFn& fn,
                    const std::atomic<bool>* cancel = nullptr);
  // `GET /version` with a deadline: the API server answers (any authenticated user may ask).
  Status Ping(std::chrono::milliseconds timeout);
  // Raw request; status >= 400 is mapped to an error.
  Result<std::string> Request(const std::string& method, const std::string& path,
                              const std::string& body, const std::string& content_type,
                              std::chrono::milliseconds timeout = std::chrono::milliseconds(-1));

  // Upgrades GET `path` to a WebSocket offering `protocols`, with this client's credentials
  // (refreshed once on a 401). A server that does not switch is the mapped API error.
  Result<std::unique_ptr<net::WebSocket>> OpenWebSocket(const std::string& path,
                                                        const std::vector<std::string>& protocols,
                                                        std::chrono::milliseconds timeout);

  const Connection& connection() const { return conn_; }

 private:
  struct Lease;
  // The headers every request carries: User-Agent, and Basic auth where the kubeconfig has
  // a user name and password and nothing better.
  void AddFixedHeaders(std::map<std::string, std::string>& headers) const;
  // Where and how to connect with the credentials of `snap`.
  net::ClientOptions ConnectOptions(const CredentialSnapshot& snap) const;
  Result<std::unique_ptr<net::HttpClient>> Borrow(uint64_t* epoch);
  void Return(std::unique_ptr<net::HttpClient> c, uint64_t epoch);
  Result<net::HttpResponse> Do(net::HttpRequest req, const net::ChunkFn* stream);

  Connection conn_;
  Credentials creds_;
  std::mutex mu_;
  std::vector<std::unique_ptr<net::HttpClient>> idle_;
  uint64_t idle_epoch_ = 0;
};

// Convenience: "/api/v1" for the core group, "/apis/<group>/<version>" otherwise.
std::string NamespacedPath(const std::string& api, const std::string& ns,
                           const std::string& resource, const std::string& name = "");

}  // namespace berth::kube
