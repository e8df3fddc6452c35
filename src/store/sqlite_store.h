// The embedded store: one SQLite file in WAL mode. kv holds the live keys, changes is the
// change feed (one row per key touched per revision), meta the current and compacted
// revisions. Every Commit is one BEGIN IMMEDIATE transaction that bumps the revision once.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "berth/store.h"

namespace berth::store {

struct SqliteStoreOptions {
  std::string path;  // absolute; parent directories are created
  // FULL fsyncs the WAL at every commit, so a commit survives power loss too, not just kill -9
  // (NORMAL's guarantee). Berth commits a few times per environment change, so the fsync is
  // cheap next to what a commit stands for.
  bool synchronous_full = true;
  int64_t keep_revisions = 10000;  // change history kept for watches; 0 = keep everything
  int64_t compact_every = 500;     // commits between automatic compactions
  std::chrono::milliseconds busy_timeout{10000};
  // Watches also re-read the feed this often, to see commits made by other processes that
  // share the file (in-process commits wake them at once).
  std::chrono::milliseconds poll_interval{250};
};

class SqliteStore final : public Store {
 public:
  static Result<std::unique_ptr<SqliteStore>> Open(SqliteStoreOptions opts);
  ~SqliteStore() override;

  Result<std::optional<KeyValue>> Get(std::string_view key) override;
  Result<Snapshot> List(std::string_view prefix) override;
  Result<int64_t> Commit(const Txn& txn) override;
  Result<int64_t> Revision() override;
  Result<std::unique_ptr<Watch>> WatchPrefix(std::string_view prefix,
                                             int64_t from_revision) override;

  // Drops change history up to and including `revision` (clamped to the current revision).
  // Watches from before it then get kGone.
  Status Compact(int64_t revision);
  Result<int64_t> CompactedRevision();
  // A consistent online copy of the database (sqlite3_backup), safe while writes continue.
  Status Backup(const std::string& dest_path);

  struct Shared;  // connection pool and commit notifier, shared with live watches

 private:
  explicit SqliteStore(std::shared_ptr<Shared> s) : shared_(std::move(s)) {}
  std::shared_ptr<Shared> shared_;
};

}  // namespace berth::store
