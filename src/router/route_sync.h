// RouteSync: keeps nginx in step with the store's /devnginx/ records. A watch thread follows
// the change feed (relisting on compaction or error) into a RouteTable; an apply thread sends
// the table to the backend (Lua: at once, classic: coalesced), one apply at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <vector>
#include "store/informer.h"

#include "berth/result.h"
#include "berth/store.h"
#include "router/backend.h"
#include "router/coalescer.h"
#include "router/route_table.h"
#include "router/router_options.h"

namespace berth::router {

struct RouterStats {
  std::string mode;
  size_t routes = 0;                                 // valid records
  size_t hosts = 0;                                  // routed domains
  size_t rejected = 0;                               // records refused (see rejected_keys)
  std::map<std::string, std::string> rejected_keys;  // key -> reason
  size_t conflicts = 0;                              // records naming a host another owns
  int64_t applies = 0;
  int64_t failed_applies = 0;
  int64_t reloads = 0;
  int64_t nginx_restarts = 0;
  int64_t generation = 0;
  int64_t seen_revision = 0;
  int64_t applied_revision = 0;
  std::string last_error;  // empty once an apply succeeded after it
};

class RouteSync {
 public:
  RouteSync(store::Store& store, RouterOptions opts);
  ~RouteSync();
  RouteSync(const RouteSync&) = delete;
  RouteSync& operator=(const RouteSync&) = delete;

  // Validates the options, starts nginx, then follows the store in the background.
  Status Start();
  void Stop();

  // The store revision whose routes nginx serves.
  int64_t AppliedRevision() const;
  // True once AppliedRevision() >= revision; false after `timeout`.
  bool WaitApplied(int64_t revision, std::chrono::milliseconds timeout);
  // Called (on the apply thread) with the applied revision after each successful apply, so a
  // caller can look again instead of waiting; nullptr clears it.
  void OnApplied(std::function<void(int64_t)> fn);
  RouterStats Stats() const;
  // For /readyz: the nginx answers on its control socket and the last apply succeeded.
  Status Ready() const;
  // The domains the route table gives record `key` (/devnginx/<ns>/<name>): a domain another
  // record claimed first is not among them.
  std::vector<std::string> RoutedDomains(const std::string& key) const;
  std::string LastError() const;

 private:
  // The feed of route records (store::Informer) into table_.
  store::InformerHandlers Feed();
  void ApplyLoop();
  void Changed(int64_t revision);  // with mu_ held

  store::Store& store_;
  RouterOptions opts_;
  std::unique_ptr<Backend> backend_;

  mutable std::mutex mu_;
  std::condition_variable cv_;          // apply thread wakeups; Stop()
  std::condition_variable applied_cv_;  // WaitApplied
  RouteTable table_;
  Coalescer coalescer_;
  bool stopping_ = false;
  bool started_ = false;
  int64_t seen_revision_ = 0;
  int64_t applied_revision_ = 0;
  std::mutex cb_mu_;  // held while on_applied_ runs
  std::function<void(int64_t)> on_applied_;
  int64_t applies_ = 0;
  int64_t failed_ = 0;
  std::string last_error_;

  // One list + watch of the route prefix (relisting on compaction or error, with backoff).
  std::unique_ptr<store::Informer> informer_;
  std::unique_ptr<store::Informer::Registration> feed_;
  std::thread apply_thread_;
};

}  // namespace berth::router
