// Readiness probes off the reconcile path: a reconcile asks whether a workload's http port
// answers and gets the last answer at once (or none yet); a probe thread makes the connect
// (bounded) and queues the environment again when it has the answer. So no worker waits on a
// probe, however many workloads are starting.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace berth::controller {

// True if host:port accepts a TCP connection within `timeout` (an address that is not IPv4
// cannot be probed: true).
bool TcpAnswers(const std::string& host, int port, std::chrono::milliseconds timeout);

class ReadinessProbes {
 public:
  enum class Answer { kNotYet, kAnswers, kSilent };
  using DoneFn = std::function<void(const std::string& key)>;
  using ProbeFn = std::function<bool(const std::string& host, int port)>;

  // `done(key)` runs on a probe thread after each probe; `probe` defaults to TcpAnswers with
  // `connect_timeout`.
  explicit ReadinessProbes(
      DoneFn done, int threads = 2,
      std::chrono::milliseconds connect_timeout = std::chrono::milliseconds(200),
      ProbeFn probe = nullptr);
  ~ReadinessProbes();
  ReadinessProbes(const ReadinessProbes&) = delete;
  ReadinessProbes& operator=(const ReadinessProbes&) = delete;

  // The last answer for `key` at host:port. kNotYet when none is in for that target yet; a
  // probe is then started unless one is in flight, and so it is after a kSilent answer (the
  // next Ask sees a newer one). Never blocks on the network.
  Answer Ask(const std::string& key, const std::string& host, int port);
  // Drops what is known of `key` (it runs, or it is gone).
  void Forget(const std::string& key);

 private:
  struct Target {
    std::string host;
    int port = 0;
    bool operator==(const Target&) const = default;
  };
  struct State {
    Target target;
    Answer last = Answer::kNotYet;
    bool in_flight = false;
  };
  void Loop();

  DoneFn done_;
  ProbeFn probe_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, State> states_;           // guarded by mu_
  std::deque<std::pair<std::string, Target>> q_;  // guarded by mu_
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace berth::controller
