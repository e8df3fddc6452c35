// State a SqliteStore shares with its watches: the write connection, a pool of read
// connections (WAL lets readers run beside the writer) and the commit notifier.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "store/sqlite/db.h"
#include "store/sqlite_store.h"

namespace berth::store {

struct SqliteStore::Shared {
  SqliteStoreOptions opts;

  std::mutex write_mu;  // guards writer and serialises commits within the process
  sqlite::Db writer;
  int64_t commits_since_compact = 0;

  std::mutex pool_mu;
  std::vector<sqlite::Db> idle_readers;

  // Bumped after every commit; watches wait for it to change.
  std::mutex notify_mu;
  std::condition_variable notify_cv;
  uint64_t commit_seq = 0;

  Result<sqlite::Db> OpenConnection(bool create);
  void NotifyCommit();
};

// Borrows a read connection from the pool for one call; returns it on destruction.
class ReaderLease {
 public:
  static Result<ReaderLease> Acquire(SqliteStore::Shared& s);
  ReaderLease(ReaderLease&&) = default;
  ~ReaderLease();
  sqlite::Db& db() { return db_; }

 private:
  ReaderLease(SqliteStore::Shared* s, sqlite::Db db) : s_(s), db_(std::move(db)) {}
  SqliteStore::Shared* s_;
  sqlite::Db db_;
};

// Ends a transaction on scope exit unless committed: ROLLBACK (also the way to end reads).
class TxnGuard {
 public:
  explicit TxnGuard(sqlite::Db& db) : db_(db) {}
  ~TxnGuard() {
    if (!done_) (void)db_.Exec("ROLLBACK");
  }
  Status Commit() {
    done_ = true;
    auto st = db_.Exec("COMMIT");
    if (!st) (void)db_.Exec("ROLLBACK");
    return st;
  }

 private:
  sqlite::Db& db_;
  bool done_ = false;
};

}  // namespace berth::store
