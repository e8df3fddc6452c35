#include "net/websocket.h"

#include <openssl/rand.h>
#include <poll.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "net/curl_connection.h"
#include "util/base64.h"
#include "util/strings.h"

namespace berth::net {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxHead = 64 * 1024;  // status line + headers of the upgrade answer
constexpr size_t kMaxRefusalBody = 64 * 1024;

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    for (auto& c : out) c = static_cast<char>(Clock::now().time_since_epoch().count() & 0xFF);
  return out;
}

// "https://host:6443/x" -> "host:6443": the Host header of the upgrade request.
std::string HostOf(const std::string& base_url) {
  std::string_view u = base_url;
  if (auto p = u.find("://"); p != std::string_view::npos) u.remove_prefix(p + 3);
  return std::string(u.substr(0, u.find('/')));
}

// A chunked body as received so far, decoded; `done` once the last chunk was seen.
std::string Dechunk(std::string_view in, bool* done) {
  std::string out;
  *done = false;
  for (;;) {
    size_t eol = in.find("\r\n");
    if (eol == std::string_view::npos) return out;
    size_t n = 0;
    size_t i = 0;
    for (; i < eol && std::isxdigit(static_cast<unsigned char>(in[i])) && n < (1u << 24); ++i)
      n = n * 16 +
          static_cast<size_t>(std::isdigit(static_cast<unsigned char>(in[i]))
                                  ? in[i] - '0'
                                  : (std::tolower(static_cast<unsigned char>(in[i])) - 'a' + 10));
    if (i == 0) return out;
    if (n == 0) {
      *done = true;
      return out;
    }
    if (in.size() < eol + 2 + n) return out;
    out.append(in.substr(eol + 2, n));
    in.remove_prefix(std::min(in.size(), eol + 2 + n + 2));
  }
}

}  // namespace

struct WebSocket::Impl {
  CURL* curl = nullptr;
  std::string url;
  ws::FrameDecoder decoder;
  bool closed_sent = false;
  ~Impl() {
    if (curl) curl_easy_cleanup(curl);
  }

  // Waits until the socket is ready for `events` or the deadline passes.
  Status Wait(short events, Clock::time_point deadline) {
    curl_socket_t fd = CURL_SOCKET_BAD;
    if (curl_easy_getinfo(curl, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK || fd == CURL_SOCKET_BAD)
      return Fail(ErrorCode::kUnavailable, url + ": connection lost");
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return Fail(ErrorCode::kTimeout, url + ": timed out");
      pollfd p{fd, events, 0};
      int r = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
      if (r > 0) return {};
      if (r < 0 && errno != EINTR) return Fail(ErrorCode::kUnavailable, url + ": poll failed");
    }
  }

  Status SendAll(std::string_view data, Clock::time_point deadline) {
    while (!data.empty()) {
      size_t n = 0;
      CURLcode rc = curl_easy_send(curl, data.data(), data.size(), &n);
      if (rc == CURLE_AGAIN) {
        if (auto s = Wait(POLLOUT, deadline); !s) return s;
        continue;
      }
      if (rc != CURLE_OK)
        return Fail(ErrorCode::kUnavailable, url + ": send: " + curl_easy_strerror(rc));
      data.remove_prefix(n);
    }
    return {};
  }

  // Some bytes, or 0 when the peer closed the connection. libcurl may hold decrypted TLS data
  // the socket no longer shows, so it is asked first and the socket waited on only after.
  Result<size_t> RecvSome(char* buf, size_t cap, Clock::time_point deadline) {
    for (;;) {
      size_t n = 0;
      CURLcode rc = curl_easy_recv(curl, buf, cap, &n);
      if (rc == CURLE_OK) return n;
      if (rc != CURLE_AGAIN)
        return Fail(ErrorCode::kUnavailable, url + ": receive: " + curl_easy_strerror(rc));
      if (auto s = Wait(POLLIN, deadline); !s) return Fail(s.error());
    }
  }
};

