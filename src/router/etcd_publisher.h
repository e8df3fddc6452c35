// Mirrors the embedded store's /devnginx/ records to etcd v3 under the same keys, so `berth
// router` on other hosts and existing confd setups see them. The source is followed by a
// store::Informer (its list + watch + relist), which keeps the records in memory; a writer
// thread of its own puts and deletes in etcd what changed, so etcd being slow or down never
// holds up the feed. Resyncs (put what differs, delete what is gone) after every (re)list and
// after any failed write, from the records held, with a backoff.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "berth/result.h"
#include "berth/store.h"
#include "store/informer.h"

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
  // The informer's handlers (its thread): record what changed and wake the writer.
  void Replaced(const store::Snapshot& snap);
  void Changed(const store::WatchEvent& e);
  void Loop();  // the writer
  Status Resync(const std::map<std::string, std::string>& want);
  // Puts `value` at `key` in etcd, or deletes it (nullopt), unless another installation's.
  Status MirrorKey(const std::string& key, const std::optional<std::string>& value);
  // Whether this publisher may overwrite (`deleting` false) or delete the etcd record `value`.
  bool Mine(const std::string& key, const std::string& value, bool deleting);
  void Mirrored(int64_t revision);
  void Error(const std::string& e);
  // Waits `d` unless stopping: false when stopping.
  bool Sleep(std::chrono::milliseconds d);

  store::Store& source_;
  std::unique_ptr<store::Store> target_;
  std::string prefix_;
  std::string installation_;
  std::unique_ptr<store::Informer> informer_;
  std::unique_ptr<store::Informer::Registration> feed_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  // Guarded by mu_: the source's records as last handed over, the keys changed since the
  // writer last looked, whether everything must be compared, the newest revision handed over.
  std::map<std::string, std::string> want_;
  std::set<std::string> dirty_;
  bool resync_ = false;
  int64_t seen_ = 0;
  std::set<std::string> left_logged_;
  bool stopping_ = false;
  PublisherStats stats_;
  std::thread thread_;
};

// "etcd://a:2379,b:2379" from endpoint strings with or without http://.
std::string EtcdUrl(const std::vector<std::string>& endpoints);

}  // namespace berth::router
