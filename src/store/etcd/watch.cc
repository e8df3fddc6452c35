#include "store/etcd/watch.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "store/key_range.h"
#include "util/base64.h"

namespace berth::store::etcd {

using nlohmann::json;

namespace {
constexpr std::chrono::milliseconds kMinBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{5000};
// A stream quiet this long gets its member probed; the probe's own limit.
constexpr std::chrono::milliseconds kProbeAfter{5000};
constexpr std::chrono::milliseconds kProbeTimeout{3000};

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

EtcdWatch::EtcdWatch(std::shared_ptr<Client> client, std::string prefix, int64_t from)
    : client_(std::move(client)),
      prefix_(std::move(prefix)),
      end_(PrefixEnd(prefix_)),
      last_(from) {
  thread_ = std::thread([this] { Run(); });
  monitor_ = std::thread([this] { Monitor(); });
}

EtcdWatch::~EtcdWatch() {
  cancelled_ = true;
  cv_.notify_all();
  // HttpClient::Stream clears a cancel that arrives before it starts, so keep cancelling the
  // active stream until the thread is out.
  while (!done_.load()) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (active_) active_->Cancel();
    }
    cv_.notify_all();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  thread_.join();
  monitor_.join();
}

void EtcdWatch::Cancel() {
  std::lock_guard<std::mutex> l(mu_);
  cancelled_ = true;
  if (active_) active_->Cancel();
  cv_.notify_all();
}

Result<std::vector<WatchEvent>> EtcdWatch::Next(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait_for(l, timeout, [&] { return cancelled() || !queue_.empty() || terminal_; });
  if (cancelled()) return Fail(ErrorCode::kUnavailable, "watch cancelled");
  if (!queue_.empty()) {
    std::vector<WatchEvent> out(std::make_move_iterator(queue_.begin()),
                                std::make_move_iterator(queue_.end()));
    queue_.clear();
    return out;
  }
  if (terminal_) return Fail(*terminal_);
  return std::vector<WatchEvent>{};
}

void EtcdWatch::Run() {
  const size_t n = client_->config().endpoints.size();
  size_t endpoint = client_->preferred() % std::max<size_t>(n, 1);
  auto backoff = kMinBackoff;
  while (!cancelled() && n > 0) {
    session_ok_ = false;
    Session(endpoint);
    {
      std::unique_lock<std::mutex> l(mu_);
      if (terminal_ || cancelled()) break;
      if (session_ok_) backoff = kMinBackoff;
      cv_.wait_for(l, backoff, [&] { return cancelled(); });
    }
    backoff = std::min(backoff * 2, kMaxBackoff);
    if (!session_ok_) endpoint = (endpoint + 1) % n;  // this one did not answer: try another
  }
  done_ = true;
  cv_.notify_all();
}

void EtcdWatch::Monitor() {
  while (true) {
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait_for(l, std::chrono::seconds(1), [&] { return cancelled() || done_.load(); });
      if (cancelled() || done_.load()) return;
    }
    int64_t since = activity_ns_.load();
    if (since == 0 || NowNs() - since < std::chrono::nanoseconds(kProbeAfter).count()) continue;
    size_t ep = session_endpoint_.load();
    auto probe = client_->Probe(ep, kProbeTimeout, &cancelled_);
    if (probe) {
      // Alive and in a quorum: the prefix is just quiet. Probe again after another while.
      activity_ns_.compare_exchange_strong(since, NowNs());
      continue;
    }
    if (cancelled()) return;
    spdlog::warn("etcd watch {}: member {} does not answer ({}); moving on", prefix_,
                 client_->config().endpoints[ep], probe.error().message);
    abort_session_ = true;
  }
}

