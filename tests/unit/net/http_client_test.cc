// HttpClient against a one-shot loopback socket that misbehaves the way real servers do.
#include "net/http_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

namespace berth::net {
namespace {

// Listens on 127.0.0.1, answers one connection with `reply` after reading the request head,
// then closes without reading the body.
class OneShotServer {
 public:
  // hold: keep the connection open after the reply until the server is destroyed.
  explicit OneShotServer(std::string reply, bool hold = false)
      : reply_(std::move(reply)), hold_(hold) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(fd_, 1);
    thread_ = std::thread([this] {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string head;
      char buf[4096];
      while (head.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        head.append(buf, static_cast<size_t>(n));
      }
      (void)!::write(c, reply_.data(), reply_.size());
      while (hold_ && !done_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      ::close(c);
    });
  }
  ~OneShotServer() {
    done_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  std::string reply_;
  bool hold_ = false;
  std::atomic<bool> done_{false};
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

TEST(HttpClient, ARefusalCutShortStillReportsItsStatus) {
  // 401 promising 200 bytes of body, delivering 5, closing before the request body was read.
  OneShotServer srv("HTTP/1.1 401 Unauthorized\r\nContent-Length: 200\r\n\r\nshort");
  HttpClient c({.base_url = srv.Url()});
  HttpRequest r;
  r.method = "POST";
  r.path = "/x";
  r.body = std::string(1 << 20, 'b');
  auto resp = c.Send(r);
  ASSERT_TRUE(resp) << resp.error().message;
  EXPECT_EQ(resp->status, 401);
}

TEST(HttpClient, ASuccessCutShortIsATransportError) {
  // A 200 with a truncated body must not pass for a good answer.
  OneShotServer srv("HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\nshort");
  HttpClient c({.base_url = srv.Url()});
  auto resp = c.Send({.method = "GET", .path = "/x"});
  ASSERT_FALSE(resp);
  EXPECT_EQ(resp.error().code, ErrorCode::kUnavailable);
}

TEST(HttpClient, AnErrorAnswerIsNotStreamed) {
  // A log or watch request answered 404 must not hand the error's JSON to the caller's output.
  OneShotServer srv("HTTP/1.1 404 Not Found\r\nContent-Length: 16\r\n\r\n{\"message\":\"no\"}");
  HttpClient c({.base_url = srv.Url()});
  std::string streamed;
  auto resp = c.Stream({.method = "GET", .path = "/logs"}, [&](std::string_view chunk) {
    streamed.append(chunk);
    return true;
  });
  ASSERT_TRUE(resp) << resp.error().message;
  EXPECT_EQ(resp->status, 404);
  EXPECT_EQ(streamed, "");
  EXPECT_EQ(resp->body, "{\"message\":\"no\"}");
}

TEST(HttpClient, ARequestsCancelFlagEndsAnIdleStream) {
  // Headers, then silence: a watch with nothing to say. The flag must end it anyway.
  OneShotServer srv("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", true);
  HttpClient c({.base_url = srv.Url()});
  std::atomic<bool> cancel{false};
  HttpRequest r;
  r.path = "/watch";
  r.timeout = std::chrono::milliseconds(0);
  r.cancel = &cancel;
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancel = true;
  });
  auto resp = c.Stream(r, [](std::string_view) { return true; });
  t.join();
  ASSERT_FALSE(resp);
  EXPECT_EQ(resp.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(resp.error().message.find("cancelled"), std::string::npos) << resp.error().message;
}

}  // namespace
}  // namespace berth::net
