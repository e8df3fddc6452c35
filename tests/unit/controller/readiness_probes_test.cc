#include "controller/readiness_probes.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>

#include "unit/net/loopback_listener.h"
#include "util/fs.h"

namespace berth::controller {
namespace {

using namespace std::chrono_literals;

// Waits (bounded) until `done` has been called for `key` `n` times.
class Done {
 public:
  void operator()(const std::string& key) {
    std::lock_guard<std::mutex> l(mu_);
    ++calls_[key];
    cv_.notify_all();
  }
  bool WaitFor(const std::string& key, int n) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, 10s, [&] { return calls_[key] >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, int> calls_;
};

util::UniqueFd Listen(int* port) {
  return testing::ListenOnLoopback(port);
}

TEST(ReadinessProbes, AnswersComeFromTheProbeThreadsAndRequeueTheKey) {
  int open_port = 0;
  auto listener = Listen(&open_port);
  int closed_port = 0;
  { auto gone = Listen(&closed_port); }  // bound once, closed: nothing listens there now
  Done done;
  ReadinessProbes p([&](const std::string& k) { done(k); });
  using A = ReadinessProbes::Answer;
  EXPECT_EQ(p.Ask("default/up", "127.0.0.1", open_port), A::kNotYet);
  EXPECT_EQ(p.Ask("default/down", "127.0.0.1", closed_port), A::kNotYet);
  ASSERT_TRUE(done.WaitFor("default/up", 1));
  ASSERT_TRUE(done.WaitFor("default/down", 1));
  EXPECT_EQ(p.Ask("default/up", "127.0.0.1", open_port), A::kAnswers);
  // A silent answer is given and a new probe started, for the next Ask to see.
  EXPECT_EQ(p.Ask("default/down", "127.0.0.1", closed_port), A::kSilent);
  ASSERT_TRUE(done.WaitFor("default/down", 2));
  // Another target for the same key (a new port): not the old target's answer.
  EXPECT_EQ(p.Ask("default/up", "127.0.0.1", closed_port), A::kNotYet);
  p.Forget("default/down");
}

TEST(ReadinessProbes, AskNeverWaitsOnAProbe) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> probes{0};
  Done done;
  {
    ReadinessProbes p([&](const std::string& k) { done(k); }, 1, 200ms,
                      [&](const std::string&, int) {
                        ++probes;
                        std::unique_lock<std::mutex> l(mu);
                        cv.wait(l, [&] { return release; });
                        return true;
                      });
    // The one probe thread is held: every Ask still answers at once (else this test hangs).
    for (int i = 0; i < 50; ++i)
      EXPECT_EQ(p.Ask("default/held", "127.0.0.1", 8080), ReadinessProbes::Answer::kNotYet);
    {
      std::lock_guard<std::mutex> l(mu);
      release = true;
    }
    cv.notify_all();
    ASSERT_TRUE(done.WaitFor("default/held", 1));
    EXPECT_EQ(p.Ask("default/held", "127.0.0.1", 8080), ReadinessProbes::Answer::kAnswers);
  }
  EXPECT_EQ(probes, 1) << "one probe in flight per key, not one per Ask";
}

TEST(TcpAnswers, ListeningAnswersClosedDoesNotAndNonIpv4IsAssumed) {
  int port = 0;
  auto l = Listen(&port);
  EXPECT_TRUE(TcpAnswers("127.0.0.1", port, 200ms));
  int closed = 0;
  { auto gone = Listen(&closed); }
  EXPECT_FALSE(TcpAnswers("127.0.0.1", closed, 200ms));
  EXPECT_TRUE(TcpAnswers("not-an-ip", closed, 200ms));
}

}  // namespace
}  // namespace berth::controller
