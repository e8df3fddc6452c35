// Mirrors the embedded store's /devnginx/ records to etcd v3 under the same keys, so `berth
// router` on other hosts and existing confd setups see them. Resyncs (put what differs, delete
// what is gone) on start and after any break in the change feed.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "berth/result.h"
#include "berth/store.h"

namespace berth::router {

struct PublisherStats {
  int64_t puts = 0;
  int64_t deletes = 0;
  int64_t errors = 0;
  int64_t mirrored_revision = 0;  // source revision mirrored so far
  std::string last_error;
};

class EtcdRoutePublisher {
 public:
  EtcdRoutePublisher(store::Store& source, std::unique_ptr<store::Store> target,
                     std::string prefix = "/devnginx/");
  ~EtcdRoutePublisher();

  // Opens etcd://<endpoints> (Config.etcd_endpoints: "host:port" or "http://host:port").
  static Result<std::unique_ptr<EtcdRoutePublisher>> Open(
      store::Store& source, const std::vector<std::string>& endpoints);

  // This installation's id, before Start: a record in etcd carrying another id (a second
  // installation publishing to the same etcd) is neither overwritten nor deleted, and records
  // without one (another tool's, an earlier release's) are not deleted. "" = mirror everything.
  void SetInstallation(std::string id) { installation_ = std::move(id); }
  void Start();
  void Stop();
  // True once the source revision `revision` is mirrored.
  bool WaitMirrored(int64_t revision, std::chrono::milliseconds timeout);
  PublisherStats Stats() const;

 private:
  void Loop();
  Status Resync(int64_t* revision);
  Status Mirror(const store::WatchEvent& e);
  // Whether this publisher may overwrite (`deleting` false) or delete the etcd record `value`.
  bool Mine(const std::string& key, const std::string& value, bool deleting);
  void Mirrored(int64_t revision);
  void Error(const std::string& e);

  store::Store& source_;
  std::unique_ptr<store::Store> target_;
  std::string prefix_;
  std::string installation_;
  std::set<std::string> left_logged_;  // guarded by mu_
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  store::Watch* watch_ = nullptr;
  PublisherStats stats_;
  std::thread thread_;
};

// "etcd://a:2379,b:2379" from endpoint strings with or without http://.
std::string EtcdUrl(const std::vector<std::string>& endpoints);

}  // namespace berth::router
