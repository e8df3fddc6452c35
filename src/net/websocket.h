// A blocking WebSocket client (RFC 6455) for streams a server upgrades to, such as the
// Kubernetes exec subresource. libcurl makes the connection (TCP or a unix socket, TLS with the
// same options as HttpClient) in CONNECT_ONLY mode; the upgrade and the frames are ours,
// because Debian's libcurl is built without its WebSocket support. Every call has a deadline.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "berth/result.h"
#include "net/http_client.h"
#include "net/websocket_frame.h"

namespace berth::net {

struct UpgradeRequest {
  std::string path;  // with its query, appended to the options' base_url
  std::map<std::string, std::string> headers;
  std::vector<std::string> protocols;        // Sec-WebSocket-Protocol offers, preferred first
  std::string bearer_token;                  // "Authorization: Bearer" when set
  std::chrono::milliseconds timeout{30000};  // connect + handshake
};

class WebSocket;

// What Connect gives: the socket when the server switched protocols, else its answer (status,
// lower-case headers, the first 64 KiB of its body) for the caller to map to an error.
struct Upgrade {
  std::unique_ptr<WebSocket> socket;
  HttpResponse refused;
};

class WebSocket {
 public:
  // Transport failures are kUnavailable or kTimeout; a server that answers without switching
  // is an Upgrade without socket; a 101 that breaks the protocol (wrong accept key, a
  // sub-protocol not offered) is kUnavailable.
  static Result<Upgrade> Connect(const ClientOptions& opts, const UpgradeRequest& req);

  ~WebSocket();
  WebSocket(const WebSocket&) = delete;
  WebSocket& operator=(const WebSocket&) = delete;

  // The sub-protocol the server chose ("" when none was offered).
  const std::string& protocol() const { return protocol_; }

  Status Send(ws::Opcode op, std::string_view payload,
              std::chrono::steady_clock::time_point deadline);
  // The next data message or close frame; pings are answered and pongs skipped on the way.
  // The connection ending without a close frame is kUnavailable; the deadline, kTimeout.
  Result<ws::Message> Receive(std::chrono::steady_clock::time_point deadline);
  // Sends a close frame (normal closure) once, best effort, without waiting for the answer.
  void Close();

 private:
  struct Impl;
  explicit WebSocket(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::string protocol_;
};

}  // namespace berth::net
