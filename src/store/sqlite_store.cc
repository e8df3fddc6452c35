#include "store/sqlite_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "store/key_range.h"
#include "store/sqlite/migrations.h"
#include "store/sqlite/shared.h"
#include "store/sqlite/watch.h"
#include "store/txn_check.h"
#include "util/fs.h"

namespace berth::store {

using sqlite::Db;

namespace {

// The db holds environment specs (maybe with secrets in env vars): create it owner-only.
// SQLite gives its -wal and -shm files the same mode as the db.
Status CreateDbFile(const std::string& path) {
  auto parent = std::filesystem::path(path).parent_path().string();
  if (!parent.empty() && !util::PathExists(parent)) {
    if (auto st = util::MakeDirs(parent, 0750); !st) return st;
  }
  int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Fail(ErrorCode::kUnavailable,
                "creating sqlite db " + path + ": " + std::strerror(errno));
  }
  ::close(fd);
  return {};
}

Result<int64_t> ReadRevision(Db& db) {
  return db.QueryInt("SELECT revision FROM meta WHERE id = 1");
}

// Deletes the change history up to `upto` inside the caller's write transaction.
Status CompactLocked(Db& db, int64_t upto) {
  auto st = db.Prepare(
      "UPDATE meta SET compacted_revision = ?1 WHERE id = 1 AND compacted_revision < ?1");
  if (!st) return Fail(st.error());
  if (auto r = st->BindInt(1, upto).Run(); !r) return r;
  if (sqlite3_changes(db.get()) == 0) return {};  // already compacted that far
  auto del = db.Prepare("DELETE FROM changes WHERE revision <= ?1");
  if (!del) return Fail(del.error());
  return del->BindInt(1, upto).Run();
}

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(SqliteStoreOptions opts) {
  if (opts.path.empty() || opts.path[0] != '/') {
    return Fail(ErrorCode::kInvalidArgument,
                "sqlite store path must be absolute: '" + opts.path + "'");
  }
  if (opts.compact_every <= 0) opts.compact_every = 1;
  if (auto st = CreateDbFile(opts.path); !st) return Fail(st.error());

  auto shared = std::make_shared<Shared>();
  shared->opts = opts;
  auto db = shared->OpenConnection(true);
  if (!db) return Fail(db.error());
  {
    auto mode = db->Prepare("PRAGMA journal_mode = WAL");
    if (!mode) return Fail(mode.error());
    auto row = mode->Step();
    if (!row) return Fail(row.error());
    if (!*row || mode->ColumnText(0) != "wal") {
      return Fail(ErrorCode::kUnavailable,
                  "sqlite db " + opts.path + ": cannot switch to WAL mode (a network filesystem?)");
    }
  }
  std::string sync = opts.synchronous_full ? "FULL" : "NORMAL";
  if (auto st = db->Exec("PRAGMA synchronous = " + sync); !st) return Fail(st.error());
  if (auto st = sqlite::Migrate(*db); !st) return Fail(Wrap(st.error(), opts.path));
  shared->writer = std::move(*db);
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(shared)));
}

SqliteStore::~SqliteStore() = default;

Result<std::optional<KeyValue>> SqliteStore::Get(std::string_view key) {
  auto lease = ReaderLease::Acquire(*shared_);
  if (!lease) return Fail(lease.error());
  auto st =
      lease->db().Cached("SELECT value, create_revision, mod_revision FROM kv WHERE key = ?1");
  if (!st) return Fail(st.error());
  (*st)->BindText(1, key);
  auto row = (*st)->Step();
  if (!row) return Fail(row.error());
  if (!*row) return std::optional<KeyValue>{};
  return std::optional<KeyValue>(
      KeyValue{std::string(key), (*st)->ColumnText(0), (*st)->ColumnInt(1), (*st)->ColumnInt(2)});
}

Result<Snapshot> SqliteStore::List(std::string_view prefix) {
  auto lease = ReaderLease::Acquire(*shared_);
  if (!lease) return Fail(lease.error());
  Db& db = lease->db();
  if (auto st = db.Exec("BEGIN"); !st) return Fail(st.error());
  TxnGuard read_txn(db);  // the revision and the rows from one snapshot
  Snapshot snap;
  auto rev = ReadRevision(db);
  if (!rev) return Fail(rev.error());
  snap.revision = *rev;
  std::string end = PrefixEnd(prefix);
  std::string sql = "SELECT key, value, create_revision, mod_revision FROM kv WHERE key >= ?1";
  if (!end.empty()) sql += " AND key < ?2";
  sql += " ORDER BY key";
  auto st = db.Prepare(sql);
  if (!st) return Fail(st.error());
  st->BindText(1, prefix);
  if (!end.empty()) st->BindText(2, end);
  while (true) {
    auto row = st->Step();
    if (!row) return Fail(row.error());
    if (!*row) break;
    snap.kvs.push_back(
        KeyValue{st->ColumnText(0), st->ColumnText(1), st->ColumnInt(2), st->ColumnInt(3)});
  }
  return snap;
}

Result<int64_t> SqliteStore::Revision() {
  auto lease = ReaderLease::Acquire(*shared_);
  if (!lease) return Fail(lease.error());
  return ReadRevision(lease->db());
}

