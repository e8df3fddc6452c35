// The CLI's client of the REST API: a unix socket by default, or --server URL with a token.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "berth/result.h"
#include "net/http_client.h"

namespace berth::cli {

struct Endpoint {
  std::string socket;      // unix socket path
  std::string server_url;  // "http://host:port" instead of the socket
  std::string token;
};

class ApiClient {
 public:
  // `timeout` bounds each whole request (streams excepted).
  explicit ApiClient(const Endpoint& ep,
                     std::chrono::milliseconds timeout = std::chrono::milliseconds(60000));

  // Sends a request; a non-2xx answer becomes the Error the server described.
  // `content_type` "" = application/json (when there is a body).
  Result<nlohmann::json> Call(const std::string& method, const std::string& path,
                              const std::string& body = "", const std::string& content_type = "");
  // The same, answering the body's text unparsed (a reader made for its shape parses it).
  Result<std::string> CallRaw(const std::string& method, const std::string& path);
  // Streams newline-delimited JSON; fn returns false to stop.
  Status StreamLines(const std::string& path, const std::function<bool(const nlohmann::json&)>& fn);
  // Streams raw text (logs).
  Status StreamText(const std::string& path, const std::function<bool(std::string_view)>& fn);

 private:
  Result<std::string> Send(const std::string& method, const std::string& path,
                           const std::string& body, const std::string& content_type);
  Error Unreachable(const Error& e) const;
  Endpoint ep_;
  std::unique_ptr<net::HttpClient> http_;
};

}  // namespace berth::cli
