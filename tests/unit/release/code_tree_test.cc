// The release layout on a real directory (release/code_tree.h over storage/local_dir.h): extraction
// into releases/<id>, the atomic `current` switch, collection of old and partial releases, and a
// container's planted symlinks never followed.
#include "release/code_tree.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "storage/local_dir.h"
#include "support/tar_builder.h"
#include "util/fs.h"

namespace berth::release {
namespace {

using testing::BuildTar;
using testing::TarFile;
using testing::TarItem;

// The archive as an open file, as the server has a spooled upload.
util::UniqueFd Spool(const std::string& dir, const std::string& bytes) {
  util::UniqueFd fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  EXPECT_TRUE(fd);
  EXPECT_EQ(::write(fd.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  return fd;
}

// The tree on a local directory, as the dir driver opens it.
Result<CodeTree> OpenTree(const std::string& path) {
  auto dir = storage::OpenLocalDir(path);
  if (!dir) return Fail(dir.error());
  return CodeTree::Open(std::move(*dir));
}

std::string Target(const std::string& link) {
  std::error_code ec;
  auto t = std::filesystem::read_symlink(link, ec);
  return ec ? "" : t.string();
}

TEST(CodeTree, ExtractsSwitchesAndCollects) {
  util::TempDir d("berth-codetree");
  auto tree = OpenTree(d.path());
  ASSERT_TRUE(tree) << tree.error().message;
  EXPECT_TRUE(util::PathExists(d.path() + "/shared"));
  EXPECT_EQ(tree->Current().value_or("x"), "");
  for (int i = 1; i <= 4; ++i) {
    const std::string id = "r" + std::to_string(i);
    auto fd = Spool(d.path(),
                    BuildTar({TarItem{"app", TarItem::Type::kDir, "", "", 0755, -1},
                              TarFile("app/index.html", "v" + std::to_string(i)),
                              TarFile("run.sh", "#!/bin/sh\n", 0755),
                              TarItem{"latest", TarItem::Type::kSymlink, "", "app", 0777, -1},
                              TarItem{"copy", TarItem::Type::kHardlink, "", "run.sh", 0644, -1}},
                             i % 2 == 0));
    auto sum = CheckArchive(fd.get(), {});
    ASSERT_TRUE(sum) << sum.error().message;
    EXPECT_EQ(sum->files, 5);
    EXPECT_EQ(sum->digest.rfind("sha256:", 0), 0u);
    ASSERT_TRUE(tree->Extract(fd.get(), id, {})) << id;
    ASSERT_TRUE(tree->Switch(id));
    EXPECT_EQ(Target(d.path() + "/current"), "releases/" + id);
    EXPECT_EQ(tree->Current().value_or(""), id);
  }
  EXPECT_EQ(util::ReadFile(d.path() + "/current/app/index.html").value_or(""), "v4");
  EXPECT_EQ(util::ReadFile(d.path() + "/current/latest/index.html").value_or(""), "v4");
  struct stat st {};
  ASSERT_EQ(::stat((d.path() + "/current/run.sh").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  EXPECT_EQ(st.st_nlink, 2u);  // the hard link is a link, not a copy
  EXPECT_FALSE(tree->Extract(Spool(d.path(), BuildTar({TarFile("a", "b")})).get(), "r4", {}));

  ASSERT_TRUE(util::MakeDirs(d.path() + "/releases/.partial-r9"));
  auto removed = tree->Collect(2, {"r1"});
  ASSERT_TRUE(removed);
  EXPECT_EQ(*removed, (std::vector<std::string>{".partial-r9", "r2"}));
  EXPECT_TRUE(tree->Has("r1"));
  EXPECT_TRUE(tree->Has("r3"));
  EXPECT_TRUE(tree->Has("r4"));
  EXPECT_FALSE(tree->Has("r2"));
}

TEST(CodeTree, AFailedExtractionLeavesNothing) {
  util::TempDir d("berth-codetree");
  auto tree = OpenTree(d.path());
  ASSERT_TRUE(tree);
  std::string tar = BuildTar({TarFile("a.txt", "a"), TarFile("big.txt", std::string(5000, 'z'))});
  auto fd = Spool(d.path(), tar.substr(0, 1500));  // truncated in big.txt
  EXPECT_FALSE(CheckArchive(fd.get(), {}));
  EXPECT_FALSE(tree->Extract(fd.get(), "r1", {}));
  EXPECT_FALSE(tree->Has("r1"));
  EXPECT_TRUE(std::filesystem::is_empty(d.path() + "/releases"));
}

TEST(CodeTree, PlantedSymlinksAreNeverFollowed) {
  util::TempDir d("berth-codetree");
  util::TempDir outside("berth-outside");
  // The container replaced releases/ with a link out of its volume.
  ASSERT_EQ(::symlink(outside.path().c_str(), (d.path() + "/releases").c_str()), 0);
  auto tree = OpenTree(d.path());
  ASSERT_FALSE(tree);
  EXPECT_EQ(tree.error().code, ErrorCode::kPermissionDenied) << tree.error().message;

  util::TempDir d2("berth-codetree");
  auto t2 = OpenTree(d2.path());
  ASSERT_TRUE(t2);
  // A directory named `current` is the user's, not replaced.
  ASSERT_TRUE(util::MakeDirs(d2.path() + "/current/keep"));
  ASSERT_TRUE(t2->Extract(Spool(d2.path(), BuildTar({TarFile("a", "b")})).get(), "r1", {}));
  auto sw = t2->Switch("r1");
  ASSERT_FALSE(sw);
  EXPECT_NE(sw.error().message.find("is a directory"), std::string::npos);
  EXPECT_TRUE(util::PathExists(d2.path() + "/current/keep"));
}

// An upload libarchive cannot even open, and for which it has no message: an error naming it,
// not a crash of the server (the message was NULL; found by the tar_check fuzz target).
TEST(CheckArchive, AnUnreadableHeaderIsAnErrorNotACrash) {
  auto bytes = util::ReadFile(std::string(BERTH_SOURCE_DIR) +
                              "/tests/fuzz/corpus/tar_check/gzip-header-without-message");
  ASSERT_TRUE(bytes);
  util::TempDir d("berth-codetree");
  auto r = CheckArchive(Spool(d.path(), *bytes).get(), TarLimits{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("not a tar archive"), std::string::npos) << r.error().message;
}

TEST(ReleaseNumber, OnlyRAndDigits) {
  EXPECT_EQ(ReleaseNumber("r1"), 1);
  EXPECT_EQ(ReleaseNumber("r120"), 120);
  for (const char* bad : {"", "r", "r0", "r01", "x1", "r1a", "r-1", "../r1"})
    EXPECT_EQ(ReleaseNumber(bad), 0) << bad;
}

}  // namespace
}  // namespace berth::release
