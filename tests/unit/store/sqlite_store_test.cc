// SqliteStore behaviour beyond the shared contract: schema migrations, automatic compaction,
// batching limits, reopening, backups, file permissions, commits from another process.
#include "store/sqlite_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/sqlite/db.h"
#include "store/sqlite/migrations.h"
#include "store/sqlite/watch.h"
#include "util/fs.h"

namespace berth::store {
namespace {

using namespace std::chrono_literals;

std::string Describe(const Error& e) {
  return std::string(ErrorCodeName(e.code)) + ": " + e.message;
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<SqliteStore> Open(SqliteStoreOptions opts = {}) {
    opts.path = path_;
    auto s = SqliteStore::Open(opts);
    EXPECT_TRUE(s.has_value()) << Describe(s.error());
    return s ? std::move(*s) : nullptr;
  }
  sqlite::Db RawDb() {
    EXPECT_TRUE(util::MakeDirs(dir_.path() + "/state").has_value());
    auto db = sqlite::Db::Open(path_, true);
    EXPECT_TRUE(db.has_value()) << Describe(db.error());
    return std::move(*db);
  }
  util::TempDir dir_{"berth-sqlite-test"};
  std::string path_ = dir_.path() + "/state/berth.db";
};

TEST_F(SqliteStoreTest, CreatesParentDirAndOwnerOnlyFile) {
  auto s = Open();
  ASSERT_TRUE(s);
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(SqliteStoreTest, UsesWalAndLatestSchema) {
  auto s = Open();
  ASSERT_TRUE(s);
  auto db = RawDb();
  auto st = db.Prepare("PRAGMA journal_mode");
  ASSERT_TRUE(st.has_value());
  ASSERT_TRUE(st->Step().value_or(false));
  EXPECT_EQ(st->ColumnText(0), "wal");
  EXPECT_EQ(db.QueryInt("PRAGMA user_version").value_or(-1), sqlite::LatestSchemaVersion());
}

TEST_F(SqliteStoreTest, ReopenKeepsDataAndRevision) {
  int64_t rev;
  {
    auto s = Open();
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->Put("/k/1", "one").has_value());
    auto r = s->Put("/k/2", "two");
    ASSERT_TRUE(r.has_value());
    rev = *r;
  }
  auto s = Open();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->Revision().value_or(-1), rev);
  auto list = s->List("/k/");
  ASSERT_TRUE(list.has_value());
  ASSERT_EQ(list->kvs.size(), 2u);
  EXPECT_EQ(list->kvs[1].value, "two");
  // Revisions keep counting from where they were.
  EXPECT_EQ(s->Put("/k/3", "three").value_or(-1), rev + 1);
}

TEST_F(SqliteStoreTest, MigratesAVersionOneDatabase) {
  {
    // A database as the first schema version left it, with history.
    auto db = RawDb();
    ASSERT_TRUE(db.Exec(std::string(sqlite::Migrations()[0].sql)).has_value());
    ASSERT_TRUE(db.Exec("PRAGMA user_version = 1").has_value());
    ASSERT_TRUE(db.Exec("INSERT INTO kv VALUES ('/old/a', 'A', 1, 3), ('/old/b', 'B', 2, 2);"
                        "INSERT INTO changes (revision, key, value, deleted) VALUES "
                        "(1, '/old/a', 'a0', 0), (2, '/old/b', 'B', 0), (3, '/old/a', 'A', 0);"
                        "UPDATE meta SET revision = 3 WHERE id = 1;")
                    .has_value());
  }
  auto s = Open();
  ASSERT_TRUE(s);
  {
    auto db = RawDb();
    EXPECT_EQ(db.QueryInt("PRAGMA user_version").value_or(-1), sqlite::LatestSchemaVersion());
  }
  EXPECT_EQ(s->Revision().value_or(-1), 3);
  auto a = s->Get("/old/a");
  ASSERT_TRUE(a.has_value() && a->has_value());
  EXPECT_EQ((*a)->value, "A");
  EXPECT_EQ((*a)->create_revision, 1);
  EXPECT_EQ((*a)->mod_revision, 3);

  // Old history now carries create_revision (backfilled from the live keys).
  auto w = s->WatchPrefix("/old/", 0);
  ASSERT_TRUE(w.has_value());
  auto ev = (*w)->Next(5s);
  ASSERT_TRUE(ev.has_value()) << Describe(ev.error());
  ASSERT_EQ(ev->size(), 3u);
  EXPECT_EQ((*ev)[2].kv.mod_revision, 3);
  EXPECT_EQ((*ev)[2].kv.create_revision, 1);

  // And new commits continue the old revision sequence.
  auto r = s->Put("/old/c", "C");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 4);
}

