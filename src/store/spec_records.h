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

}  // namespace berth::store
