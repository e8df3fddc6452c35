// EnvCache: every environment as the API reads it (list, view, wait), fed by the Informer.
// Each spec and status record is decoded once per change, not once per read, and kept as the
// JSON the API answers with plus its `berth list` row: listing thousands of environments is a
// copy, and text is a fraction of the memory of decoded records (a view or an update decodes
// the one environment it needs). The texts are packed with dictionaries trained on the first
// list (util/text_packer.h): records of one installation are mostly alike.
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
#include "util/text_packer.h"

namespace berth::store {

struct CachedEnv {
  std::string ns, name;
  int64_t revision = 0;  // the spec record's mod_revision
  // The spec as the API shows it (its flat form), and the status (AcceptedStatus's while the
  // controller has written none), packed. Shared with the cache's record of them.
  std::shared_ptr<const util::PackedText> spec_json;
  std::shared_ptr<const util::PackedText> status_json;
  std::string row;      // EnvTableCells: the cells of its `berth list` row that do not age
  int64_t created = 0;  // epoch seconds, for the AGE cell (0 = unknown)
  int64_t expires = 0;  // epoch seconds, for the EXPIRES cell (0 = never)
  // What the periodic readers of every environment use (the usage sampler and
  // Runtime::Usage, idle sleep, /metrics), kept decoded so that they decode nothing.
  bool sleeping = false;
  bool deleting = false;
  int replicas = 1;
  std::string memory_limit;
  int64_t idle_sleep_seconds = 0;
  Phase phase = Phase::kPending;
  bool routed = false;

  // Decoded on demand.
  EnvironmentSpec Spec() const;
  EnvStatus Status() const;
  // Appends {"revision":…,"spec":…,"status":…}: EnvJson's text, without decoding.
  void AppendJson(std::string& out) const;
};

// The JSON of one environment, as the API answers for it (and CachedEnv::json holds).
std::string EnvJson(const EnvironmentSpec& spec, const std::optional<EnvStatus>& status,
                    int64_t revision);

// The same with only what `berth list` shows (GET /v1/environments?view=summary): names,
// image, domains, ports, times and the phase, without events, env, labels or resources, so a
// list of thousands stays small to send and to parse.
std::string EnvSummaryJson(const EnvironmentSpec& spec, const std::optional<EnvStatus>& status,
                           int64_t revision);

// Everything a CachedEnv holds, made from its records (no status record yet: AcceptedStatus).
CachedEnv CachedEnvOf(EnvironmentSpec spec, std::optional<EnvStatus> status, int64_t revision);

// `berth list` as the server prints it (GET /v1/environments?view=table, like Kubernetes'
// server-side Table): the CLI writes the cells out as they come, so listing thousands needs
// neither a large document to parse nor any logic in the client.
extern const char* const kEnvTableColumns[11];
// The row's first nine cells (NAMESPACE … IMAGE) as comma-separated JSON strings.
std::string EnvTableCells(const EnvironmentSpec& spec, const std::optional<EnvStatus>& status);
// Appends one whole row (a JSON array) for `env` at time `now` (epoch seconds).
void AppendEnvTableRow(std::string& out, const CachedEnv& env, int64_t now);

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
  friend CachedEnv CachedEnvOf(EnvironmentSpec spec, std::optional<EnvStatus> status,
                               int64_t revision);  // the same path as the cache's records
  // An environment's records as text (nullptr = none), and the view made from them.
  struct Record {
    std::shared_ptr<const util::PackedText> spec_json;  // flat form, as CachedEnv::spec_json
    int64_t spec_revision = 0;
    std::shared_ptr<const util::PackedText> status_json;  // the status record's, re-serialized
    std::shared_ptr<const CachedEnv> view;                // set while the spec exists
  };
  // What new texts are packed with: trained on the last full list (null = kept plain).
  struct Dictionaries {
    std::shared_ptr<const util::TextDictionary> spec, status;
  };
  void Replace(const Snapshot& snap);
  // No dictionaries yet (the first list was empty or small) and enough records now: packs
  // them all (PackAll). Called with mu_ held.
  void TrainIfDueLocked();
  // Trains dictionaries on the records' texts and packs every text with them, the views'
  // included; the dictionaries, for what comes next.
  static Dictionaries PackAll(std::map<std::string, Record, std::less<>>& records);
  void Change(const WatchEvent& ev);
  // Applies one record to `records_`; true if a view changed. Called with mu_ held.
  bool ApplyLocked(const KeyValue& kv, bool deleted);
  // The view from the record's texts and whichever of the two was just decoded (the other is
  // decoded from its text); none (logged, naming `id`) if a text does not decode.
  static void Rebuild(Record& r, const EnvironmentSpec* spec, const EnvStatus* status,
                      std::string_view id, const Dictionaries& dicts);

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::map<std::string, Record, std::less<>> records_;  // "ns/name"
  Dictionaries dicts_;
};

}  // namespace berth::store
