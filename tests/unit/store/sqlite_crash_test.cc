// Crash safety: a writer process is SIGKILLed in the middle of a stream of commits, several
// times over; every commit it reported as done must be there afterwards, nothing half-done.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <set>

#include "store/sqlite/db.h"
#include "store/sqlite_store.h"
#include "util/fs.h"

namespace berth::store {
namespace {

constexpr const char* kCounter = "/crash/counter";

std::string Item(int64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "/crash/item/%08lld", static_cast<long long>(i));
  return buf;
}

// The writer: each txn bumps the counter with a compare and adds the matching item, then
// reports the counter value on the pipe. Runs until killed.
[[noreturn]] void Writer(const std::string& path, int fd, bool sync_full) {
  SqliteStoreOptions opts;
  opts.path = path;
  opts.synchronous_full = sync_full;
  auto s = SqliteStore::Open(opts);
  if (!s) ::_exit(10);
  while (true) {
    auto cur = (*s)->Get(kCounter);
    if (!cur) ::_exit(11);
    int64_t rev = cur->has_value() ? (*cur)->mod_revision : 0;
    int64_t next = cur->has_value() ? std::stoll((*cur)->value) + 1 : 0;
    auto r = (*s)->Commit(
        Txn{{Compare{kCounter, rev}},
            {Op::Put(kCounter, std::to_string(next)), Op::Put(Item(next), std::string(200, 'x'))}});
    if (!r) ::_exit(12);
    if (::write(fd, &next, sizeof(next)) != sizeof(next)) ::_exit(13);
  }
}

class SqliteCrashTest : public ::testing::TestWithParam<bool> {};

TEST_P(SqliteCrashTest, KillNineLosesNoAcknowledgedCommit) {
  util::TempDir dir("berth-crash-test");
  const std::string path = dir.path() + "/berth.db";
  int64_t max_acked = -1;
  for (int round = 0; round < 4; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      Writer(path, fds[1], GetParam());
    }
    ::close(fds[1]);
    // Let it get well into its stream (more each round), then kill it mid-write.
    int want = 50 + 40 * round;
    int64_t v = 0;
    for (int got = 0; got < want; ++got) {
      ASSERT_EQ(::read(fds[0], &v, sizeof(v)), static_cast<ssize_t>(sizeof(v)))
          << "writer died early";
      max_acked = std::max(max_acked, v);
    }
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "writer exited with " << WEXITSTATUS(status);
    while (::read(fds[0], &v, sizeof(v)) == static_cast<ssize_t>(sizeof(v))) {
      max_acked = std::max(max_acked, v);
    }
    ::close(fds[0]);

    // Reopen as the daemon would after the crash and check consistency.
    SqliteStoreOptions opts;
    opts.path = path;
    auto s = SqliteStore::Open(opts);
    ASSERT_TRUE(s.has_value()) << s.error().message;
    auto counter = (*s)->Get(kCounter);
    ASSERT_TRUE(counter.has_value() && counter->has_value());
    int64_t c = std::stoll((*counter)->value);
    EXPECT_GE(c, max_acked) << "an acknowledged commit was lost in round " << round;
    // Commit n (counter value n) is revision n + 1: one revision per txn, none half-applied.
    EXPECT_EQ((*s)->Revision().value_or(-1), c + 1);
    auto items = (*s)->List("/crash/item/");
    ASSERT_TRUE(items.has_value());
    ASSERT_EQ(items->kvs.size(), static_cast<size_t>(c + 1));
    for (int64_t i = 0; i <= c; ++i) {
      EXPECT_EQ(items->kvs[i].key, Item(i));
      EXPECT_EQ(items->kvs[i].mod_revision, i + 1);
    }
    auto db = sqlite::Db::Open(path, false);
    ASSERT_TRUE(db.has_value());
    auto check = db->Prepare("PRAGMA integrity_check");
    ASSERT_TRUE(check.has_value());
    ASSERT_TRUE(check->Step().value_or(false));
    EXPECT_EQ(check->ColumnText(0), "ok");
    max_acked = c;
  }
}

INSTANTIATE_TEST_SUITE_P(Sync, SqliteCrashTest, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Full" : "Normal"; });

}  // namespace
}  // namespace berth::store
