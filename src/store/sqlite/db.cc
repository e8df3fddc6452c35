#include "store/sqlite/db.h"

#include <mutex>

namespace berth::store::sqlite {

ErrorCode CodeFor(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return ErrorCode::kUnavailable;
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
      return ErrorCode::kUnavailable;
    default:
      return ErrorCode::kInternal;
  }
}

Db::~Db() {
  cache_.reset();  // its statements are finalised before the connection closes
  // close_v2 defers the close until stray statements are finalised instead of failing.
  if (db_) sqlite3_close_v2(db_);
}

Db& Db::operator=(Db&& o) noexcept {
  if (this != &o) {
    cache_.reset();
    if (db_) sqlite3_close_v2(db_);
    db_ = o.db_;
    o.db_ = nullptr;
    cache_ = std::move(o.cache_);
  }
  return *this;
}

Result<Db> Db::Open(const std::string& path, bool create) {
  // Before SQLite initialises: no memory statistics, which take a process-wide mutex on every
  // allocation (the reader pool's connections would contend on it).
  static std::once_flag configured;
  std::call_once(configured, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Db db(raw);  // owns the handle even on failure
  if (rc != SQLITE_OK) {
    std::string msg = raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    return Fail(CodeFor(rc), "opening sqlite db " + path + ": " + msg);
  }
  sqlite3_extended_result_codes(raw, 1);
  return db;
}

Error Db::LastError(std::string_view context) const {
  int rc = sqlite3_extended_errcode(db_);
  return Error{CodeFor(rc), std::string(context) + ": " + sqlite3_errmsg(db_)};
}

Status Db::Exec(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return Fail(CodeFor(rc), "sqlite exec: " + msg);
  }
  return {};
}

Result<Stmt> Db::Prepare(std::string_view sql) {
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), 0, &st, nullptr);
  if (rc != SQLITE_OK) return Fail(LastError("preparing `" + std::string(sql) + "`"));
  return Stmt(db_, st);
}

CachedStmt::~CachedStmt() {
  if (st_) st_->Reset();
}

Result<CachedStmt> Db::Cached(std::string_view sql) {
  if (!cache_) cache_ = std::make_unique<std::map<std::string, Stmt, std::less<>>>();
  if (auto it = cache_->find(sql); it != cache_->end()) return CachedStmt(&it->second);
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &st, nullptr);
  if (rc != SQLITE_OK) return Fail(LastError("preparing `" + std::string(sql) + "`"));
  auto [it, added] = cache_->emplace(std::string(sql), Stmt(db_, st));
  return CachedStmt(&it->second);
}

Result<int64_t> Db::QueryInt(std::string_view sql) {
  auto st = Cached(sql);  // the same few queries again and again (the store's revision)
  if (!st) return Fail(st.error());
  auto row = (*st)->Step();
  if (!row) return Fail(row.error());
  if (!*row) return Fail(ErrorCode::kInternal, "no row from `" + std::string(sql) + "`");
  return (*st)->ColumnInt(0);
}

Stmt::~Stmt() {
  if (st_) sqlite3_finalize(st_);
}

Stmt& Stmt::operator=(Stmt&& o) noexcept {
  if (this != &o) {
    if (st_) sqlite3_finalize(st_);
    db_ = o.db_;
    st_ = o.st_;
    o.st_ = nullptr;
  }
  return *this;
}

Stmt& Stmt::BindText(int i, std::string_view s) {
  sqlite3_bind_text(st_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::BindBlob(int i, std::string_view s) {
  // A zero-length blob, not NULL: an empty value is still a value.
  sqlite3_bind_blob(st_, i, s.empty() ? "" : s.data(), static_cast<int>(s.size()),
                    SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::BindInt(int i, int64_t v) {
  sqlite3_bind_int64(st_, i, v);
  return *this;
}
Stmt& Stmt::BindNull(int i) {
  sqlite3_bind_null(st_, i);
  return *this;
}

Result<bool> Stmt::Step() {
  int rc = sqlite3_step(st_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return Fail(CodeFor(rc), std::string("sqlite step: ") + sqlite3_errmsg(db_) + " in `" +
                               sqlite3_sql(st_) + "`");
}

Status Stmt::Run() {
  while (true) {
    auto r = Step();
    if (!r) return Fail(r.error());
    if (!*r) return {};
  }
}

void Stmt::Reset() {
  sqlite3_reset(st_);
  sqlite3_clear_bindings(st_);
}

std::string Stmt::ColumnText(int i) const {
  // Ask for the pointer before the length, as sqlite's docs require.
  const void* p = sqlite3_column_blob(st_, i);
  int n = sqlite3_column_bytes(st_, i);
  if (!p || n <= 0) return {};
  return std::string(static_cast<const char*>(p), static_cast<size_t>(n));
}

}  // namespace berth::store::sqlite
