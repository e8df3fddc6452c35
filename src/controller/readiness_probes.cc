#include "controller/readiness_probes.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "util/fs.h"

namespace berth::controller {

bool TcpAnswers(const std::string& host, int port, std::chrono::milliseconds timeout) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &sin.sin_addr) != 1) return true;  // not probeable
  util::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return false;
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sin), sizeof sin) == 0) return true;
  if (errno != EINPROGRESS) return false;
  pollfd p{fd.get(), POLLOUT, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return false;
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  return err == 0;
}

ReadinessProbes::ReadinessProbes(DoneFn done, int threads,
                                 std::chrono::milliseconds connect_timeout, ProbeFn probe)
    : done_(std::move(done)), probe_(std::move(probe)) {
  if (!probe_)
    probe_ = [connect_timeout](const std::string& host, int port) {
      return TcpAnswers(host, port, connect_timeout);
    };
  for (int i = 0; i < std::max(1, threads); ++i) threads_.emplace_back([this] { Loop(); });
}

ReadinessProbes::~ReadinessProbes() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

ReadinessProbes::Answer ReadinessProbes::Ask(const std::string& key, const std::string& host,
                                             int port) {
  std::lock_guard<std::mutex> l(mu_);
  State& s = states_[key];
  const Target t{host, port};
  if (!(s.target == t)) s = State{t, Answer::kNotYet, s.in_flight};
  const Answer answer = s.last;
  if (answer != Answer::kAnswers && !s.in_flight) {
    s.in_flight = true;
    q_.emplace_back(key, t);
    cv_.notify_one();
  }
  return answer;
}

void ReadinessProbes::Forget(const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = states_.find(key);
  if (it != states_.end() && !it->second.in_flight) states_.erase(it);
}

void ReadinessProbes::Loop() {
  for (;;) {
    std::pair<std::string, Target> job;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return stopping_ || !q_.empty(); });
      if (stopping_) return;
      job = std::move(q_.front());
      q_.pop_front();
    }
    const bool ok = probe_(job.second.host, job.second.port);
    {
      std::lock_guard<std::mutex> l(mu_);
      State& s = states_[job.first];
      s.in_flight = false;
      // An answer about a target the key no longer has is not its answer.
      if (s.target == job.second) s.last = ok ? Answer::kAnswers : Answer::kSilent;
    }
    if (done_) done_(job.first);
  }
}

}  // namespace berth::controller
