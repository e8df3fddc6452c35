// Wake on request (Lua mode): a request for a sleeping environment's host queues its key in
// nginx's `berth_wake` shared dict; berth serve long-polls the control socket
// (GET /berth/wakes) and wakes each one through the API's own service. nginx never calls
// serve: its workers need no access to serve's socket, and all that crosses is a validated
// "ns/name" that can only ever wake.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "berth/result.h"

namespace berth::router {

// The "ns/name" lines of a /berth/wakes answer; a line that is not two DNS-1123 labels is
// dropped (and logged).
std::vector<std::pair<std::string, std::string>> ParseWakeLines(std::string_view body);

// The "ns/name count" lines of a /berth/hits answer: requests per environment since nginx
// started. Malformed lines are dropped.
std::map<std::string, int64_t> ParseHitLines(std::string_view body);
// GET /berth/hits on the managed nginx's control socket (a 2 s deadline).
Result<std::map<std::string, int64_t>> ReadHits(const std::string& control_socket);

class WakePoller {
 public:
  using WakeFn = std::function<void(const std::string& ns, const std::string& name)>;
  // `control_socket`: the managed nginx's control socket (NginxPaths::control_socket).
  WakePoller(std::string control_socket, WakeFn fn);
  ~WakePoller();
  WakePoller(const WakePoller&) = delete;
  WakePoller& operator=(const WakePoller&) = delete;

  void Start();
  void Stop();

 private:
  void Loop();

  std::string socket_;
  WakeFn fn_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
};

}  // namespace berth::router
