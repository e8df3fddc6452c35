#include "net/websocket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <thread>

#include "net/websocket_frame.h"
#include "unit/net/loopback_listener.h"
#include "util/fs.h"

namespace berth::net {
namespace {

using ws::FrameDecoder;
using ws::Opcode;
using namespace std::chrono_literals;

// A server frame (never masked) with FIN as given.
std::string ServerFrame(uint8_t op, std::string_view payload, bool fin = true) {
  std::string f;
  f.push_back(static_cast<char>((fin ? 0x80 : 0) | op));
  if (payload.size() < 126) {
    f.push_back(static_cast<char>(payload.size()));
  } else if (payload.size() <= 0xFFFF) {
    f.push_back(126);
    f.push_back(static_cast<char>(payload.size() >> 8));
    f.push_back(static_cast<char>(payload.size() & 0xFF));
  } else {
    f.push_back(127);
    for (int s = 56; s >= 0; s -= 8) f.push_back(static_cast<char>((payload.size() >> s) & 0xFF));
  }
  f.append(payload);
  return f;
}

// Unmasks a client frame: {opcode, payload}; the mask bit must be set.
std::pair<int, std::string> ReadClientFrame(std::string_view f) {
  EXPECT_GE(f.size(), 6u);
  EXPECT_TRUE(static_cast<uint8_t>(f[1]) & 0x80) << "client frames are masked";
  uint64_t len = static_cast<uint8_t>(f[1]) & 0x7F;
  size_t at = 2;
  if (len == 126) {
    len = (uint64_t(uint8_t(f[2])) << 8) | uint8_t(f[3]);
    at = 4;
  } else if (len == 127) {
    len = 0;
    for (int i = 0; i < 8; ++i) len = (len << 8) | uint8_t(f[2 + i]);
    at = 10;
  }
  std::string_view mask = f.substr(at, 4);
  std::string out(f.substr(at + 4, len));
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<char>(out[i] ^ mask[i % 4]);
  return {static_cast<uint8_t>(f[0]) & 0x0F, out};
}

TEST(WebSocketFrame, AcceptKeyIsTheRfcExample) {
  EXPECT_EQ(ws::AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WebSocketFrame, EncodedFramesAreMaskedWithEveryLengthForm) {
  for (size_t n : {0u, 5u, 125u, 126u, 65535u, 65536u}) {
    std::string payload(n, 'x');
    for (size_t i = 0; i < n; ++i) payload[i] = static_cast<char>(i * 7);
    auto f = ws::EncodeFrame(Opcode::kBinary, payload, {1, 2, 3, 4});
    EXPECT_EQ(static_cast<uint8_t>(f[0]), 0x82) << n;
    auto [op, back] = ReadClientFrame(f);
    EXPECT_EQ(op, 2);
    EXPECT_EQ(back, payload) << n;
  }
}

TEST(WebSocketFrame, DecoderReassemblesFragmentsAroundControlFramesByteByByte) {
  std::string wire = ServerFrame(0x2, "\x01hel", false) + ServerFrame(0x9, "ping") +
                     ServerFrame(0x0, "lo ", false) + ServerFrame(0x0, "world") +
                     ServerFrame(0x1, std::string(300, 'a')) + ServerFrame(0x8, "\x03\xe8");
  FrameDecoder d;
  std::vector<ws::Message> got;
  for (char c : wire) {  // one byte at a time: every partial state is visited
    d.Feed(std::string_view(&c, 1));
    for (;;) {
      auto m = d.Next();
      ASSERT_TRUE(m) << m.error().message;
      if (!*m) break;
      got.push_back(std::move(**m));
    }
  }
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].opcode, Opcode::kPing);
  EXPECT_EQ(got[0].payload, "ping");
  EXPECT_EQ(got[1].opcode, Opcode::kBinary);
  EXPECT_EQ(got[1].payload, "\x01hello world");
  EXPECT_EQ(got[2].opcode, Opcode::kText);
  EXPECT_EQ(got[2].payload, std::string(300, 'a'));
  EXPECT_EQ(got[3].opcode, Opcode::kClose);
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(WebSocketFrame, ProtocolViolationsAreErrorsThatEndTheStream) {
  struct Case {
    std::string wire;
    std::string says;
  };
  std::string masked = ServerFrame(0x2, "x");
  masked[1] = static_cast<char>(masked[1] | 0x80);
  std::string huge64("\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x01", 10);
  const Case cases[] = {
      {std::string("\xc2\x00", 2), "reserved bits"},
      {std::string("\x83\x00", 2), "unknown opcode 3"},
      {masked, "masked"},
      {ServerFrame(0x9, "p", false), "control frame"},
      {ServerFrame(0x9, std::string(126, 'p')), "control frame"},
      {ServerFrame(0x0, "x"), "continuation"},
      {ServerFrame(0x2, "a", false) + ServerFrame(0x2, "b"), "inside a fragmented"},
      {huge64, "most significant bit"},
  };
  for (const auto& c : cases) {
    FrameDecoder d;
    d.Feed(c.wire);
    Result<std::optional<ws::Message>> m = d.Next();
    while (m && *m) m = d.Next();
    ASSERT_FALSE(m) << c.says;
    EXPECT_NE(m.error().message.find(c.says), std::string::npos) << m.error().message;
    EXPECT_FALSE(d.Next()) << "a failed stream stays failed";
  }
}

TEST(WebSocketFrame, AMessageOverTheLimitIsRefusedBeforeItArrives) {
  FrameDecoder d(1000);
  d.Feed(ServerFrame(0x2, std::string(600, 'a'), false));
  auto first = d.Next();
  ASSERT_TRUE(first);
  EXPECT_FALSE(*first);
  // Only the header of the second fragment: its declared length already exceeds the limit.
  d.Feed(ServerFrame(0x0, std::string(500, 'b')).substr(0, 4));
  auto m = d.Next();
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("larger than 1000"), std::string::npos);
}

// A loopback peer that answers one upgrade with `respond(request)`, then runs `after(fd)`.
class Peer {
 public:
  Peer(std::function<std::string(const std::string&)> respond,
       std::function<void(int)> after = nullptr) {
    fd_ = testing::ListenOnLoopback(&port_, 1);
    thread_ = std::thread([this, respond, after] {
      util::UniqueFd c(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!c) return;
      std::string req;
      char buf[4096];
      while (req.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::read(c.get(), buf, sizeof buf);
        if (n <= 0) return;
        req.append(buf, static_cast<size_t>(n));
      }
      request_ = req;
      std::string out = respond(req);
      (void)!::write(c.get(), out.data(), out.size());
      if (after) after(c.get());
    });
  }
  ~Peer() {
    if (thread_.joinable()) thread_.join();
  }
  ClientOptions Options() const {
    ClientOptions o;
    o.base_url = "http://127.0.0.1:" + std::to_string(port_);
    return o;
  }
  const std::string& request() const { return request_; }

