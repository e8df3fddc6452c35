#include "store/sqlite/migrations.h"

#include <string>

namespace berth::store::sqlite {

const std::vector<Migration>& Migrations() {
  // Keys compare as BINARY text (memcmp), the same order etcd uses, so prefix ranges agree.
  static const std::vector<Migration> kMigrations = {
      {1, R"sql(
CREATE TABLE kv (
  key TEXT PRIMARY KEY NOT NULL,
  value BLOB NOT NULL,
  create_revision INTEGER NOT NULL,
  mod_revision INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE changes (
  revision INTEGER NOT NULL,
  key TEXT NOT NULL,
  value BLOB,
  deleted INTEGER NOT NULL,
  PRIMARY KEY (revision, key)
) WITHOUT ROWID;
CREATE TABLE meta (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  revision INTEGER NOT NULL,
  compacted_revision INTEGER NOT NULL
);
INSERT INTO meta (id, revision, compacted_revision) VALUES (1, 0, 0);
)sql"},
      // v2: watch events carry create_revision, like etcd's. Older rows get it from the live
      // key when it still exists (exact unless the key was deleted and re-created since).
      {2, R"sql(
ALTER TABLE changes ADD COLUMN create_revision INTEGER NOT NULL DEFAULT 0;
UPDATE changes SET create_revision = COALESCE(
  (SELECT kv.create_revision FROM kv
    WHERE kv.key = changes.key AND kv.create_revision <= changes.revision), 0)
  WHERE deleted = 0;
)sql"},
  };
  return kMigrations;
}

int LatestSchemaVersion() {
  return Migrations().back().version;
}

Status Migrate(Db& db) {
  if (auto st = db.Exec("BEGIN IMMEDIATE"); !st) return st;
  auto fail = [&](Error e) -> Status {
    (void)db.Exec("ROLLBACK");
    return Fail(std::move(e));
  };
  auto current = db.QueryInt("PRAGMA user_version");
  if (!current) return fail(current.error());
  if (*current > LatestSchemaVersion()) {
    return fail(
        Error{ErrorCode::kFailed, "sqlite store schema version " + std::to_string(*current) +
                                      " is newer than this berth understands (" +
                                      std::to_string(LatestSchemaVersion()) + "); upgrade berth"});
  }
  for (const auto& m : Migrations()) {
    if (m.version <= *current) continue;
    if (auto st = db.Exec(std::string(m.sql)); !st) {
      return fail(Wrap(st.error(), "schema migration to v" + std::to_string(m.version)));
    }
    // PRAGMA takes no bound parameters; the version is our own integer.
    if (auto st = db.Exec("PRAGMA user_version = " + std::to_string(m.version)); !st) {
      return fail(st.error());
    }
  }
  return db.Exec("COMMIT");
}

}  // namespace berth::store::sqlite
