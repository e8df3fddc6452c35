#include "cli/api_client.h"

namespace berth::cli {

using nlohmann::json;

ApiClient::ApiClient(const Endpoint& ep, std::chrono::milliseconds timeout) : ep_(ep) {
  net::ClientOptions o;
  if (!ep.server_url.empty()) {
    o.base_url = ep.server_url;
    while (!o.base_url.empty() && o.base_url.back() == '/') o.base_url.pop_back();
  } else {
    o.base_url = "http://berth";
    o.unix_socket = ep.socket;
  }
  o.timeout = timeout;
  http_ = std::make_unique<net::HttpClient>(o);
  if (!ep.token.empty()) http_->set_bearer_token(ep.token);
}

Error ApiClient::Unreachable(const Error& e) const {
  std::string where = ep_.server_url.empty() ? ep_.socket : ep_.server_url;
  return Error{ErrorCode::kUnavailable,
               "cannot reach berth serve at " + where +
                   " (is it running? start it with `berth serve`): " + e.message};
}

namespace {
Error FromResponse(const net::HttpResponse& r) {
  try {
    auto j = json::parse(r.body);
    if (j.contains("error"))
      return Error{ErrorCodeFromName(j["error"].value("code", "")),
                   j["error"].value("message", "")};
  } catch (...) {
  }
  return Error{ErrorCode::kInternal, "server answered HTTP " + std::to_string(r.status)};
}
}  // namespace

Result<std::string> ApiClient::Send(const std::string& method, const std::string& path,
                                    const std::string& body, const std::string& content_type) {
  net::HttpRequest req;
  req.method = method;
  req.path = path;
  req.body = body;
  if (!content_type.empty()) req.headers["Content-Type"] = content_type;
  // Over TCP without a token the server takes writes only with this header (docs/api.md):
  // a cross-origin browser form cannot send it.
  req.headers["X-Berth-Client"] = "cli";
  auto r = http_->Send(req);
  if (!r) return Fail(Unreachable(r.error()));
  if (r->status < 200 || r->status >= 300) return Fail(FromResponse(*r));
  return std::move(r->body);
}

Result<json> ApiClient::Call(const std::string& method, const std::string& path,
                             const std::string& body, const std::string& content_type) {
  auto r = Send(method, path, body, content_type);
  if (!r) return Fail(r.error());
  if (r->empty()) return json::object();
  try {
    return json::parse(*r);
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInternal, std::string("bad JSON from server: ") + e.what());
  }
}

Result<std::string> ApiClient::CallRaw(const std::string& method, const std::string& path) {
  return Send(method, path, "", "");
}

Status ApiClient::StreamLines(const std::string& path, const std::function<bool(const json&)>& fn) {
  net::HttpRequest req;
  req.path = path;
  req.timeout = std::chrono::milliseconds(0);
  net::LineSplitter splitter;
  auto r = http_->Stream(req, [&](std::string_view chunk) {
    return splitter.Feed(chunk, [&](std::string_view line) {
      if (line.empty()) return true;
      try {
        return fn(json::parse(line));  // an error answer is not streamed: see below
      } catch (...) {
        return true;
      }
    });
  });
  if (!r) return Fail(Unreachable(r.error()));
  if (r->status < 200 || r->status >= 300) return Fail(FromResponse(*r));
  return {};
}

Status ApiClient::StreamText(const std::string& path,
                             const std::function<bool(std::string_view)>& fn) {
  net::HttpRequest req;
  req.path = path;
  req.timeout = std::chrono::milliseconds(0);
  auto r = http_->Stream(req, [&](std::string_view chunk) { return fn(chunk); });
  if (!r) return Fail(Unreachable(r.error()));
  if (r->status >= 300) return Fail(FromResponse(*r));
  return {};
}

}  // namespace berth::cli
