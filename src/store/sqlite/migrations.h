// Versioned schema for the SQLite store. The version lives in PRAGMA user_version; each
// migration moves the schema one version forward inside the caller's transaction.
#pragma once

#include <string_view>
#include <vector>

#include "berth/result.h"
#include "store/sqlite/db.h"

namespace berth::store::sqlite {

struct Migration {
  int version;           // the user_version after this migration
  std::string_view sql;  // statements run in one transaction
};

// The ordered list; append only, never edit a released entry.
const std::vector<Migration>& Migrations();
int LatestSchemaVersion();

// Brings the schema to the latest version in one IMMEDIATE transaction (so two processes
// opening a fresh db do not both migrate). A db from a newer Berth is refused (kFailed).
Status Migrate(Db& db);

}  // namespace berth::store::sqlite
