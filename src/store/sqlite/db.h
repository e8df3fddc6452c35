// Thin RAII wrappers over the sqlite3 C API: a connection and a prepared statement. Errors
// come back as Result values carrying sqlite's own message.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "berth/result.h"

namespace berth::store::sqlite {

class Stmt;
class CachedStmt;

class Db {
 public:
  Db() = default;
  ~Db();
  Db(Db&& o) noexcept : db_(o.db_), cache_(std::move(o.cache_)) { o.db_ = nullptr; }
  Db& operator=(Db&& o) noexcept;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Opens (creating if asked) with SQLITE_OPEN_NOMUTEX: a connection is used by one thread at a
  // time, its owner serialises access.
  static Result<Db> Open(const std::string& path, bool create);

  // Runs one or more statements that return no rows we need.
  Status Exec(const std::string& sql);
  Result<Stmt> Prepare(std::string_view sql);
  // The statement for `sql` prepared once for this connection and kept, so the hot queries
  // are not parsed again on every call. One user at a time, as the connection itself.
  Result<CachedStmt> Cached(std::string_view sql);
  // A single integer from a one-row query ("PRAGMA user_version"), through Cached().
  Result<int64_t> QueryInt(std::string_view sql);

  Error LastError(std::string_view context) const;
  sqlite3* get() const { return db_; }

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
  std::unique_ptr<std::map<std::string, Stmt, std::less<>>> cache_;
};

class Stmt {
 public:
  Stmt() = default;
  ~Stmt();
  Stmt(Stmt&& o) noexcept : db_(o.db_), st_(o.st_) { o.st_ = nullptr; }
  Stmt& operator=(Stmt&& o) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // Parameters are 1-based, as in sqlite. Text and blobs are copied (SQLITE_TRANSIENT) so the
  // caller's buffers need not outlive the statement.
  Stmt& BindText(int i, std::string_view s);
  Stmt& BindBlob(int i, std::string_view s);
  Stmt& BindInt(int i, int64_t v);
  Stmt& BindNull(int i);

  // true = a row is ready, false = done.
  Result<bool> Step();
  // Steps to completion, for statements without result rows.
  Status Run();
  // Clears bindings and rewinds, so a cached statement can be reused.
  void Reset();

  int64_t ColumnInt(int i) const { return sqlite3_column_int64(st_, i); }
  std::string ColumnText(int i) const;  // text or blob bytes, NULL as ""
  bool ColumnIsNull(int i) const { return sqlite3_column_type(st_, i) == SQLITE_NULL; }

 private:
  friend class Db;
  Stmt(sqlite3* db, sqlite3_stmt* st) : db_(db), st_(st) {}
  sqlite3* db_ = nullptr;
  sqlite3_stmt* st_ = nullptr;
};

// A statement of Db::Cached, lent for one use: rewound with its bindings cleared when the
// use ends, so it holds no read snapshot while the connection waits in a pool.
class CachedStmt {
 public:
  explicit CachedStmt(Stmt* st) : st_(st) {}
  ~CachedStmt();
  CachedStmt(CachedStmt&& o) noexcept : st_(o.st_) { o.st_ = nullptr; }
  CachedStmt& operator=(CachedStmt&&) = delete;
  CachedStmt(const CachedStmt&) = delete;
  CachedStmt& operator=(const CachedStmt&) = delete;
  Stmt* operator->() const { return st_; }

 private:
  Stmt* st_;
};

// Maps sqlite result codes onto Berth's: busy/locked are kUnavailable (the caller may retry),
// the rest kInternal.
ErrorCode CodeFor(int sqlite_rc);

}  // namespace berth::store::sqlite
