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
  thread_ = std::thread([this] { Loop(); });
}

void EtcdRoutePublisher::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
    if (watch_) watch_->Cancel();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
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

Status EtcdRoutePublisher::Resync(int64_t* revision) {
  auto src = source_.List(prefix_);
  if (!src) return Fail(Wrap(src.error(), "listing the source"));
  auto dst = target_->List(prefix_);
  if (!dst) return Fail(Wrap(dst.error(), "listing etcd"));
  std::map<std::string, std::string> want, have;
  for (auto& kv : src->kvs) want[kv.key] = kv.value;
  for (auto& kv : dst->kvs) have[kv.key] = kv.value;
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
  *revision = src->revision;
  return {};
}

Status EtcdRoutePublisher::Mirror(const store::WatchEvent& e) {
  // What etcd holds decides: a record of another installation stays as it is.
  std::optional<store::KeyValue> have;
  if (!installation_.empty()) {
    auto g = target_->Get(e.kv.key);
    if (!g) return Fail(g.error());
    have = std::move(*g);
  }
  if (e.type == store::WatchEvent::Type::kPut) {
    if (have && !Mine(e.kv.key, have->value, false)) return {};
    if (auto r = target_->Put(e.kv.key, e.kv.value); !r) return Fail(r.error());
    std::lock_guard<std::mutex> l(mu_);
    stats_.puts++;
  } else {
    if (have && !Mine(e.kv.key, have->value, true)) return {};
    if (auto r = target_->Delete(e.kv.key); !r) return Fail(r.error());
    std::lock_guard<std::mutex> l(mu_);
    stats_.deletes++;
  }
  return {};
}

void EtcdRoutePublisher::Loop() {
  milliseconds backoff(200);
  auto sleep = [&](milliseconds d) {
    std::unique_lock<std::mutex> l(mu_);
    return !cv_.wait_for(l, d, [&] { return stopping_; });
  };
  while (true) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (stopping_) return;
    }
    int64_t rev = 0;
    if (auto s = Resync(&rev); !s) {
      Error(s.error().message);
      if (!sleep(backoff)) return;
      backoff = std::min(backoff * 2, milliseconds(10000));
      continue;
    }
    Mirrored(rev);
    auto w = source_.WatchPrefix(prefix_, rev);
    if (!w) {
      Error("watching the source: " + w.error().message);
      if (!sleep(backoff)) return;
      continue;
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      if (stopping_) return;
      watch_ = w->get();
    }
    backoff = milliseconds(200);
    bool broken = false;
    while (!broken) {
      auto ev = (*w)->Next(milliseconds(1000));
      {
        std::lock_guard<std::mutex> l(mu_);
        if (stopping_) {
          watch_ = nullptr;
          return;
        }
      }
      if (!ev) break;  // compacted or broken: resync
      for (const auto& e : *ev) {
        if (auto s = Mirror(e); !s) {
          Error("mirroring " + e.kv.key + ": " + s.error().message);
          broken = true;  // etcd trouble: a resync after the backoff puts it right
          break;
        }
        Mirrored(e.kv.mod_revision);
      }
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      watch_ = nullptr;
    }
    if (!sleep(broken ? backoff : milliseconds(50))) return;
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
