#include "router/route_sync.h"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace berth::router {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

RouteSync::RouteSync(store::Store& store, RouterOptions opts)
    : store_(store),
      opts_(std::move(opts)),
      coalescer_(opts_.mode == "classic" ? opts_.min_wait : milliseconds(0),
                 opts_.mode == "classic" ? opts_.max_wait : milliseconds(0)) {}

RouteSync::~RouteSync() {
  Stop();
}

Status RouteSync::Start() {
  if (started_) return {};
  if (auto s = ValidateRouterOptions(opts_); !s) return s;
  backend_ = opts_.mode == "classic" ? MakeClassicBackend(opts_) : MakeLuaBackend(opts_);
  if (auto s = backend_->Start(); !s) {
    std::lock_guard<std::mutex> l(mu_);
    last_error_ = s.error().message;
    return Fail(Wrap(s.error(), "starting the router's nginx"));
  }
  started_ = true;
  stopping_ = false;
  // Watched from the route prefix alone: what it waits for (WaitApplied) are revisions of
  // route writes, and a standalone router may share an etcd with unrelated keys.
  informer_ = std::make_unique<store::Informer>(
      store_, store::InformerOptions{{opts_.route_prefix}, opts_.route_prefix});
  feed_ = informer_->AddHandlers(Feed());
  informer_->Start();
  apply_thread_ = std::thread([this] { ApplyLoop(); });
  return {};
}

void RouteSync::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!started_) return;
    stopping_ = true;
  }
  feed_.reset();
  informer_->Stop();
  cv_.notify_all();
  applied_cv_.notify_all();
  if (apply_thread_.joinable()) apply_thread_.join();
  backend_->Stop();
  started_ = false;
}

void RouteSync::Changed(int64_t revision) {
  seen_revision_ = std::max(seen_revision_, revision);
  coalescer_.Notify(Clock::now());
  cv_.notify_all();
}

store::InformerHandlers RouteSync::Feed() {
  return {[this](const store::Snapshot& snap) {
            std::map<std::string, std::string> records;
            std::map<std::string, int64_t> created;
            for (const auto& kv : snap.kvs) {
              created[kv.key] = kv.create_revision;
              records[kv.key] = kv.value;
            }
            std::lock_guard<std::mutex> l(mu_);
            table_.Reset(records, created);
            Changed(snap.revision);
          },
          [this](const store::WatchEvent& e) {
            std::lock_guard<std::mutex> l(mu_);
            if (e.type == store::WatchEvent::Type::kPut)
              table_.Put(e.kv.key, e.kv.value, e.kv.create_revision);
            else
              table_.Delete(e.kv.key);
            Changed(e.kv.mod_revision);
          }};
}

void RouteSync::ApplyLoop() {
  auto next_health = Clock::now() + opts_.health_interval;
  auto retry_at = Clock::time_point::max();
  std::unique_lock<std::mutex> l(mu_);
  while (!stopping_) {
    auto wake = std::min({coalescer_.Deadline(), next_health, retry_at});
    cv_.wait_until(l, wake, [&] {
      return stopping_ || coalescer_.Due(Clock::now()) || Clock::now() >= next_health ||
             Clock::now() >= retry_at;
    });
    if (stopping_) break;
    auto now = Clock::now();
    if (now >= next_health) {
      next_health = now + opts_.health_interval;
      l.unlock();
      auto h = backend_->Health();
      l.lock();
      if (!h) {
        last_error_ = h.error().message;
        failed_++;
      } else if (*h) {
        coalescer_.Notify(Clock::now());
      }
      continue;
    }
    if (now >= retry_at) {
      retry_at = Clock::time_point::max();
      coalescer_.Notify(now);
    }
    if (!coalescer_.Due(now)) continue;
    coalescer_.Take();
    for (int attempt = 0; attempt < 2; ++attempt) {
      ApplyInput in;
      if (backend_->Coalesces()) {
        in.routes = table_.Effective();
        table_.TakeDirty();
      } else if (backend_->NeedsFull()) {
        in.full = true;
        in.hosts = table_.AllHosts();
        table_.TakeDirty();
      } else {
        in.hosts = table_.TakeDirty();
      }
      int64_t rev = seen_revision_;
      l.unlock();
      Status s = backend_->Apply(in);
      l.lock();
      if (s) {
        applies_++;
        last_error_.clear();
        applied_revision_ = std::max(applied_revision_, rev);
        applied_cv_.notify_all();
        // Outside mu_: the callback queues work elsewhere. Under cb_mu_, so that clearing
        // it (OnApplied(nullptr)) waits for a call in progress.
        int64_t at = applied_revision_;
        l.unlock();
        {
          std::lock_guard<std::mutex> g(cb_mu_);
          if (on_applied_) on_applied_(at);
        }
        l.lock();
        break;
      }
      failed_++;
      last_error_ = s.error().message;
      spdlog::error("router: apply failed: {}", last_error_);
      // kConflict: nginx lost its table; the retry sends it whole at once.
      if (s.error().code != ErrorCode::kConflict) {
        retry_at =
            Clock::now() + (opts_.mode == "classic" ? opts_.retry_interval : milliseconds(1000));
        break;
      }
    }
  }
}

void RouteSync::OnApplied(std::function<void(int64_t)> fn) {
  std::lock_guard<std::mutex> l(cb_mu_);
  on_applied_ = std::move(fn);
}

int64_t RouteSync::AppliedRevision() const {
  std::lock_guard<std::mutex> l(mu_);
  return applied_revision_;
}

bool RouteSync::WaitApplied(int64_t revision, milliseconds timeout) {
  std::unique_lock<std::mutex> l(mu_);
  return applied_cv_.wait_for(l, timeout, [&] {
    return applied_revision_ >= revision || stopping_;
  }) && applied_revision_ >= revision;
}

std::vector<std::string> RouteSync::RoutedDomains(const std::string& key) const {
  std::lock_guard<std::mutex> l(mu_);
  return table_.DomainsOf(key);
}

RouterStats RouteSync::Stats() const {
  NginxStats ns;
  if (backend_) ns = backend_->Stats();
  std::lock_guard<std::mutex> l(mu_);
  RouterStats s;
  s.mode = opts_.mode;
  s.routes = table_.routes();
  s.hosts = table_.hosts();
  s.rejected = table_.rejected().size();
  s.rejected_keys = table_.rejected();
  s.conflicts = table_.conflicts();
  s.applies = applies_;
  s.failed_applies = failed_;
  s.reloads = ns.reloads;
  s.nginx_restarts = ns.restarts;
  s.generation = ns.generation;
  s.seen_revision = seen_revision_;
  s.applied_revision = applied_revision_;
  s.last_error = last_error_;
  return s;
}

Status RouteSync::Ready() const {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!started_) return Fail(ErrorCode::kUnavailable, "the router is not running");
  }
  if (auto g = ControlGeneration(NginxPaths(opts_.prefix)); !g)
    return Fail(ErrorCode::kUnavailable, "nginx does not answer: " + g.error().message);
  std::string e = LastError();
  if (!e.empty()) return Fail(ErrorCode::kUnavailable, "routes not applied: " + e);
  return {};
}

std::string RouteSync::LastError() const {
  std::lock_guard<std::mutex> l(mu_);
  return last_error_;
}

}  // namespace berth::router
