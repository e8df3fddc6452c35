// ObjectCache: one list + watch (client-go's reflector and indexer) of a collection across
// namespaces, for the objects labelled managed-by=berth, kept in memory so that Inspect reads
// the cluster's state without a request: with thousands of environments a resync is then
// local work, not three API calls per environment.
//
// Objects are kept as trimmed JSON text (managed fields, pod specs and templates dropped),
// packed with a dictionary trained on each full list's first page (util/text_packer.h): text
// costs a fraction of a parsed document's memory, packed text a tenth of that again, and an
// Inspect unpacks and parses only the few objects of one environment.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "runtime/kubernetes/client.h"
#include "util/text_packer.h"

namespace berth::kube {

struct ObjectCacheOptions {
  std::string collection;  // cluster-wide: "/api/v1/pods", "/apis/apps/v1/deployments"
  std::string selector;    // label selector of the objects followed
  // Removes what no reader needs, in place, before the object is kept.
  std::function<void(nlohmann::json&)> trim;
  // The secondary index an object is found by (ObjectCache::ByIndex); "" = none.
  std::function<std::string(const nlohmann::json&)> index;
  // Called for every change the watch brings (after the cache holds it), and for every object
  // on each relist; a DELETED object is passed as last seen.
  std::function<void(const nlohmann::json&)> changed;
};

class ObjectCache {
 public:
  ObjectCache(std::shared_ptr<KubeClient> client, ObjectCacheOptions opts);
  ~ObjectCache();
  ObjectCache(const ObjectCache&) = delete;
  ObjectCache& operator=(const ObjectCache&) = delete;

  void Start();
  void Stop();
  // True once the first list is in (and stays true through relists: a relist replaces the
  // contents at once).
  bool synced() const { return synced_; }
  bool WaitForSync(std::chrono::milliseconds timeout);

  // The object "namespace/name", parsed; nullopt when the cache has none.
  std::optional<nlohmann::json> Get(const std::string& ns, const std::string& name) const;
  // Calls fn with every object, parsed one at a time (never all of them at once: thousands of
  // parsed objects would be a large transient peak).
  void ForEach(const std::function<void(const nlohmann::json&)>& fn) const;
  // Every object whose index (ObjectCacheOptions::index) is `key`, parsed.
  std::vector<nlohmann::json> ByIndex(const std::string& key) const;
  // An object this process just wrote (the response of an apply): kept unless the cache
  // already holds a newer resourceVersion, so a read right after the write sees it.
  void Observe(const nlohmann::json& obj);
  size_t size() const;
  // Bytes of (packed) text held, dictionaries included: the cache's memory, roughly.
  size_t bytes() const;

 private:
  using Text = std::shared_ptr<const util::PackedText>;
  using Dictionary = std::shared_ptr<const util::TextDictionary>;
  struct Entry {
    Text text;  // shared with readers that copied it out
    uint64_t resource_version = 0;
    std::string index;
  };
  struct Contents {
    std::map<std::string, Entry> objects;                // "namespace/name"
    std::map<std::string, std::set<std::string>> index;  // index key -> object keys
    size_t bytes = 0;
  };
  // The trimmed text of an object, and the entry keeping it packed with `dict` (may be null).
  std::string TrimmedText(nlohmann::json& obj) const;
  Entry MakeEntry(const nlohmann::json& trimmed, const std::string& text,
                  const Dictionary& dict) const;
  static void Insert(Contents& c, const std::string& key, Entry e);  // newer version wins
  void Loop();
  void Put(nlohmann::json obj);
  // No dictionary yet (the first list found nothing to learn from) and enough objects now:
  // trains one on them and packs them with it. Called with mu_ held.
  void TrainIfDueLocked();
  void Erase(const nlohmann::json& obj);
  void Replace(Contents fresh, Dictionary dict);
  // Lists every object, a page at a time, into `out`, packed with a dictionary trained on the
  // first page (returned in `dict`); the list's resourceVersion.
  Result<std::string> ListInto(Contents& out, Dictionary& dict);
  static constexpr int kPageSize = 500;
  bool Sleep(std::chrono::milliseconds d);

  std::shared_ptr<KubeClient> client_;
  const ObjectCacheOptions opts_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  Contents contents_;
  Dictionary dict_;  // what new objects are packed with (the last list's)
  std::atomic<bool> synced_{false};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// What no cached reader (Inspect's summaries, ownership, Exec, garbage collection) looks at
// goes: with thousands of environments the three caches are most of berth serve's memory.
// Shared by every kind: metadata's managedFields (often the largest part of an object),
// annotations, creationTimestamp, generateName and ownerReferences.
void TrimMetadata(nlohmann::json& obj);
// A pod: metadata; spec.nodeName; status phase, reason, message, hostIP, conditions (without
// their times) and container statuses (name, ready, restartCount, state, lastState).
void TrimPod(nlohmann::json& pod);
// A Deployment or ReplicationController: spec.replicas and status (conditions without times).
void TrimWorkload(nlohmann::json& obj);
// A Service: spec.type and spec.ports.
void TrimService(nlohmann::json& svc);

}  // namespace berth::kube
