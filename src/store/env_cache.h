// EnvCache: every environment as the API reads it (list, view, wait), fed by the Informer.
// Each spec and status record is decoded once per change, not once per read, and each
// environment's JSON is made then too, so listing thousands of environments is a copy.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/environment.h"
#include "store/informer.h"

namespace berth::store {

struct CachedEnv {
  EnvironmentSpec spec;
  std::optional<EnvStatus> status;
  int64_t revision = 0;  // the spec record's mod_revision
  std::string json;      // {"revision":…,"spec":…,"status":…}, as the API answers
  std::string summary;   // EnvSummaryJson: what a list table shows
};

// The JSON of one environment, as the API answers for it (and CachedEnv::json holds).
std::string EnvJson(const EnvironmentSpec& spec, const std::optional<EnvStatus>& status,
                    int64_t revision);

// The same with only what `berth list` shows (GET /v1/environments?view=summary): names,
// image, domains, ports, times and the phase, without events, env, labels or resources, so a
// list of thousands stays small to send and to parse.
std::string EnvSummaryJson(const EnvironmentSpec& spec, const std::optional<EnvStatus>& status,
                           int64_t revision);

class EnvCache {
 public:
  // The handlers to register with an Informer watching keys::kSpecs and keys::kStatus.
  InformerHandlers Handlers();

  // Sorted by namespace and name; ns "" = every namespace.
  std::vector<std::shared_ptr<const CachedEnv>> List(std::string_view ns) const;
  // nullptr when there is no such environment.
  std::shared_ptr<const CachedEnv> Get(std::string_view ns, std::string_view name) const;
  // Waits until the environment's entry is no longer `seen` (it changed or went) or `timeout`
  // passes; returns the entry then (nullptr = gone).
  std::shared_ptr<const CachedEnv> WaitChange(std::string_view ns, std::string_view name,
                                              const std::shared_ptr<const CachedEnv>& seen,
                                              std::chrono::milliseconds timeout) const;
  size_t size() const;

 private:
  struct Record {
    std::optional<EnvironmentSpec> spec;
    int64_t spec_revision = 0;
    std::optional<EnvStatus> status;
    std::shared_ptr<const CachedEnv> view;  // set while the spec exists
  };
  void Replace(const Snapshot& snap);
  void Change(const WatchEvent& ev);
  // One spec or status record (or its deletion) into `r`; false when nothing changed (an
  // unreadable spec keeps what `r` had).
  static bool Decode(Record& r, const KeyValue& kv, bool is_spec, bool deleted);
  // Applies one record to `records_`; true if a view changed. Called with mu_ held.
  bool ApplyLocked(const KeyValue& kv, bool deleted);
  static void Rebuild(Record& r);

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::map<std::string, Record, std::less<>> records_;  // "ns/name"
};

}  // namespace berth::store
