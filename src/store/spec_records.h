// Reading one environment's spec record (/berth/specs/<ns>/<name>) as every reader needs it:
// the names validated, a clear NotFound, the spec parsed, and the revision to compare against.
#pragma once

#include <cstdint>
#include <string>

#include "berth/environment.h"
#include "berth/result.h"
#include "berth/store.h"

namespace berth::store {

struct StoredSpec {
  EnvironmentSpec spec;
  int64_t revision = 0;  // the record's mod_revision
};

// kInvalidArgument for a bad namespace or name, kNotFound "environment ns/name not found".
Result<StoredSpec> LoadSpec(Store& store, const std::string& ns, const std::string& name);

// Rewrites every spec record still in the flat form of releases before 0.2 into the record
// form (metadata + spec, a uid given), each compare-and-swapped, so replicas starting together
// and writes landing meanwhile are safe; run by `berth serve` before anything reads them, on
// SQLite and etcd alike. Returns how many it rewrote; a record that will not parse is left as
// it is (and reported by every reader, as before).
Result<int> MigrateSpecRecords(Store& store);

}  // namespace berth::store