WebSocket::WebSocket(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WebSocket::~WebSocket() = default;

Result<Upgrade> WebSocket::Connect(const ClientOptions& opts, const UpgradeRequest& req) {
  EnsureCurlInitialised();
  const auto deadline = Clock::now() + req.timeout;
  auto impl = std::make_unique<Impl>();
  impl->curl = curl_easy_init();
  if (!impl->curl) return Fail(ErrorCode::kInternal, "curl_easy_init failed");
  impl->url = opts.base_url + req.path;
  CURL* c = impl->curl;
  ApplyConnectionOptions(c, opts, impl->url);
  curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
  // ALPN must not agree on HTTP/2: the upgrade below is HTTP/1.1.
  curl_easy_setopt(c, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
  if (CURLcode rc = curl_easy_perform(c); rc != CURLE_OK)
    return Fail(rc == CURLE_OPERATION_TIMEDOUT ? ErrorCode::kTimeout : ErrorCode::kUnavailable,
                impl->url + ": " + curl_easy_strerror(rc));

  const std::string key = util::Base64Encode(RandomBytes(16));
  std::string head = "GET " + req.path + " HTTP/1.1\r\nHost: " + HostOf(opts.base_url) +
                     "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13"
                     "\r\nSec-WebSocket-Key: " +
                     key + "\r\n";
  if (!req.protocols.empty()) {
    head += "Sec-WebSocket-Protocol: ";
    for (size_t i = 0; i < req.protocols.size(); ++i) head += (i ? ", " : "") + req.protocols[i];
    head += "\r\n";
  }
  if (!req.bearer_token.empty()) head += "Authorization: Bearer " + req.bearer_token + "\r\n";
  for (const auto& [k, v] : req.headers) head += k + ": " + v + "\r\n";
  head += "\r\n";
  if (auto s = impl->SendAll(head, deadline); !s) return Fail(s.error());

  // The answer's head; anything after it is already frames (or the refusal's body).
  std::string in;
  size_t end = std::string::npos;
  char buf[16384];
  while ((end = in.find("\r\n\r\n")) == std::string::npos) {
    if (in.size() > kMaxHead)
      return Fail(ErrorCode::kUnavailable,
                  impl->url + ": the upgrade answer's headers exceed 64 KiB");
    auto n = impl->RecvSome(buf, sizeof buf, deadline);
    if (!n) return Fail(n.error());
    if (*n == 0)
      return Fail(ErrorCode::kUnavailable, impl->url + ": connection closed during the upgrade");
    in.append(buf, *n);
  }
  Upgrade up;
  HttpResponse& resp = up.refused;
  auto lines = util::Split(std::string_view(in).substr(0, end), '\n');
  if (lines.empty() || !util::StartsWith(lines[0], "HTTP/1.") || lines[0].size() < 12)
    return Fail(ErrorCode::kUnavailable, impl->url + ": not an HTTP answer to the upgrade");
  resp.status = std::strtol(lines[0].c_str() + 9, nullptr, 10);
  for (size_t i = 1; i < lines.size(); ++i) {
    auto colon = lines[i].find(':');
    if (colon == std::string::npos) continue;
    resp.headers[util::ToLower(util::Trim(std::string_view(lines[i]).substr(0, colon)))] =
        util::Trim(std::string_view(lines[i]).substr(colon + 1));
  }
  std::string rest = in.substr(end + 4);

  if (resp.status != 101) {
    // Refused: its body says why (an API Status, mostly). Read what fits, within the deadline.
    const bool chunked = util::ToLower(resp.headers["transfer-encoding"]) == "chunked";
    size_t want = kMaxRefusalBody;
    if (auto it = resp.headers.find("content-length"); it != resp.headers.end())
      want = std::min<size_t>(kMaxRefusalBody, std::strtoull(it->second.c_str(), nullptr, 10));
    bool done = false;
    for (;;) {
      if (chunked) (void)Dechunk(rest, &done);
      if (done || (!chunked && rest.size() >= want) || rest.size() >= kMaxRefusalBody) break;
      auto n = impl->RecvSome(buf, sizeof buf, deadline);
      if (!n || *n == 0) break;  // the head is the answer; a cut body only shortens the reason
      rest.append(buf, *n);
    }
    resp.body = chunked ? Dechunk(rest, &done) : rest.substr(0, want);
    return up;
  }
  if (util::ToLower(resp.headers["upgrade"]) != "websocket")
    return Fail(ErrorCode::kUnavailable, impl->url + ": 101 without Upgrade: websocket");
  if (resp.headers["sec-websocket-accept"] != ws::AcceptKey(key))
    return Fail(ErrorCode::kUnavailable, impl->url + ": wrong Sec-WebSocket-Accept");
  std::string proto = resp.headers["sec-websocket-protocol"];
  if (!proto.empty() &&
      std::find(req.protocols.begin(), req.protocols.end(), proto) == req.protocols.end())
    return Fail(ErrorCode::kUnavailable,
                impl->url + ": the server chose sub-protocol \"" + proto + "\", never offered");
  impl->decoder.Feed(rest);
  up.socket.reset(new WebSocket(std::move(impl)));
  up.socket->protocol_ = std::move(proto);
  return up;
}

Status WebSocket::Send(ws::Opcode op, std::string_view payload, Clock::time_point deadline) {
  auto m = RandomBytes(4);
  std::array<uint8_t, 4> mask{};
  std::memcpy(mask.data(), m.data(), 4);
  return impl_->SendAll(ws::EncodeFrame(op, payload, mask), deadline);
}

Result<ws::Message> WebSocket::Receive(Clock::time_point deadline) {
  char buf[16384];
  for (;;) {
    auto next = impl_->decoder.Next();
    if (!next) return Fail(Wrap(next.error(), impl_->url));
    if (*next) {
      ws::Message& m = **next;
      if (m.opcode == ws::Opcode::kPing) {
        if (auto s = Send(ws::Opcode::kPong, m.payload, deadline); !s) return Fail(s.error());
        continue;
      }
      if (m.opcode == ws::Opcode::kPong) continue;
      return std::move(m);
    }
    auto n = impl_->RecvSome(buf, sizeof buf, deadline);
    if (!n) return Fail(n.error());
    if (*n == 0)
      return Fail(ErrorCode::kUnavailable,
                  impl_->url + ": connection closed without a close frame");
    impl_->decoder.Feed(std::string_view(buf, *n));
  }
}

void WebSocket::Close() {
  if (impl_->closed_sent) return;
  impl_->closed_sent = true;
  const std::string normal("\x03\xe8", 2);  // 1000
  (void)Send(ws::Opcode::kClose, normal, Clock::now() + std::chrono::seconds(1));
}

}  // namespace berth::net
