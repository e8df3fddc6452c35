#include "store/sqlite/watch.h"

#include <algorithm>

#include "store/key_range.h"
#include "store/sqlite/shared.h"

namespace berth::store {

SqliteWatch::SqliteWatch(std::shared_ptr<SqliteStore::Shared> s, std::string prefix, int64_t from)
    : s_(std::move(s)), prefix_(std::move(prefix)), end_(PrefixEnd(prefix_)), last_(from) {}

void SqliteWatch::Cancel() {
  {
    std::lock_guard<std::mutex> l(s_->notify_mu);
    cancelled_ = true;
  }
  s_->notify_cv.notify_all();
}

Result<std::vector<WatchEvent>> SqliteWatch::Next(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    uint64_t seen;
    {
      std::lock_guard<std::mutex> l(s_->notify_mu);
      if (cancelled_) return Fail(ErrorCode::kUnavailable, "watch cancelled");
      seen = s_->commit_seq;
    }
    auto events = Poll();
    if (!events || !events->empty()) return events;

    std::unique_lock<std::mutex> l(s_->notify_mu);
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return std::vector<WatchEvent>{};
    auto wake = std::min(deadline, now + s_->opts.poll_interval);
    s_->notify_cv.wait_until(l, wake, [&] { return cancelled_ || s_->commit_seq != seen; });
  }
}

Result<std::vector<WatchEvent>> SqliteWatch::Poll() {
  auto lease = ReaderLease::Acquire(*s_);
  if (!lease) return Fail(lease.error());
  auto& db = lease->db();
  if (auto st = db.Exec("BEGIN"); !st) return Fail(st.error());
  TxnGuard read_txn(db);  // one snapshot for meta and changes

  auto meta = db.Prepare("SELECT revision, compacted_revision FROM meta WHERE id = 1");
  if (!meta) return Fail(meta.error());
  auto row = meta->Step();
  if (!row) return Fail(row.error());
  if (!*row) return Fail(ErrorCode::kInternal, "sqlite store: meta row missing");
  int64_t current = meta->ColumnInt(0);
  int64_t compacted = meta->ColumnInt(1);
  if (last_ < compacted) {
    return Fail(ErrorCode::kGone, "watch from revision " + std::to_string(last_) +
                                      ": history compacted up to " + std::to_string(compacted) +
                                      "; relist");
  }
  if (last_ >= current) return std::vector<WatchEvent>{};

  auto query = [&](bool single_revision, int64_t rev) -> Result<std::vector<WatchEvent>> {
    std::string sql = "SELECT revision, key, value, deleted, create_revision FROM changes WHERE ";
    sql += single_revision ? "revision = ?1" : "revision > ?1";
    sql += " AND key >= ?2";
    if (!end_.empty()) sql += " AND key < ?3";
    sql += " ORDER BY revision, key";
    if (!single_revision) sql += " LIMIT " + std::to_string(kBatchLimit);
    auto st = db.Prepare(sql);
    if (!st) return Fail(st.error());
    st->BindInt(1, rev).BindText(2, prefix_);
    if (!end_.empty()) st->BindText(3, end_);
    std::vector<WatchEvent> out;
    while (true) {
      auto r = st->Step();
      if (!r) return Fail(r.error());
      if (!*r) break;
      WatchEvent ev;
      bool deleted = st->ColumnInt(3) != 0;
      ev.type = deleted ? WatchEvent::Type::kDelete : WatchEvent::Type::kPut;
      ev.kv.mod_revision = st->ColumnInt(0);
      ev.kv.key = st->ColumnText(1);
      if (!deleted) {
        ev.kv.value = st->ColumnText(2);
        ev.kv.create_revision = st->ColumnInt(4);
      }
      out.push_back(std::move(ev));
    }
    return out;
  };

  auto events = query(false, last_);
  if (!events) return events;
  if (static_cast<int>(events->size()) < kBatchLimit) {
    last_ = current;  // nothing else matched up to the snapshot's revision
    return events;
  }
  // A full batch may have cut the last revision short: never split a revision.
  int64_t tail = events->back().kv.mod_revision;
  if (events->front().kv.mod_revision == tail) {
    events = query(true, tail);
    if (!events) return events;
    last_ = tail;
    return events;
  }
  while (events->back().kv.mod_revision == tail) events->pop_back();
  last_ = tail - 1;
  return events;
}

}  // namespace berth::store
