#include "router/etcd_publisher.h"

#include <map>

#include <spdlog/spdlog.h>

#include "berth/route.h"
#include "util/strings.h"

namespace berth::router {

using std::chrono::milliseconds;

std::string EtcdUrl(const std::vector<std::string>& endpoints) {
  std::vector<std::string> hosts;
  for (auto e : endpoints) {
    for (std::string_view scheme : {"http://", "etcd://"}) {
      if (util::StartsWith(e, scheme)) e = e.substr(scheme.size());
    }
    while (!e.empty() && e.back() == '/') e.pop_back();
    if (!e.empty()) hosts.push_back(e);
  }
  return "etcd://" + util::Join(hosts, ",");
}

EtcdRoutePublisher::EtcdRoutePublisher(store::Store& source, std::unique_ptr<store::Store> target,
                                       std::string prefix)
    : source_(source), target_(std::move(target)), prefix_(std::move(prefix)) {}

EtcdRoutePublisher::~EtcdRoutePublisher() {
  Stop();
}

Result<std::unique_ptr<EtcdRoutePublisher>> EtcdRoutePublisher::Open(
    store::Store& source, const std::vector<std::string>& endpoints) {
  auto target = store::OpenStore(EtcdUrl(endpoints));
  if (!target) return Fail(Wrap(target.error(), "opening etcd for route publishing"));
  return std::make_unique<EtcdRoutePublisher>(source, std::move(*target));
}

void EtcdRoutePublisher::Start() {
  std::lock_guard<std::mutex> l(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  // Watching the prefix alone: its revisions are the route records' own (WaitMirrored).
  informer_ = std::make_unique<store::Informer>(
      source_, store::InformerOptions{.prefixes = {prefix_}, .watch_root = prefix_});
  feed_ = informer_->AddHandlers({[this](const store::Snapshot& s) { Replaced(s); },
                                  [this](const store::WatchEvent& e) { Changed(e); }});
  informer_->Start();
  thread_ = std::thread([this] { Loop(); });
}

void EtcdRoutePublisher::Stop() {
  // The feed first (it calls into this object), then the writer.
  feed_.reset();
  if (informer_) informer_->Stop();
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  informer_.reset();
}

void EtcdRoutePublisher::Replaced(const store::Snapshot& snap) {
  std::lock_guard<std::mutex> l(mu_);
  want_.clear();
  for (const auto& kv : snap.kvs) want_[kv.key] = kv.value;
  dirty_.clear();
  resync_ = true;
  seen_ = std::max(seen_, snap.revision);
  cv_.notify_all();
}

void EtcdRoutePublisher::Changed(const store::WatchEvent& e) {
  std::lock_guard<std::mutex> l(mu_);
  if (e.type == store::WatchEvent::Type::kPut)
    want_[e.kv.key] = e.kv.value;
  else
    want_.erase(e.kv.key);
  dirty_.insert(e.kv.key);
  seen_ = std::max(seen_, e.kv.mod_revision);
  cv_.notify_all();
}

bool EtcdRoutePublisher::Sleep(milliseconds d) {
  std::unique_lock<std::mutex> l(mu_);
  return !cv_.wait_for(l, d, [&] { return stopping_; });
}

void EtcdRoutePublisher::Error(const std::string& e) {
  spdlog::warn("route publisher: {}", e);
  std::lock_guard<std::mutex> l(mu_);
  stats_.errors++;
  stats_.last_error = e;
}

void EtcdRoutePublisher::Mirrored(int64_t revision) {
  std::lock_guard<std::mutex> l(mu_);
  stats_.mirrored_revision = std::max(stats_.mirrored_revision, revision);
  cv_.notify_all();
}

bool EtcdRoutePublisher::Mine(const std::string& key, const std::string& value, bool deleting) {
  if (installation_.empty()) return true;
  std::string owner = RouteInstallation(value);
  if (owner == installation_ || (owner.empty() && !deleting)) return true;
  std::lock_guard<std::mutex> l(mu_);
  if (left_logged_.insert(key + "\n" + owner).second)
    spdlog::warn("route publisher: leaving {} in etcd alone: {}", key,
                 owner.empty() ? "written without an installation id"
                               : "it belongs to installation " + owner);
  return false;
}

Status EtcdRoutePublisher::Resync(const std::map<std::string, std::string>& want) {
  auto dst = target_->List(prefix_);
  if (!dst) return Fail(Wrap(dst.error(), "listing etcd"));
  std::map<std::string, std::string> have;
  for (auto& kv : dst->kvs) have[kv.key] = std::move(kv.value);
  int64_t puts = 0, dels = 0;
  for (const auto& [k, v] : want) {
    auto it = have.find(k);
    if (it != have.end() && (it->second == v || !Mine(k, it->second, false))) continue;
    if (auto r = target_->Put(k, v); !r) return Fail(Wrap(r.error(), "put " + k));
    puts++;
  }
  for (const auto& [k, v] : have) {
    if (want.count(k) || !Mine(k, v, true)) continue;
    if (auto r = target_->Delete(k); !r) return Fail(Wrap(r.error(), "delete " + k));
    dels++;
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    stats_.puts += puts;
    stats_.deletes += dels;
  }
  if (puts || dels)
    spdlog::info("route publisher: resync put {} and deleted {} keys in etcd", puts, dels);
  return {};
}

Status EtcdRoutePublisher::MirrorKey(const std::string& key,
                                     const std::optional<std::string>& value) {
  // What etcd holds decides: a record of another installation stays as it is.
  std::optional<store::KeyValue> have;
  if (!installation_.empty()) {
    auto g = target_->Get(key);
    if (!g) return Fail(g.error());
    have = std::move(*g);
  }
  if (value) {
    if (have && (have->value == *value || !Mine(key, have->value, false))) return {};
    if (auto r = target_->Put(key, *value); !r) return Fail(r.error());
    std::lock_guard<std::mutex> l(mu_);
    stats_.puts++;
  } else {
    if (!installation_.empty() && !have) return {};  // nothing there to delete
    if (have && !Mine(key, have->value, true)) return {};
    if (auto r = target_->Delete(key); !r) return Fail(r.error());
    std::lock_guard<std::mutex> l(mu_);
    stats_.deletes++;
  }
  return {};
}

void EtcdRoutePublisher::Loop() {
  milliseconds backoff(200);
  for (;;) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return stopping_ || resync_ || !dirty_.empty(); });
    if (stopping_) return;
    // Every change handed over up to `seen` is in what is taken now.
    const int64_t seen = seen_;
    Status s;
    if (resync_) {
      resync_ = false;
      dirty_.clear();
      const auto want = want_;
      l.unlock();
      s = Resync(want);
      if (!s) Error("resync: " + s.error().message);
    } else {
      std::vector<std::pair<std::string, std::optional<std::string>>> work;
      for (const auto& k : dirty_) {
        auto it = want_.find(k);
        work.emplace_back(
            k, it == want_.end() ? std::nullopt : std::optional<std::string>(it->second));
      }
      dirty_.clear();
      l.unlock();
      for (const auto& [k, v] : work) {
        if (s = MirrorKey(k, v); !s) {
          Error("mirroring " + k + ": " + s.error().message);
          break;
        }
      }
    }
    if (s) {
      backoff = milliseconds(200);
      Mirrored(seen);
      continue;
    }
    // etcd trouble: compare everything after the backoff.
    {
      std::lock_guard<std::mutex> g(mu_);
      resync_ = true;
    }
    if (!Sleep(backoff)) return;
    backoff = std::min(backoff * 2, milliseconds(10000));
  }
}

bool EtcdRoutePublisher::WaitMirrored(int64_t revision, milliseconds timeout) {
  std::unique_lock<std::mutex> l(mu_);
  return cv_.wait_for(l, timeout, [&] {
    return stats_.mirrored_revision >= revision || stopping_;
  }) && stats_.mirrored_revision >= revision;
}

PublisherStats EtcdRoutePublisher::Stats() const {
  std::lock_guard<std::mutex> l(mu_);
  return stats_;
}

}  // namespace berth::router