 private:
  util::UniqueFd fd_;
  int port_ = 0;
  std::thread thread_;
  std::string request_;
};

std::string HeaderOf(const std::string& req, const std::string& name) {
  auto at = req.find("\r\n" + name + ": ");
  if (at == std::string::npos) return "";
  at += name.size() + 4;
  return req.substr(at, req.find("\r\n", at) - at);
}

std::string Switching(const std::string& req, const std::string& protocol) {
  return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: " +
         ws::AcceptKey(HeaderOf(req, "Sec-WebSocket-Key")) + "\r\n" +
         (protocol.empty() ? "" : "Sec-WebSocket-Protocol: " + protocol + "\r\n") + "\r\n";
}

std::string ReadFrame(int fd) {
  std::string got;
  char buf[1024];
  while (got.size() < 6) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

UpgradeRequest Request() {
  UpgradeRequest r;
  r.path = "/exec?command=true";
  r.protocols = {"v5.channel.k8s.io", "v4.channel.k8s.io"};
  r.bearer_token = "t0ken";
  r.timeout = 5s;
  return r;
}

TEST(WebSocketClient, UpgradesAnswersPingsAndReadsMessagesSentWithTheAnswer) {
  std::string pong;
  Peer peer(
      [](const std::string& req) {
        // The first frames ride in the same write as the 101.
        return Switching(req, "v4.channel.k8s.io") + ServerFrame(0x2, std::string("\x01out", 4)) +
               ServerFrame(0x9, "are you there");
      },
      [&pong](int fd) {
        pong = ReadFrame(fd);
        std::string rest = ServerFrame(0x2, "\x03{}") + ServerFrame(0x8, "");
        (void)!::write(fd, rest.data(), rest.size());
      });
  auto up = WebSocket::Connect(peer.Options(), Request());
  ASSERT_TRUE(up) << up.error().message;
  ASSERT_TRUE(up->socket);
  auto& sock = *up->socket;
  EXPECT_EQ(sock.protocol(), "v4.channel.k8s.io");
  auto deadline = std::chrono::steady_clock::now() + 5s;
  auto m1 = sock.Receive(deadline);
  ASSERT_TRUE(m1) << m1.error().message;
  EXPECT_EQ(m1->payload, std::string("\x01out", 4));
  auto m2 = sock.Receive(deadline);  // the ping is answered on the way
  ASSERT_TRUE(m2) << m2.error().message;
  EXPECT_EQ(m2->payload, "\x03{}");
  auto m3 = sock.Receive(deadline);
  ASSERT_TRUE(m3) << m3.error().message;
  EXPECT_EQ(m3->opcode, Opcode::kClose);
  sock.Close();
  up->socket.reset();
  auto [op, payload] = ReadClientFrame(pong);
  EXPECT_EQ(op, 0xA);
  EXPECT_EQ(payload, "are you there");
  const auto& req = peer.request();
  EXPECT_EQ(req.rfind("GET /exec?command=true HTTP/1.1\r\n", 0), 0u) << req;
  EXPECT_EQ(HeaderOf(req, "Authorization"), "Bearer t0ken");
  EXPECT_EQ(HeaderOf(req, "Sec-WebSocket-Protocol"), "v5.channel.k8s.io, v4.channel.k8s.io");
  EXPECT_EQ(HeaderOf(req, "Sec-WebSocket-Version"), "13");
  EXPECT_EQ(HeaderOf(req, "Host"), peer.Options().base_url.substr(7));  // after "http://"
}

TEST(WebSocketClient, ARefusalComesBackWithItsStatusAndBody) {
  Peer plain([](const std::string&) {
    return std::string(
        "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: 27\r\n\r\n"
        "{\"reason\":\"Forbidden\",\"x\":1}");
  });
  auto up = WebSocket::Connect(plain.Options(), Request());
  ASSERT_TRUE(up) << up.error().message;
  EXPECT_FALSE(up->socket);
  EXPECT_EQ(up->refused.status, 403);
  EXPECT_EQ(up->refused.body, "{\"reason\":\"Forbidden\",\"x\":1");  // Content-Length is obeyed

  Peer chunked([](const std::string&) {
    return std::string(
        "HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  });
  auto up2 = WebSocket::Connect(chunked.Options(), Request());
  ASSERT_TRUE(up2) << up2.error().message;
  EXPECT_EQ(up2->refused.status, 400);
  EXPECT_EQ(up2->refused.body, "hello world");
}

TEST(WebSocketClient, A101ThatBreaksTheHandshakeIsAnError) {
  Peer wrong_key([](const std::string&) {
    return std::string(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
  });
  auto up = WebSocket::Connect(wrong_key.Options(), Request());
  ASSERT_FALSE(up);
  EXPECT_NE(up.error().message.find("Sec-WebSocket-Accept"), std::string::npos);

  Peer other_protocol(
      [](const std::string& req) { return Switching(req, "base64.channel.k8s.io"); });
  auto up2 = WebSocket::Connect(other_protocol.Options(), Request());
  ASSERT_FALSE(up2);
  EXPECT_NE(up2.error().message.find("never offered"), std::string::npos);
}

TEST(WebSocketClient, ASilentServerMeetsTheDeadline) {
  Peer silent([](const std::string& req) { return Switching(req, ""); },
              [](int) { std::this_thread::sleep_for(1500ms); });
  auto up = WebSocket::Connect(silent.Options(), Request());
  ASSERT_TRUE(up) << up.error().message;
  ASSERT_TRUE(up->socket);
  auto m = up->socket->Receive(std::chrono::steady_clock::now() + 300ms);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, ErrorCode::kTimeout);
}

}  // namespace
}  // namespace berth::net
