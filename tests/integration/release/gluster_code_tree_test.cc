// Code releases on a Gluster volume written by the gluster driver itself, through libgfapi
// object handles (storage/gluster_dir.h), against a real glusterd (tests/support/gluster.h):
// extraction, the `current` switch and collection, checked on the brick (and the FUSE mount
// when there is one); symlinks "the container" planted in its volume are never followed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "release/code_tree.h"
#include "storage/gluster_volumes.h"
#include "support/gluster.h"
#include "support/tar_builder.h"
#include "util/fs.h"

#ifdef BERTH_HAVE_GFAPI
#include <glusterfs/api/glfs.h>

#include "storage/glfs_connection.h"
#endif

namespace {

namespace fs = std::filesystem;
using berth::EnvironmentSpec;
using berth::ErrorCode;
using berth::testing::GlusterServer;

#ifndef BERTH_HAVE_GFAPI

TEST(GlusterCodeTreeTest, BuiltWithLibgfapi) {
  if (GlusterServer::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_GLUSTER=1";
  FAIL() << "berth was built without libgfapi (apt-get install libglusterfs-dev, re-run cmake)";
}

#else

using berth::Result;
using berth::release::CheckArchive;
using berth::release::CodeTree;
using berth::storage::GlfsConnection;
using berth::storage::GlfsParams;
using berth::storage::GlusterVolumes;
using berth::storage::GlusterVolumesOptions;
using berth::testing::BuildTar;
using berth::testing::TarFile;
using berth::testing::TarItem;
using berth::util::UniqueFd;

EnvironmentSpec Spec() {
  EnvironmentSpec s;
  s.ns = "default";
  s.name = "web";
  return s;
}

// A release archive with a directory, files (one executable), an in-release symlink and a hard
// link, whose index.html says `version`.
std::string ReleaseTar(const std::string& version, bool gzip = false) {
  return BuildTar({TarItem{"app", TarItem::Type::kDir, "", "", 0755, -1},
                   TarFile("app/index.html", version), TarFile("run.sh", "#!/bin/sh\n", 0755),
                   TarItem{"latest", TarItem::Type::kSymlink, "", "app", 0777, -1},
                   TarItem{"copy", TarItem::Type::kHardlink, "", "run.sh", 0644, -1}},
                  gzip);
}

// libgfapi's glfs_fini waits ~10 s (gluster/glusterfs#2606), so the suite shares one glusterd,
// one checking connection (playing the container where it plants links) and one driver.
class GlusterCodeTreeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (GlusterServer::SkipRequested()) return;
    auto g = GlusterServer::Start();
    if (!g) {
      start_error_ = new std::string(g.error().message);
      return;
    }
    server_ = g->release();
    GlfsParams p;
    p.server = server_->host();
    p.port = server_->port();
    p.volume = server_->volume();
    p.log_file = server_->dir() + "/log/gfapi-test.log";
    auto c = GlfsConnection::Open(p);
    if (!c) {
      start_error_ = new std::string(c.error().message + "\n" + server_->LogTail());
      return;
    }
    glfs_ = c->release();
    GlusterVolumesOptions o;
    o.server = server_->host();
    o.port = server_->port();
    o.volume = server_->volume();
    o.mount_root = server_->mounted() ? server_->mount_dir() : server_->brick_dir();
    o.log_file = server_->dir() + "/log/gfapi-driver.log";
    auto d = GlusterVolumes::Create(o);
    if (!d) {
      start_error_ = new std::string(d.error().message);
      return;
    }
    driver_ = d->release();
  }
  static void TearDownTestSuite() {
    delete driver_;
    driver_ = nullptr;
    delete glfs_;
    glfs_ = nullptr;
    delete server_;
    server_ = nullptr;
    delete start_error_;
    start_error_ = nullptr;
  }

