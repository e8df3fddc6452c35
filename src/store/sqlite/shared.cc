#include "store/sqlite/shared.h"

namespace berth::store {

namespace {
constexpr size_t kMaxIdleReaders = 8;
}

Result<sqlite::Db> SqliteStore::Shared::OpenConnection(bool create) {
  auto db = sqlite::Db::Open(opts.path, create);
  if (!db) return db;
  sqlite3_busy_timeout(db->get(), static_cast<int>(opts.busy_timeout.count()));
  return db;
}

void SqliteStore::Shared::NotifyCommit() {
  {
    std::lock_guard<std::mutex> l(notify_mu);
    ++commit_seq;
  }
  notify_cv.notify_all();
}

Result<ReaderLease> ReaderLease::Acquire(SqliteStore::Shared& s) {
  {
    std::lock_guard<std::mutex> l(s.pool_mu);
    if (!s.idle_readers.empty()) {
      sqlite::Db db = std::move(s.idle_readers.back());
      s.idle_readers.pop_back();
      return ReaderLease(&s, std::move(db));
    }
  }
  auto db = s.OpenConnection(false);
  if (!db) return Fail(db.error());
  // A reader never writes; make that a guarantee rather than a convention.
  if (auto st = db->Exec("PRAGMA query_only = 1"); !st) return Fail(st.error());
  // A small page cache per reader (SQLite's default is 2 MiB each, and a pool of readers
  // would hold a copy of the hot pages each): the kernel's page cache is shared by all of them.
  if (auto st = db->Exec("PRAGMA cache_size = -256"); !st) return Fail(st.error());
  return ReaderLease(&s, std::move(*db));
}

ReaderLease::~ReaderLease() {
  if (!db_.get() || !s_) return;
  std::lock_guard<std::mutex> l(s_->pool_mu);
  if (s_->idle_readers.size() < kMaxIdleReaders) s_->idle_readers.push_back(std::move(db_));
}

}  // namespace berth::store
