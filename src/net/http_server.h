// An HTTP/1.1 server over libmicrohttpd, on a unix socket or a TCP address. One thread per
// connection, so handlers may block (watch streams, log follows) without stalling others.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "berth/result.h"

namespace berth::net {

struct ServerRequest {
  std::string method;
  std::string path;  // without the query
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string peer;  // "unix" or the client address
};

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

  // Creates the socket (mode 0660, replacing a stale one) and starts serving.
  Status ListenUnix(const std::string& path);
  // "127.0.0.1:8080" or ":8080".
  Status ListenTcp(const std::string& address);
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::net
