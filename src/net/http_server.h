// An HTTP/1.1 server over libmicrohttpd, on a unix socket or a TCP address: one daemon per
// listener, each with its own bounded connection count, so a flood on TCP never reaches the
// unix socket. Handlers run on the connection's own thread and may block (watch streams, log
// follows, store writes) without stalling others; see ListenerLimits for the bounds.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "berth/result.h"

namespace berth::net {

// The bounds of one listener (docs/configuration.md, [server] api_*).
struct ListenerLimits {
  // Open connections; one more is accepted and closed at once. Also bounds the threads.
  unsigned max_connections = 256;
  // Open connections from one client address (TCP only); 0 = no per-client bound.
  unsigned max_connections_per_client = 0;
  // A connection that sends or takes nothing for this long is closed: a request that never
  // finishes its headers or body, or an idle keep-alive. Not while a handler runs, and never
  // for a streamed body (a follow may be legitimately silent; it still counts as a connection).
  unsigned idle_timeout_seconds = 30;
  // Per-connection buffer: caps the request line plus headers (431 beyond it).
  size_t connection_memory_bytes = 64 * 1024;
};

struct ServerRequest {
  std::string method;
  std::string path;  // percent-decoded, without the query; never holds a control byte
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string peer;  // "unix" or the client address
  // On the unix socket: the connecting process's user, from the kernel (SO_PEERCRED): the user
  // name, or "uid <n>" without one; "" elsewhere.
  std::string peer_user;
  // A spooled body (HttpServer::SetSpoolRule): an unnamed temporary file holding it, owned by
  // the server and closed after the handler returns; -1 when the body is in `body`.
  int body_fd = -1;
  int64_t body_size = 0;
};

// Whether a request's body is spooled to a temporary file instead of memory, decided from its
// method, path (as sent, still percent-encoded, with the query) and headers before any of the
// body is read: the largest body accepted, or 0 = not spooled (the 1 MiB in-memory limit).
// `peer` as in ServerRequest.
using SpoolRule = std::function<int64_t(const std::string& method, const std::string& target,
                                        const std::map<std::string, std::string>& headers,
                                        const std::string& peer)>;

// A streamed body: Next() blocks until it has data; returns false at the end.
class BodyStream {
 public:
  virtual ~BodyStream() = default;
  virtual bool Next(std::string& chunk) = 0;
};

struct ServerResponse {
  int status = 200;
  std::map<std::string, std::string> headers;
  std::string body;
  std::unique_ptr<BodyStream> stream;  // set = body is streamed (chunked)

  static ServerResponse Json(int status, std::string body) {
    ServerResponse r;
    r.status = status;
    r.headers["Content-Type"] = "application/json";
    r.body = std::move(body);
    return r;
  }
};

using Handler = std::function<ServerResponse(const ServerRequest&)>;

class HttpServer {
 public:
  explicit HttpServer(Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Set before listening. Spooled bodies go to unnamed files (O_TMPFILE) in `dir`, so a crash
  // leaves nothing behind.
  void SetSpoolRule(SpoolRule rule, std::string dir);
  // Creates the socket (mode 0660, replacing a stale one) and starts serving.
  Status ListenUnix(const std::string& path, const ListenerLimits& limits = {});
  // "127.0.0.1:8080" or ":8080".
  Status ListenTcp(const std::string& address, const ListenerLimits& limits = {});
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::net
