// A loopback TCP proxy for fault tests: relays connections to an upstream port and, once told
// to, loses answers — the request reaches the upstream, the reply is dropped and the client's
// connection closed, as when a server dies right after doing the work.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "berth/result.h"

namespace berth::testing {

class TcpProxy {
 public:
  static Result<std::unique_ptr<TcpProxy>> Start(int upstream_port);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const { return port_; }
  // From now on, every reply is lost (see above); the count says how many were.
  void LoseAnswers(bool on) { lose_ = on; }
  int lost() const { return lost_.load(); }

 private:
  TcpProxy() = default;
  void AcceptLoop();
  void Relay(int client);

  int upstream_port_ = 0;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> lose_{false};
  std::atomic<int> lost_{0};
  std::thread accept_thread_;
  std::mutex mu_;
  std::vector<std::thread> relays_;  // guarded by mu_; joined in the destructor
};

}  // namespace berth::testing