  void SetUp() override {
    if (GlusterServer::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_GLUSTER=1";
    ASSERT_NE(driver_, nullptr) << "glusterd did not start: "
                                << (start_error_ ? *start_error_ : "");
    if (!server_->mounted()) std::cerr << "no FUSE mount: " << server_->fuse_note() << "\n";
    auto m = driver_->Ensure(Spec());
    ASSERT_TRUE(m) << m.error().message;
    // What the container must never reach: a directory of the same volume outside its own.
    ASSERT_TRUE(glfs_->MakeDirs({"elsewhere"}, 0755));
    ASSERT_TRUE(glfs_->WriteFile("/elsewhere/keep.txt", "untouched"));
  }
  void TearDown() override {
    if (glfs_) {
      for (const char* top : {"/default", "/elsewhere"})
        EXPECT_TRUE(glfs_->RemoveTree(top).has_value()) << top;
    }
  }

  // The tree the release manager would open: the driver's own directory handle.
  static Result<CodeTree> Open() {
    auto dir = driver_->OpenDir(Spec());
    if (!dir) return berth::Fail(dir.error());
    return CodeTree::Open(std::move(*dir));
  }
  // The archive as an open file, as the server has a spooled upload.
  UniqueFd Spool(const std::string& bytes) {
    UniqueFd fd(::open(spool_.path().c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    EXPECT_TRUE(fd);
    EXPECT_EQ(::write(fd.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    return fd;
  }
  // "The container" plants a symlink in its volume (through the mount when there is one).
  static void Plant(const std::string& path, const std::string& target) {
    if (server_->mounted()) {
      ASSERT_EQ(::symlink(target.c_str(), (server_->mount_dir() + path).c_str()), 0) << path;
    } else {
      ASSERT_EQ(::glfs_symlink(glfs_->fs(), target.c_str(), path.c_str()), 0) << path;
    }
  }
  static std::string Brick(const std::string& rel) { return server_->brick_dir() + rel; }
  static std::string LinkOnBrick(const std::string& rel) {
    std::error_code ec;
    auto t = fs::read_symlink(Brick(rel), ec);
    return ec ? "" : t.string();
  }
  // /elsewhere holds exactly what SetUp put there.
  void ExpectElsewhereUntouched() {
    EXPECT_EQ(glfs_->ReadFile("/elsewhere/keep.txt").value_or(""), "untouched");
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(Brick("/elsewhere")))
      names.push_back(e.path().filename().string());
    EXPECT_EQ(names, std::vector<std::string>{"keep.txt"});
  }

  berth::util::TempDir spool_{"berth-gluster-spool"};
  static GlusterServer* server_;
  static std::string* start_error_;
  static GlfsConnection* glfs_;
  static GlusterVolumes* driver_;
};

GlusterServer* GlusterCodeTreeTest::server_ = nullptr;
std::string* GlusterCodeTreeTest::start_error_ = nullptr;
GlfsConnection* GlusterCodeTreeTest::glfs_ = nullptr;
GlusterVolumes* GlusterCodeTreeTest::driver_ = nullptr;

TEST_F(GlusterCodeTreeTest, ExtractsSwitchesAndCollectsThroughLibgfapi) {
  auto tree = Open();
  ASSERT_TRUE(tree) << tree.error().message;
  EXPECT_TRUE(fs::is_directory(Brick("/default/web/releases")));
  EXPECT_TRUE(fs::is_directory(Brick("/default/web/shared")));
  EXPECT_EQ(tree->Current().value_or("x"), "");
  for (int i = 1; i <= 4; ++i) {
    const std::string id = "r" + std::to_string(i);
    auto fd = Spool(ReleaseTar("v" + std::to_string(i), i % 2 == 0));
    ASSERT_TRUE(CheckArchive(fd.get(), {}));
    auto x = tree->Extract(fd.get(), id, {});
    ASSERT_TRUE(x) << id << ": " << x.error().message;
    auto s = tree->Switch(id);
    ASSERT_TRUE(s) << id << ": " << s.error().message;
    EXPECT_EQ(LinkOnBrick("/default/web/current"), "releases/" + id);
    EXPECT_EQ(tree->Current().value_or(""), id);
  }
  const std::string r4 = Brick("/default/web/releases/r4");
  EXPECT_EQ(berth::util::ReadFile(r4 + "/app/index.html").value_or(""), "v4");
  EXPECT_EQ(berth::util::ReadFile(Brick("/default/web/releases/r1/app/index.html")).value_or(""),
            "v1");
  EXPECT_EQ(LinkOnBrick("/default/web/releases/r4/latest"), "app");
  struct stat run {
  }, copy{}, app{};
  ASSERT_EQ(::lstat((r4 + "/run.sh").c_str(), &run), 0);
  ASSERT_EQ(::lstat((r4 + "/copy").c_str(), &copy), 0);
  ASSERT_EQ(::lstat((r4 + "/app").c_str(), &app), 0);
  EXPECT_EQ(run.st_mode & 07777, 0755u);
  EXPECT_EQ(run.st_ino, copy.st_ino);  // the hard link is a link, not a copy
  EXPECT_TRUE(S_ISDIR(app.st_mode));
  EXPECT_EQ(app.st_mode & 07777, 0755u);
  EXPECT_FALSE(fs::exists(Brick("/default/web/releases/.partial-r4")));
  if (server_->mounted()) {
    // What the container sees: the relative `current` link resolves inside its volume.
    const std::string cur = server_->mount_dir() + "/default/web/current";
    EXPECT_EQ(berth::util::ReadFile(cur + "/app/index.html").value_or(""), "v4");
    EXPECT_EQ(berth::util::ReadFile(cur + "/latest/index.html").value_or(""), "v4");
  }
  // Extracting an id that exists is refused.
  auto again = tree->Extract(Spool(BuildTar({TarFile("a", "b")})).get(), "r4", {});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);

  // A partial extraction a crashed server left behind is collected with the old releases.
  ASSERT_TRUE(glfs_->MakeDirs({"default", "web", "releases", ".partial-r9", "app"}, 0755));
  ASSERT_TRUE(glfs_->WriteFile("/default/web/releases/.partial-r9/app/x", "half"));
  auto removed = tree->Collect(2, {"r1"});
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_EQ(*removed, (std::vector<std::string>{".partial-r9", "r2"}));
  EXPECT_TRUE(tree->Has("r1"));
  EXPECT_FALSE(tree->Has("r2"));
  EXPECT_TRUE(tree->Has("r3"));
  EXPECT_TRUE(tree->Has("r4"));
  EXPECT_FALSE(fs::exists(Brick("/default/web/releases/r2")));
  EXPECT_FALSE(fs::exists(Brick("/default/web/releases/.partial-r9")));
  EXPECT_TRUE(fs::is_directory(Brick("/default/web/releases/r1")));

  // Back to r3, then no release at all.
  ASSERT_TRUE(tree->Switch("r3"));
  EXPECT_EQ(LinkOnBrick("/default/web/current"), "releases/r3");
  ASSERT_TRUE(tree->RemoveCurrent());
  EXPECT_FALSE(fs::exists(fs::symlink_status(Brick("/default/web/current"))));
  EXPECT_EQ(tree->Current().value_or("x"), "");
}

// A truncated or refused archive fails the extraction, leaves no directory behind, and
// `current` stays where it was.
TEST_F(GlusterCodeTreeTest, ABadArchiveLeavesCurrentUnchanged) {
  auto tree = Open();
  ASSERT_TRUE(tree) << tree.error().message;
  ASSERT_TRUE(tree->Extract(Spool(ReleaseTar("v1")).get(), "r1", {}));
  ASSERT_TRUE(tree->Switch("r1"));
  std::string tar = BuildTar({TarFile("a.txt", "a"), TarFile("big.txt", std::string(5000, 'z'))});
  auto truncated = Spool(tar.substr(0, 1500));  // cut inside big.txt
  EXPECT_FALSE(CheckArchive(truncated.get(), {}));
  EXPECT_FALSE(tree->Extract(truncated.get(), "r2", {}));
  // Refused when extracting too (the bytes may change after the check): an absolute symlink.
  auto evil = Spool(BuildTar(
      {TarFile("ok.txt", "fine"), TarItem{"ln", TarItem::Type::kSymlink, "", "/etc", 0777, -1}}));
  auto refused = tree->Extract(evil.get(), "r3", {});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("archive entry \"ln\""), std::string::npos)
      << refused.error().message;
  for (const char* gone : {"r2", ".partial-r2", "r3", ".partial-r3"})
    EXPECT_FALSE(
        fs::exists(fs::symlink_status(Brick(std::string("/default/web/releases/") + gone))))
        << gone;
  EXPECT_EQ(tree->Current().value_or(""), "r1");
  EXPECT_EQ(LinkOnBrick("/default/web/current"), "releases/r1");
}

// releases/ or shared/ replaced by a link out of the volume: the tree is refused, nothing is
// written through it.
TEST_F(GlusterCodeTreeTest, APlantedReleasesOrSharedLinkIsRefused) {
  for (const char* name : {"releases", "shared"}) {
    SCOPED_TRACE(name);
    // The other one was made by the previous round's Open.
    ASSERT_TRUE(glfs_->RemoveTree(std::string("/default/web/") + name));
    Plant(std::string("/default/web/") + name, "../../elsewhere");
    auto tree = Open();
    ASSERT_FALSE(tree);
    EXPECT_EQ(tree.error().code, ErrorCode::kPermissionDenied) << tree.error().message;
    EXPECT_NE(tree.error().message.find(std::string("/default/web/") + name), std::string::npos)
        << tree.error().message;
    ExpectElsewhereUntouched();
    ASSERT_TRUE(glfs_->RemoveTree(std::string("/default/web/") + name));
  }
  // A link on the way to the volume itself (only another tenant of the Gluster volume could
  // plant one there; still never followed).
  ASSERT_TRUE(glfs_->RemoveTree("/default"));
  ASSERT_TRUE(glfs_->MakeDirs({"default"}, 0755));
  Plant("/default/web", "../elsewhere");
  auto tree = Open();
  ASSERT_FALSE(tree);
  EXPECT_EQ(tree.error().code, ErrorCode::kPermissionDenied) << tree.error().message;
  ExpectElsewhereUntouched();
}

// Links inside releases/ and at `current`: replaced or removed themselves, never followed.
TEST_F(GlusterCodeTreeTest, PlantedLinksInsideTheTreeAreNeverFollowed) {
  auto tree = Open();
  ASSERT_TRUE(tree) << tree.error().message;
  // A leftover "partial" directory that is a link: removed, a real one made in its place.
  Plant("/default/web/releases/.partial-r1", "../../../elsewhere");
  auto x = tree->Extract(Spool(ReleaseTar("v1")).get(), "r1", {});
  ASSERT_TRUE(x) << x.error().message;
  EXPECT_TRUE(fs::is_directory(fs::symlink_status(Brick("/default/web/releases/r1"))));
  ExpectElsewhereUntouched();

  // `current` planted pointing out of the volume: Current() does not report it, Switch
  // replaces the link itself.
  Plant("/default/web/current", "../../elsewhere");
  EXPECT_EQ(tree->Current().value_or("x"), "");
  ASSERT_TRUE(tree->Switch("r1"));
  EXPECT_EQ(LinkOnBrick("/default/web/current"), "releases/r1");
  ExpectElsewhereUntouched();

  // A release id planted as a link: not a release, its extraction cannot land through it.
  Plant("/default/web/releases/r2", "../../../elsewhere");
  EXPECT_FALSE(tree->Has("r2"));
  EXPECT_FALSE(tree->Extract(Spool(ReleaseTar("v2")).get(), "r2", {}));
  EXPECT_FALSE(tree->Switch("r2"));
  EXPECT_EQ(tree->Current().value_or(""), "r1");
  ExpectElsewhereUntouched();

  // Collected as a link: the link goes, its target stays.
  Plant("/default/web/releases/r0x", "../../../elsewhere");  // not an id: left alone
  auto removed = tree->Collect(0, {"r1"});
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_EQ(*removed, (std::vector<std::string>{"r2"}));
  EXPECT_FALSE(fs::exists(fs::symlink_status(Brick("/default/web/releases/r2"))));
  EXPECT_TRUE(fs::is_symlink(Brick("/default/web/releases/r0x")));
  ExpectElsewhereUntouched();

  // A directory named `current` (the container's) is not replaced.
  ASSERT_TRUE(glfs_->RemoveTree("/default/web/current"));
  ASSERT_TRUE(glfs_->MakeDirs({"default", "web", "current", "keep"}, 0755));
  auto sw = tree->Switch("r1");
  ASSERT_FALSE(sw);
  EXPECT_NE(sw.error().message.find("is a directory"), std::string::npos) << sw.error().message;
  EXPECT_TRUE(fs::is_directory(Brick("/default/web/current/keep")));
}

#endif  // BERTH_HAVE_GFAPI

}  // namespace
