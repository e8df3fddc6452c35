// An etcd watch: a background thread holds the streaming POST /v3/watch open, queues events,
// and reconnects with backoff (next endpoint, resuming after the last revision seen) when the
// stream drops. Next() hands over whatever is queued.
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
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace berth::store::etcd