void EtcdWatch::Session(size_t endpoint) {
  net::HttpClient http(client_->HttpOptions(endpoint, std::chrono::milliseconds(0)));
  {
    std::lock_guard<std::mutex> l(mu_);
    if (cancelled()) return;
    active_ = &http;
  }
  abort_session_ = false;
  session_endpoint_ = endpoint;
  activity_ns_ = NowNs();
  json create = {{"key", util::Base64Encode(prefix_.empty() ? std::string(1, '\0') : prefix_)},
                 {"range_end", util::Base64Encode(end_.empty() ? std::string(1, '\0') : end_)},
                 {"start_revision", std::to_string(last_ + 1)},
                 {"progress_notify", true}};
  net::HttpRequest req;
  req.method = "POST";
  req.path = client_->config().api_prefix + "/watch";
  req.body = json{{"create_request", create}}.dump();
  req.timeout = std::chrono::milliseconds(0);
  req.headers[kRequireLeaderHeader] = "true";
  req.cancel = &abort_session_;
  net::LineSplitter lines;
  auto resp = http.Stream(req, [&](std::string_view chunk) {
    if (cancelled()) return false;
    activity_ns_ = NowNs();
    return lines.Feed(chunk, [&](std::string_view line) { return HandleLine(line); });
  });
  {
    std::lock_guard<std::mutex> l(mu_);
    active_ = nullptr;
  }
  activity_ns_ = 0;
  if (abort_session_) session_ok_ = false;  // the probe gave up on this member: try another
  if (cancelled()) return;
  if (!resp) {
    spdlog::warn("etcd watch {} on {}: {}; reconnecting", prefix_,
                 client_->config().endpoints[endpoint], resp.error().message);
  } else if (resp->status != 200) {
    spdlog::warn("etcd watch {}: HTTP {}; reconnecting", prefix_, resp->status);
    session_ok_ = false;
  }
}

bool EtcdWatch::HandleLine(std::string_view line) {
  if (line.empty()) return true;
  json j;
  try {
    j = json::parse(line);
  } catch (const json::exception& e) {
    spdlog::warn("etcd watch {}: bad JSON line: {}", prefix_, e.what());
    return false;
  }
  if (j.contains("error")) {
    // "no leader" and the like: this member cannot serve the watch now; try another.
    spdlog::warn("etcd watch {}: {}", prefix_, j.dump());
    session_ok_ = false;
    return false;
  }
  auto it = j.find("result");
  if (it == j.end() || !it->is_object()) return true;
  try {
    return HandleResult(*it);
  } catch (const json::exception& e) {
    spdlog::warn("etcd watch {}: unexpected response: {}", prefix_, e.what());
    return false;
  }
}

bool EtcdWatch::HandleResult(const json& r) {
  session_ok_ = true;
  if (int64_t compacted = JsonInt(r, "compact_revision"); compacted > 0) {
    std::lock_guard<std::mutex> l(mu_);
    terminal_ = Error{ErrorCode::kGone, "watch " + prefix_ + " from revision " +
                                            std::to_string(last_) + ": etcd compacted up to " +
                                            std::to_string(compacted) + "; relist"};
    cv_.notify_all();
    return false;
  }
  if (r.value("canceled", false)) return false;  // server-side cancel: reconnect

  std::vector<WatchEvent> batch;
  if (auto ev = r.find("events"); ev != r.end() && ev->is_array()) {
    for (const auto& e : *ev) {
      auto kv = ParseKeyValue(e.value("kv", json::object()));
      if (!kv) {
        spdlog::warn("etcd watch {}: {}", prefix_, kv.error().message);
        continue;
      }
      WatchEvent out;
      out.type = e.value("type", std::string("PUT")) == "DELETE" ? WatchEvent::Type::kDelete
                                                                 : WatchEvent::Type::kPut;
      out.kv = std::move(*kv);
      if (out.type == WatchEvent::Type::kDelete) {
        out.kv.value.clear();
        out.kv.create_revision = 0;
      }
      last_ = std::max(last_, out.kv.mod_revision);
      batch.push_back(std::move(out));
    }
  } else if (!r.value("created", false)) {
    // A progress notification: everything up to the header revision has been sent, so a
    // reconnect may resume from there (and is less likely to hit compaction).
    last_ = std::max(last_, JsonInt(r.value("header", json::object()), "revision"));
  }
  if (!batch.empty()) {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& e : batch) queue_.push_back(std::move(e));
    cv_.notify_all();
  }
  return !cancelled();
}

}  // namespace berth::store::etcd
