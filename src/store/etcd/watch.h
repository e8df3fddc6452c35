// An etcd watch: a background thread holds the streaming POST /v3/watch open, queues events,
// and reconnects with backoff (next endpoint, resuming after the last revision seen) when the
// stream drops. A second thread probes the member when the stream has been quiet for a while:
// a member that hangs (frozen, partitioned away, without a leader) keeps the connection open
// but sends nothing, and only the probe tells that from a quiet prefix. Next() hands over
// whatever is queued.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "berth/store.h"
#include "net/http_client.h"
#include "store/etcd/client.h"

namespace berth::store::etcd {

class EtcdWatch final : public Watch {
 public:
  EtcdWatch(std::shared_ptr<Client> client, std::string prefix, int64_t from);
  ~EtcdWatch() override;

  Result<std::vector<WatchEvent>> Next(std::chrono::milliseconds timeout) override;
  void Cancel() override;

 private:
  void Run();
  void Monitor();
  // One streaming session against one endpoint; returns when the stream ends.
  void Session(size_t endpoint);
  // Handles one JSON line; false ends the session.
  bool HandleLine(std::string_view line);
  bool HandleResult(const nlohmann::json& result);
  bool cancelled() const { return cancelled_.load(); }

  std::shared_ptr<Client> client_;
  const std::string prefix_;
  const std::string end_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<WatchEvent> queue_;       // guarded by mu_
  std::optional<Error> terminal_;      // guarded by mu_: kGone, delivered after the queue
  net::HttpClient* active_ = nullptr;  // guarded by mu_: the stream to abort on Cancel
  int64_t last_;                       // thread-only: last revision fully received
  bool session_ok_ = false;            // thread-only: the current session got a response
  // Shared with Monitor(): the session's endpoint, when it last received bytes (steady clock,
  // ns; 0 = no session), and the flag that ends it.
  std::atomic<size_t> session_endpoint_{0};
  std::atomic<int64_t> activity_ns_{0};
  std::atomic<bool> abort_session_{false};
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> done_{false};
  std::thread thread_;
  std::thread monitor_;
};

}  // namespace berth::store::etcd