Result<int64_t> SqliteStore::Commit(const Txn& txn) {
  if (auto st = ValidateTxn(txn); !st) return Fail(st.error());
  std::lock_guard<std::mutex> lock(shared_->write_mu);
  Db& db = shared_->writer;
  // IMMEDIATE takes the write lock now, so other processes wait (busy_timeout) here rather
  // than failing at the first write.
  if (auto st = db.Exec("BEGIN IMMEDIATE"); !st) return Fail(Wrap(st.error(), "store commit"));
  TxnGuard guard(db);

  for (const auto& c : txn.compares) {
    auto st = db.Prepare("SELECT mod_revision FROM kv WHERE key = ?1");
    if (!st) return Fail(st.error());
    st->BindText(1, c.key);
    auto row = st->Step();
    if (!row) return Fail(row.error());
    int64_t have = *row ? st->ColumnInt(0) : 0;
    if (have != c.mod_revision) {
      return Fail(ErrorCode::kConflict, ConflictMessage(c.key, c.mod_revision, have));
    }
  }

  auto current = ReadRevision(db);
  if (!current) return Fail(current.error());
  const int64_t rev = *current + 1;
  bool changed = false;
  for (const auto& op : txn.ops) {
    int64_t create_rev = 0;
    bool touched = false;
    if (op.kind == Op::Kind::kPut) {
      auto st = db.Prepare(
          "INSERT INTO kv (key, value, create_revision, mod_revision) VALUES (?1, ?2, ?3, ?3) "
          "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
          "mod_revision = excluded.mod_revision RETURNING create_revision");
      if (!st) return Fail(st.error());
      st->BindText(1, op.key).BindBlob(2, op.value).BindInt(3, rev);
      auto row = st->Step();
      if (!row) return Fail(row.error());
      if (!*row) return Fail(ErrorCode::kInternal, "upsert returned no row");
      create_rev = st->ColumnInt(0);
      if (auto r = st->Run(); !r) return Fail(r.error());
      touched = true;
    } else {
      auto st = db.Prepare("DELETE FROM kv WHERE key = ?1 RETURNING create_revision");
      if (!st) return Fail(st.error());
      st->BindText(1, op.key);
      auto row = st->Step();
      if (!row) return Fail(row.error());
      touched = *row;  // deleting an absent key changes nothing, as in etcd
      if (auto r = st->Run(); !r) return Fail(r.error());
    }
    if (!touched) continue;
    changed = true;
    auto ch = db.Prepare(
        "INSERT INTO changes (revision, key, value, deleted, create_revision) "
        "VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!ch) return Fail(ch.error());
    ch->BindInt(1, rev).BindText(2, op.key);
    if (op.kind == Op::Kind::kPut) {
      ch->BindBlob(3, op.value).BindInt(4, 0).BindInt(5, create_rev);
    } else {
      ch->BindNull(3).BindInt(4, 1).BindInt(5, 0);
    }
    if (auto r = ch->Run(); !r) return Fail(r.error());
  }
  // A txn that changed nothing keeps the revision, like etcd; the guard rolls back.
  if (!changed) return *current;

  auto up = db.Prepare("UPDATE meta SET revision = ?1 WHERE id = 1");
  if (!up) return Fail(up.error());
  if (auto r = up->BindInt(1, rev).Run(); !r) return Fail(r.error());

  auto& opts = shared_->opts;
  if (opts.keep_revisions > 0 && ++shared_->commits_since_compact >= opts.compact_every) {
    shared_->commits_since_compact = 0;
    if (rev > opts.keep_revisions) {
      if (auto r = CompactLocked(db, rev - opts.keep_revisions); !r) return Fail(r.error());
    }
  }
  if (auto st = guard.Commit(); !st) return Fail(Wrap(st.error(), "store commit"));
  shared_->NotifyCommit();
  return rev;
}

Result<std::unique_ptr<Watch>> SqliteStore::WatchPrefix(std::string_view prefix,
                                                        int64_t from_revision) {
  if (from_revision < 0) {
    return Fail(ErrorCode::kInvalidArgument, "watch from negative revision");
  }
  return std::unique_ptr<Watch>(
      std::make_unique<SqliteWatch>(shared_, std::string(prefix), from_revision));
}

Status SqliteStore::Compact(int64_t revision) {
  std::lock_guard<std::mutex> lock(shared_->write_mu);
  Db& db = shared_->writer;
  if (auto st = db.Exec("BEGIN IMMEDIATE"); !st) return st;
  TxnGuard guard(db);
  auto current = ReadRevision(db);
  if (!current) return Fail(current.error());
  if (auto st = CompactLocked(db, std::min(revision, *current)); !st) return st;
  return guard.Commit();
}

Result<int64_t> SqliteStore::CompactedRevision() {
  auto lease = ReaderLease::Acquire(*shared_);
  if (!lease) return Fail(lease.error());
  return lease->db().QueryInt("SELECT compacted_revision FROM meta WHERE id = 1");
}

Status SqliteStore::Backup(const std::string& dest_path) {
  auto lease = ReaderLease::Acquire(*shared_);
  if (!lease) return Fail(lease.error());
  if (auto st = CreateDbFile(dest_path); !st) return st;
  auto dest = Db::Open(dest_path, true);
  if (!dest) return Fail(dest.error());
  sqlite3_backup* b = sqlite3_backup_init(dest->get(), "main", lease->db().get(), "main");
  if (!b) return Fail(dest->LastError("backup to " + dest_path));
  int rc = sqlite3_backup_step(b, -1);  // all pages in one step: one consistent snapshot
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) {
    return Fail(sqlite::CodeFor(rc), "backup to " + dest_path + ": " + sqlite3_errstr(rc));
  }
  return {};
}

}  // namespace berth::store
