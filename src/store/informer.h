// Informer: one list + watch of the store that every follower of records shares, as
// client-go's informers do for Kubernetes objects: list at a revision, watch from it, relist
// when the watch is compacted away or breaks (one backoff policy), and hand every change to
// the handlers (caches and work queues) on one thread, in revision order.
//
// It lists only what lies under its prefixes (their longest common prefix) but watches the
// whole keyspace by default, foreign keys of a shared etcd included: then the revision it has
// seen follows the store's own, and WaitFresh() can promise that a read from a cache fed by it
// includes every commit made before the call, by this process or another replica (what
// Kubernetes' consistent reads from the watch cache do with etcd's progress notifications,
// which Debian's etcd 3.4 lacks). Events outside the prefixes only advance the revision.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "berth/store.h"

namespace berth::store {

struct InformerOptions {
  // Only records under these prefixes reach the handlers (a relist hands over all of them).
  std::vector<std::string> prefixes;
  // Watched from the list's revision on; "" = the whole keyspace, so that the seen revision
  // follows the store's (see above). A follower that needs no WaitFresh watches its prefix.
  std::string watch_root;
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{10000};
};

struct InformerHandlers {
  // After every (re)list: every record under the prefixes, at snap.revision. A cache replaces
  // its contents; a work queue adds every key.
  std::function<void(const Snapshot& snap)> replaced;
  // One change under the prefixes, after the snapshot it follows.
  std::function<void(const WatchEvent& ev)> changed;
};

class Informer {
 public:
  Informer(Store& store, InformerOptions opts);
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Handlers may be added and removed at any time; one added after the first list gets a
  // `replaced` call with a fresh listing first (so it never misses a record), on the informer's
  // thread like every other call. Removal waits for a call in progress to finish.
  class Registration {
   public:
    ~Registration();
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;

   private:
    friend class Informer;
    Registration(Informer* in, uint64_t id) : informer_(in), id_(id) {}
    Informer* informer_;
    uint64_t id_;
  };
  std::unique_ptr<Registration> AddHandlers(InformerHandlers h);

  void Start();
  void Stop();

  // True once the first list has been handed over (within `timeout`).
  bool WaitForSync(std::chrono::milliseconds timeout);
  // Waits until every commit up to the store's current revision (one Revision() call) has
  // been handed to the handlers. kTimeout when the watch does not get there in `timeout`;
  // the caller then reads the store itself.
  Status WaitFresh(std::chrono::milliseconds timeout);
  // The revision handed over so far (0 before the first list).
  int64_t revision() const;
  // Relists so far (the first list counts): a measure of watch trouble.
  int64_t lists() const { return lists_; }

 private:
  struct Entry {
    uint64_t id;
    InformerHandlers h;
    bool needs_list;  // added after a list: gets its own before any event
  };
  void Loop();
  bool Relevant(const std::string& key) const;
  std::string WatchedName() const;  // for messages
  Snapshot Filter(Snapshot snap) const;
  void Deliver(const Snapshot* snap, const std::vector<WatchEvent>* evs);
  void Remove(uint64_t id);
  bool Sleep(std::chrono::milliseconds d);
  void Advance(int64_t rev);

  Store& store_;
  const InformerOptions opts_;
  const std::string list_root_;  // the longest common prefix of opts_.prefixes

  // Handlers: added under hmu_; calls happen under call_mu_ so removal can wait them out.
  std::mutex hmu_;
  std::list<Entry> handlers_;
  uint64_t next_id_ = 1;
  std::mutex call_mu_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  int64_t revision_ = 0;
  bool synced_ = false;
  bool stopping_ = false;
  bool handler_added_ = false;  // the watch was cancelled to list for a new handler
  Watch* watch_ = nullptr;      // the live watch, for Stop() to cancel
  std::atomic<int64_t> lists_{0};
  std::thread thread_;
};

}  // namespace berth::store