TEST_F(SqliteStoreTest, RefusesADatabaseFromANewerBerth) {
  {
    auto s = Open();
    ASSERT_TRUE(s);
  }
  {
    auto db = RawDb();
    ASSERT_TRUE(db.Exec("PRAGMA user_version = 999").has_value());
  }
  SqliteStoreOptions opts;
  opts.path = path_;
  auto s = SqliteStore::Open(opts);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kFailed);
  EXPECT_NE(s.error().message.find("999"), std::string::npos) << s.error().message;
}

TEST_F(SqliteStoreTest, RejectsRelativePath) {
  SqliteStoreOptions opts;
  opts.path = "relative/berth.db";
  auto s = SqliteStore::Open(opts);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(SqliteStoreTest, CompactsAutomaticallyKeepingTheLastN) {
  SqliteStoreOptions opts;
  opts.keep_revisions = 10;
  opts.compact_every = 1;
  auto s = Open(opts);
  ASSERT_TRUE(s);
  for (int i = 1; i <= 30; ++i) ASSERT_TRUE(s->Put("/c/" + std::to_string(i), "v").has_value());
  EXPECT_EQ(s->CompactedRevision().value_or(-1), 20);
  {
    auto db = RawDb();
    EXPECT_EQ(db.QueryInt("SELECT COUNT(*) FROM changes").value_or(-1), 10);
    EXPECT_EQ(db.QueryInt("SELECT MIN(revision) FROM changes").value_or(-1), 21);
  }
  // Live keys are untouched by compaction.
  EXPECT_EQ(s->List("/c/").value().kvs.size(), 30u);

  auto old = s->WatchPrefix("/c/", 19);
  ASSERT_TRUE(old.has_value());
  auto gone = (*old)->Next(1s);
  ASSERT_FALSE(gone.has_value());
  EXPECT_EQ(gone.error().code, ErrorCode::kGone);

  auto edge = s->WatchPrefix("/c/", 20);
  ASSERT_TRUE(edge.has_value());
  auto ev = (*edge)->Next(1s);
  ASSERT_TRUE(ev.has_value()) << Describe(ev.error());
  ASSERT_EQ(ev->size(), 10u);
  EXPECT_EQ(ev->front().kv.mod_revision, 21);
  EXPECT_EQ(ev->back().kv.mod_revision, 30);
}

TEST_F(SqliteStoreTest, IdleWatchOnAQuietPrefixSurvivesCompaction) {
  // A watch whose prefix sees no traffic still advances, so churn elsewhere cannot make it
  // fall behind the compaction point.
  SqliteStoreOptions opts;
  opts.keep_revisions = 5;
  opts.compact_every = 1;
  auto s = Open(opts);
  ASSERT_TRUE(s);
  auto w = s->WatchPrefix("/quiet/", 0);
  ASSERT_TRUE(w.has_value());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(s->Put("/busy/" + std::to_string(i), "v").has_value());
    auto ev = (*w)->Next(0ms);
    ASSERT_TRUE(ev.has_value()) << Describe(ev.error());
    EXPECT_TRUE(ev->empty());
  }
  ASSERT_TRUE(s->Put("/quiet/x", "v").has_value());
  auto ev = (*w)->Next(5s);
  ASSERT_TRUE(ev.has_value()) << Describe(ev.error());
  ASSERT_EQ(ev->size(), 1u);
}

