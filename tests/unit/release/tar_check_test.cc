// What a code release's archive may hold, entry by entry (release/tar_check.h).
#include "release/tar_check.h"

#include <gtest/gtest.h>

namespace berth::release {
namespace {

using Type = TarEntry::Type;

TarEntry File(std::string path, int64_t size = 1, uint32_t mode = 0644) {
  return TarEntry{std::move(path), Type::kFile, "", mode, size};
}
TarEntry Link(std::string path, std::string target, Type type = Type::kSymlink) {
  return TarEntry{std::move(path), type, std::move(target), 0777, 0};
}

// The refusal of `e` as the first entry, or "" when it is accepted.
std::string Refusal(const TarEntry& e, TarLimits limits = {}) {
  TarChecker c(limits);
  auto r = c.Check(e);
  return r ? "" : r.error().message;
}

TEST(EntryComponents, NormalizesPlainPaths) {
  TarLimits l;
  EXPECT_EQ(*EntryComponents("a/b/c", l), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(*EntryComponents("./a//b/", l), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(EntryComponents("./", l)->empty());
  EXPECT_EQ(*EntryComponents("..a/b..", l), (std::vector<std::string>{"..a", "b.."}));
}

TEST(TarChecker, AcceptsAnOrdinaryTree) {
  TarChecker c({});
  EXPECT_TRUE(c.Check(TarEntry{"./", Type::kDir, "", 0755, 0}));
  EXPECT_TRUE(c.Check(TarEntry{"app", Type::kDir, "", 0755, 0}));
  EXPECT_TRUE(c.Check(File("app/index.php", 100)));
  EXPECT_TRUE(c.Check(File("app/run.sh", 10, 0755)));
  EXPECT_TRUE(c.Check(Link("app/latest", "index.php")));
  EXPECT_TRUE(c.Check(Link("app/up", "../app/index.php")));
  EXPECT_TRUE(c.Check(Link("deep/a/b/c", "../../x")));
  EXPECT_TRUE(c.Check(Link("app/index2.php", "app/index.php", Type::kHardlink)));
  EXPECT_EQ(c.files(), 8);
  EXPECT_EQ(c.bytes(), 110);
}

TEST(TarChecker, RefusesEachBadEntryNamingIt) {
  struct Case {
    TarEntry entry;
    std::string why;
  };
  const std::vector<Case> cases = {
      {File("/etc/passwd"), "absolute path"},
      {File("../escape"), "\"..\" in the path"},
      {File("a/../../escape"), "\"..\" in the path"},
      {Link("evil", "/etc/passwd"), "symlink to an absolute path"},
      {Link("evil", "../outside"), "symlink pointing outside the release"},
      {Link("a/b/evil", "../../../x"), "symlink pointing outside the release"},
      {Link("a/evil", "self/../.."), "after a name"},
      {Link("evil", "/etc/shadow", Type::kHardlink), "hard link pointing outside the release"},
      {Link("evil", "../x", Type::kHardlink), "hard link pointing outside the release"},
      {Link("evil", "not-in-archive", Type::kHardlink), "not an earlier file of the archive"},
      {TarEntry{"dev/sda", Type::kBlockDevice, "", 0600, 0}, "device file"},
      {TarEntry{"dev/null", Type::kCharDevice, "", 0666, 0}, "device file"},
      {TarEntry{"pipe", Type::kFifo, "", 0644, 0}, "FIFO"},
      {TarEntry{"sock", Type::kSocket, "", 0644, 0}, "socket"},
      {File("bin/su", 1, 04755), "setuid or setgid bit"},
      {File("bin/sg", 1, 02755), "setuid or setgid bit"},
      {TarEntry{"dir", Type::kDir, "", 02775, 0}, "setuid or setgid bit"},
      {File(std::string(256, 'n')), "a name longer than 255 bytes"},
      {File(std::string(3000, 'a') + "/" + std::string(2000, 'b')), "path longer than 4096"},
      {File("line\nbreak"), "control character"},
      {File(""), "empty path"},
      {Link("empty", ""), "empty target"},
  };
  for (const auto& c : cases) {
    std::string m = Refusal(c.entry);
    EXPECT_NE(m.find(c.why), std::string::npos) << c.entry.path << " -> " << m;
    // The entry is named (escaped, cut), so the user can find it.
    EXPECT_EQ(m.rfind("archive entry \"", 0), 0u) << m;
  }
  EXPECT_NE(Refusal(File("line\nbreak")).find("line\\x0abreak"), std::string::npos);
}

TEST(TarChecker, CountsFilesAndBytesAgainstTheLimits) {
  TarLimits l;
  l.max_files = 3;
  l.max_bytes = 100;
  TarChecker c(l);
  EXPECT_TRUE(c.Check(File("a", 50)));
  EXPECT_TRUE(c.Check(File("b", 50)));
  auto over = c.Check(File("c", 1));
  ASSERT_FALSE(over);
  EXPECT_NE(over.error().message.find("archive entry \"c\""), std::string::npos);
  EXPECT_NE(over.error().message.find("releases.max_bytes"), std::string::npos);

  TarChecker files(l);
  EXPECT_TRUE(files.Check(File("a", 0)));
  EXPECT_TRUE(files.Check(File("b", 0)));
  EXPECT_TRUE(files.Check(File("c", 0)));
  auto many = files.Check(File("d", 0));
  ASSERT_FALSE(many);
  EXPECT_NE(many.error().message.find("releases.max_files"), std::string::npos);
  // A size that would overflow a sum is refused, not wrapped.
  TarChecker huge({});
  EXPECT_FALSE(huge.Check(File("big", INT64_MAX)));
  EXPECT_FALSE(huge.Check(File("neg", -1)));
}

TEST(TarChecker, AHardLinkMayOnlyPointAtAnEarlierFileOfTheArchive) {
  TarChecker c({});
  EXPECT_FALSE(c.Check(Link("early", "later", Type::kHardlink)));
  EXPECT_TRUE(c.Check(File("later")));
  EXPECT_TRUE(c.Check(Link("early", "./later", Type::kHardlink)));
  EXPECT_TRUE(c.Check(TarEntry{"d", Type::kDir, "", 0755, 0}));
  EXPECT_FALSE(c.Check(Link("to-dir", "d", Type::kHardlink)));
}

}  // namespace
}  // namespace berth::release
