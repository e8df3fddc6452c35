// A blocking HTTP/1.1 client over libcurl: TCP or a unix socket, TLS with in-memory or file
// certificates, bearer tokens, and streaming bodies (watches, logs, pull progress).
// One HttpClient per thread; it keeps its connection alive between requests.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "berth/result.h"

namespace berth::net {

struct TlsOptions {
  std::string ca_file;    // PEM file
  std::string ca_pem;     // PEM data (certificate-authority-data)
  std::string cert_file;  // client certificate
  std::string cert_pem;
  std::string key_file;
  std::string key_pem;
  bool insecure_skip_verify = false;
};

struct ClientOptions {
  std::string base_url;     // "http://127.0.0.1:2379", "https://127.0.0.1:6443", "http://d"
  std::string unix_socket;  // set = connect here whatever base_url's host says
  TlsOptions tls;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{30000};  // whole request; 0 = none (streams)
};

struct HttpRequest {
  std::string method = "GET";
  std::string path;  // appended to base_url, with its query
  std::map<std::string, std::string> headers;
  std::string body;
  std::chrono::milliseconds timeout{-1};  // -1 = client default; 0 = none
  // Set to true (from any thread) to end the request, even an idle stream, within ~1 s.
  const std::atomic<bool>* cancel = nullptr;
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// Receives a streamed body chunk by chunk; return false to stop the transfer.
using ChunkFn = std::function<bool(std::string_view)>;

class HttpClient {
 public:
  explicit HttpClient(ClientOptions opts);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Transport failures are kUnavailable (or kTimeout); any HTTP status is a response.
  Result<HttpResponse> Send(const HttpRequest& req);
  // Streams a 2xx body into `on_chunk` (headers and status land in the returned response; body
  // stays empty). Any other answer is not streamed: its body (the first 64 KiB) is the
  // response's, so an error message never reaches a caller's output. A false return from
  // on_chunk ends the transfer without an error.
  Result<HttpResponse> Stream(const HttpRequest& req, const ChunkFn& on_chunk);
  // Aborts the Stream() running on another thread, or the next one if none runs yet.
  void Cancel();

  const ClientOptions& options() const { return opts_; }
  void set_bearer_token(std::string token) { bearer_ = std::move(token); }

 private:
  struct Impl;
  ClientOptions opts_;
  std::string bearer_;
  std::unique_ptr<Impl> impl_;
};

// Splits a chunked stream into newline-delimited records (JSON lines, SSE lines).
class LineSplitter {
 public:
  // Calls fn for each complete line (without the newline); stops if fn returns false.
  bool Feed(std::string_view chunk, const std::function<bool(std::string_view)>& fn);
  const std::string& pending() const { return buf_; }

 private:
  std::string buf_;
};

}  // namespace berth::net