TEST_F(SqliteStoreTest, BatchesNeverSplitARevision) {
  auto s = Open();
  ASSERT_TRUE(s);
  const int big = SqliteWatch::kBatchLimit + 200;
  const int half = SqliteWatch::kBatchLimit / 2 + 100;
  Txn one;
  for (int i = 0; i < big; ++i) one.ops.push_back(Op::Put("/b/big/" + std::to_string(i), "v"));
  auto r1 = s->Commit(one);
  ASSERT_TRUE(r1.has_value()) << Describe(r1.error());
  Txn two, three;
  for (int i = 0; i < half; ++i) {
    two.ops.push_back(Op::Put("/b/two/" + std::to_string(i), "v"));
    three.ops.push_back(Op::Put("/b/three/" + std::to_string(i), "v"));
  }
  auto r2 = s->Commit(two);
  auto r3 = s->Commit(three);
  ASSERT_TRUE(r2.has_value() && r3.has_value());

  auto w = s->WatchPrefix("/b/", 0);
  ASSERT_TRUE(w.has_value());
  std::vector<std::vector<WatchEvent>> batches;
  for (int i = 0; i < 3; ++i) {
    auto b = (*w)->Next(1s);
    ASSERT_TRUE(b.has_value()) << Describe(b.error());
    batches.push_back(std::move(*b));
  }
  // The oversized revision whole; then the two half-limit revisions do not fit together.
  ASSERT_EQ(batches[0].size(), static_cast<size_t>(big));
  EXPECT_EQ(batches[0].back().kv.mod_revision, *r1);
  ASSERT_EQ(batches[1].size(), static_cast<size_t>(half));
  EXPECT_EQ(batches[1].front().kv.mod_revision, *r2);
  EXPECT_EQ(batches[1].back().kv.mod_revision, *r2);
  ASSERT_EQ(batches[2].size(), static_cast<size_t>(half));
  EXPECT_EQ(batches[2].front().kv.mod_revision, *r3);
}

TEST_F(SqliteStoreTest, WatchSeesCommitsFromAnotherProcess) {
  auto s = Open();
  ASSERT_TRUE(s);
  auto from = s->Put("/p/start", "x");
  ASSERT_TRUE(from.has_value());
  auto w = s->WatchPrefix("/p/", *from);
  ASSERT_TRUE(w.has_value());

  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    SqliteStoreOptions opts;
    opts.path = path_;
    auto child = SqliteStore::Open(opts);
    bool ok = child && (*child)->Put("/p/from-child", "hello").has_value();
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  // No in-process notification happens; the watch's periodic re-read finds it.
  auto ev = (*w)->Next(30s);
  ASSERT_TRUE(ev.has_value()) << Describe(ev.error());
  ASSERT_EQ(ev->size(), 1u);
  EXPECT_EQ((*ev)[0].kv.key, "/p/from-child");
  EXPECT_EQ((*ev)[0].kv.mod_revision, *from + 1);
}

TEST_F(SqliteStoreTest, BackupIsAConsistentCopy) {
  auto s = Open();
  ASSERT_TRUE(s);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(s->Put("/bk/" + std::to_string(i), "v").has_value());
  std::string dest = dir_.path() + "/backup/berth.db";
  auto st = s->Backup(dest);
  ASSERT_TRUE(st.has_value()) << Describe(st.error());
  ASSERT_TRUE(s->Put("/bk/after", "v").has_value());

  SqliteStoreOptions opts;
  opts.path = dest;
  auto copy = SqliteStore::Open(opts);
  ASSERT_TRUE(copy.has_value()) << Describe(copy.error());
  EXPECT_EQ((*copy)->Revision().value_or(-1), 50);
  EXPECT_EQ((*copy)->List("/bk/").value().kvs.size(), 50u);
}

}  // namespace
}  // namespace berth::store
