#include "router/wake_poller.h"

#include <charconv>

#include <spdlog/spdlog.h>

#include <chrono>

#include "berth/validate.h"
#include "net/http_client.h"
#include "util/strings.h"

namespace berth::router {

namespace {
// Each long poll waits this long for a wake request: bounds how long Stop() takes.
constexpr int kPollWaitSeconds = 2;
}  // namespace

std::vector<std::pair<std::string, std::string>> ParseWakeLines(std::string_view body) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& line : util::Split(body, '\n', /*skip_empty=*/true)) {
    auto parts = util::Split(line, '/', /*skip_empty=*/false);
    if (parts.size() != 2 || !ValidateNamespace(parts[0]) || !ValidateName(parts[1])) {
      spdlog::warn("router: ignoring a malformed wake request ({} bytes)", line.size());
      continue;
    }
    out.emplace_back(parts[0], parts[1]);
  }
  return out;
}

std::map<std::string, int64_t> ParseHitLines(std::string_view body) {
  std::map<std::string, int64_t> out;
  for (const auto& line : util::Split(body, '\n', /*skip_empty=*/true)) {
    auto sp = line.find(' ');
    if (sp == std::string::npos) continue;
    std::string key = line.substr(0, sp);
    auto parts = util::Split(key, '/', /*skip_empty=*/false);
    if (parts.size() != 2 || !ValidateNamespace(parts[0]) || !ValidateName(parts[1])) continue;
    int64_t n = 0;
    auto num = std::string_view(line).substr(sp + 1);
    auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), n);
    if (ec != std::errc() || p != num.data() + num.size() || n < 0) continue;
    out[key] = n;
  }
  return out;
}

Result<std::map<std::string, int64_t>> ReadHits(const std::string& control_socket) {
  net::ClientOptions co;
  co.base_url = "http://berth-control";
  co.unix_socket = control_socket;
  co.connect_timeout = std::chrono::milliseconds(2000);
  co.timeout = std::chrono::milliseconds(2000);
  net::HttpClient client(co);
  net::HttpRequest req;
  req.path = "/berth/hits";
  auto r = client.Send(req);
  if (!r) return Fail(r.error());
  if (r->status != 200)
    return Fail(ErrorCode::kUnavailable, "nginx /berth/hits: HTTP " + std::to_string(r->status));
  return ParseHitLines(r->body);
}

WakePoller::WakePoller(std::string control_socket, WakeFn fn)
    : socket_(std::move(control_socket)), fn_(std::move(fn)) {}

WakePoller::~WakePoller() {
  Stop();
}

void WakePoller::Start() {
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void WakePoller::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WakePoller::Loop() {
  net::ClientOptions co;
  co.base_url = "http://berth-control";
  co.unix_socket = socket_;
  co.connect_timeout = std::chrono::milliseconds(2000);
  co.timeout = std::chrono::seconds(kPollWaitSeconds + 10);
  net::HttpClient client(co);
  bool warned = false;
  while (!stopping_) {
    net::HttpRequest req;
    req.path = "/berth/wakes?wait=" + std::to_string(kPollWaitSeconds);
    req.cancel = &stopping_;
    auto r = client.Send(req);
    if (stopping_) break;
    if (!r || r->status != 200) {
      // nginx restarting or not up yet: quietly try again (the route sync restarts it).
      if (!warned)
        spdlog::debug("router: polling wake requests: {}",
                      r ? "HTTP " + std::to_string(r->status) : r.error().message);
      warned = true;
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait_for(l, std::chrono::milliseconds(500), [this] { return stopping_.load(); });
      continue;
    }
    warned = false;
    for (const auto& [ns, name] : ParseWakeLines(r->body)) {
      spdlog::info("router: a request woke {}/{}", ns, name);
      fn_(ns, name);
    }
  }
}

}  // namespace berth::router
