// The gluster driver against a real glusterd (tests/support/gluster.h): directories are made
// through libgfapi and checked three ways: libgfapi, the brick directory, and the FUSE mount
// when /dev/fuse is usable.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "storage/gluster_volumes.h"
#include "storage/volume_provider_factory.h"
#include "support/gluster.h"
#include "util/fs.h"

#ifdef BERTH_HAVE_GFAPI
#include "storage/glfs_connection.h"
#endif

namespace {

namespace fs = std::filesystem;
using berth::EnvironmentSpec;
using berth::ErrorCode;
using berth::VolumeMount;
using berth::testing::GlusterServer;

#ifndef BERTH_HAVE_GFAPI

TEST(GlusterVolumesTest, BuiltWithLibgfapi) {
  if (GlusterServer::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_GLUSTER=1";
  FAIL() << "berth was built without libgfapi (apt-get install libglusterfs-dev, re-run cmake)";
}

#else

using berth::storage::GlfsConnection;
using berth::storage::GlfsParams;
using berth::storage::GlusterVolumes;
using berth::storage::GlusterVolumesOptions;
using berth::storage::VolumeLayout;

EnvironmentSpec Spec(const std::string& ns, const std::string& name) {
  EnvironmentSpec s;
  s.ns = ns;
  s.name = name;
  return s;
}

// libgfapi's glfs_fini waits ~10 s (gluster/glusterfs#2606, wontfix), so the suite shares one
// glusterd, one checking connection and one driver per configuration.
class GlusterVolumesTest : public ::testing::Test {
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
  }
  static void TearDownTestSuite() {
    delete namespaced_;
    namespaced_ = nullptr;
    delete original_;
    original_ = nullptr;
    delete glfs_;
    glfs_ = nullptr;
    delete server_;
    server_ = nullptr;
    delete start_error_;
    start_error_ = nullptr;
  }

  void SetUp() override {
    if (GlusterServer::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_GLUSTER=1";
    ASSERT_NE(glfs_, nullptr) << "glusterd did not start: " << (start_error_ ? *start_error_ : "");
    if (!server_->mounted()) std::cerr << "no FUSE mount: " << server_->fuse_note() << "\n";
  }
  void TearDown() override {
    // Each test starts from an empty volume.
    if (glfs_) {
      for (const char* top : {"/default", "/team", "/_ns", "/web", "/keep", "/evil", "/elsewhere"})
        EXPECT_TRUE(glfs_->RemoveTree(top).has_value()) << top;
    }
  }

  // Where containers would see the volume: the FUSE mount, or else the brick (the same files on
  // a single-brick volume).
  static std::string MountRoot() {
    return server_->mounted() ? server_->mount_dir() : server_->brick_dir();
  }
  static GlusterVolumesOptions Options(VolumeLayout layout) {
    GlusterVolumesOptions o;
    o.server = server_->host();
    o.port = server_->port();
    o.volume = server_->volume();
    o.mount_root = MountRoot();
    o.layout = layout;
    o.log_file = server_->dir() + "/log/gfapi-driver.log";
    return o;
  }
  static GlusterVolumes* Driver(VolumeLayout layout = VolumeLayout::kNamespaced) {
    GlusterVolumes*& slot = layout == VolumeLayout::kOriginal ? original_ : namespaced_;
    if (slot == nullptr) {
      auto d = GlusterVolumes::Create(Options(layout));
      EXPECT_TRUE(d.has_value()) << d.error().message;
      if (d) slot = d->release();
    }
    return slot;
  }
  // Every place the directory must (not) be seen.
  void ExpectDirectory(const std::string& rel, bool exists) {
    auto st = glfs_->Lstat("/" + rel);
    if (exists) {
      ASSERT_TRUE(st.has_value()) << rel << ": " << st.error().message;
      EXPECT_TRUE(S_ISDIR(st->st_mode)) << rel;
      EXPECT_EQ(st->st_mode & 07777, 0755u) << rel;
    } else {
      ASSERT_FALSE(st.has_value()) << rel << " still exists on the volume";
      EXPECT_EQ(st.error().code, ErrorCode::kNotFound) << st.error().message;
    }
    EXPECT_EQ(fs::is_directory(server_->brick_dir() + "/" + rel), exists) << "brick: " << rel;
    if (server_->mounted()) {
      EXPECT_EQ(fs::is_directory(server_->mount_dir() + "/" + rel), exists) << "mount: " << rel;
    }
  }

  static GlusterServer* server_;
  static std::string* start_error_;
  static GlfsConnection* glfs_;  // checks what the drivers did, as another client
  static GlusterVolumes* namespaced_;
  static GlusterVolumes* original_;
};

GlusterServer* GlusterVolumesTest::server_ = nullptr;
std::string* GlusterVolumesTest::start_error_ = nullptr;
GlfsConnection* GlusterVolumesTest::glfs_ = nullptr;
GlusterVolumes* GlusterVolumesTest::namespaced_ = nullptr;
GlusterVolumes* GlusterVolumesTest::original_ = nullptr;

TEST_F(GlusterVolumesTest, EnsureCreatesTheDirectoryOnTheVolume) {
  auto d = Driver();
  ASSERT_NE(d, nullptr);
  auto m = d->Ensure(Spec("default", "web"));
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(m->kind, VolumeMount::Kind::kBind);
  EXPECT_EQ(m->source, MountRoot() + "/default/web");
  EXPECT_EQ(m->target, "/apps");
  ExpectDirectory("default", true);
  ExpectDirectory("default/web", true);
}

TEST_F(GlusterVolumesTest, EnsureAgainIsFineAndAFileWrittenSurvives) {
  auto d = Driver();
  ASSERT_NE(d, nullptr);
  ASSERT_TRUE(d->Ensure(Spec("default", "web")).has_value());
  // Written the way a container writes: through the mount (else through libgfapi).
  if (server_->mounted()) {
    ASSERT_TRUE(
        berth::util::WriteFileAtomic(server_->mount_dir() + "/default/web/data.txt", "hello")
            .has_value());
  } else {
    ASSERT_TRUE(glfs_->WriteFile("/default/web/data.txt", "hello").has_value());
  }
  auto again = d->Ensure(Spec("default", "web"));
  ASSERT_TRUE(again.has_value()) << again.error().message;
  auto via_gfapi = glfs_->ReadFile("/default/web/data.txt");
  ASSERT_TRUE(via_gfapi.has_value()) << via_gfapi.error().message;
  EXPECT_EQ(*via_gfapi, "hello");
  EXPECT_EQ(*berth::util::ReadFile(server_->brick_dir() + "/default/web/data.txt"), "hello");
}

// Two installations on one Gluster volume: a volume directory belongs to the first that made
// it (an owner file beside it); the other is refused it, and its purge deletes nothing.
TEST_F(GlusterVolumesTest, AVolumeBelongsToOneInstallation) {
  auto first = Driver();
  ASSERT_NE(first, nullptr);
  auto second = GlusterVolumes::Create(Options(VolumeLayout::kNamespaced));
  ASSERT_TRUE(second.has_value()) << second.error().message;
  first->SetInstallation("aaaaaaaaaaaaaaaa");
  (*second)->SetInstallation("bbbbbbbbbbbbbbbb");
  ASSERT_TRUE(first->Ensure(Spec("default", "web")).has_value());
  ASSERT_TRUE(glfs_->WriteFile("/default/web/data", "first's").has_value());
  EXPECT_EQ(glfs_->ReadFile("/default/.web.installation").value_or(""), "aaaaaaaaaaaaaaaa\n");
  auto refused = (*second)->Ensure(Spec("default", "web"));
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message.find("aaaaaaaaaaaaaaaa"), std::string::npos)
      << refused.error().message;
  EXPECT_TRUE((*second)->Remove(Spec("default", "web")).has_value());
  EXPECT_EQ(glfs_->ReadFile("/default/web/data").value_or(""), "first's");
  EXPECT_TRUE(first->Remove(Spec("default", "web")).has_value());
  ExpectDirectory("default/web", false);
  EXPECT_FALSE(glfs_->Lstat("/default/.web.installation").has_value());
  first->SetInstallation("");  // the shared driver goes back to no owners
}

TEST_F(GlusterVolumesTest, RemoveDeletesTheTreeButNotWhatSymlinksPointAt) {
  auto d = Driver();
  ASSERT_NE(d, nullptr);
  ASSERT_TRUE(d->Ensure(Spec("default", "web")).has_value());
  ASSERT_TRUE(d->Ensure(Spec("default", "api")).has_value());
  ASSERT_TRUE(glfs_->MakeDirs({"default", "web", "a", "b"}, 0755).has_value());
  ASSERT_TRUE(glfs_->WriteFile("/default/web/a/b/f", "x").has_value());
  ASSERT_TRUE(glfs_->WriteFile("/default/api/keep", "z").has_value());
  ASSERT_TRUE(glfs_->MakeDirs({"keep"}, 0755).has_value());
  ASSERT_TRUE(glfs_->WriteFile("/keep/file", "precious").has_value());
  ASSERT_EQ(::glfs_symlink(glfs_->fs(), "/keep", "/default/web/abs-link"), 0);
  ASSERT_EQ(::glfs_symlink(glfs_->fs(), "../../keep", "/default/web/rel-link"), 0);

  auto s = d->Remove(Spec("default", "web"));
  ASSERT_TRUE(s.has_value()) << s.error().message;
  ExpectDirectory("default/web", false);
  EXPECT_EQ(*glfs_->ReadFile("/keep/file"), "precious");
  EXPECT_EQ(*glfs_->ReadFile("/default/api/keep"), "z");
  EXPECT_TRUE(d->Remove(Spec("default", "web")).has_value()) << "missing is fine";
  EXPECT_TRUE(d->Remove(Spec("nowhere", "web")).has_value()) << "missing namespace is fine";
}

TEST_F(GlusterVolumesTest, SymlinkedNamespaceIsRefused) {
  ASSERT_TRUE(glfs_->MakeDirs({"elsewhere", "web"}, 0755).has_value());
  ASSERT_TRUE(glfs_->WriteFile("/elsewhere/web/file", "precious").has_value());
  ASSERT_EQ(::glfs_symlink(glfs_->fs(), "/elsewhere", "/evil"), 0);
  auto d = Driver();
  ASSERT_NE(d, nullptr);
  auto e = d->Ensure(Spec("evil", "web"));
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().code, ErrorCode::kPermissionDenied) << e.error().message;
  auto r = d->Remove(Spec("evil", "web"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied) << r.error().message;
  EXPECT_EQ(*glfs_->ReadFile("/elsewhere/web/file"), "precious");
}

TEST_F(GlusterVolumesTest, InvalidNamesNeverReachTheVolume) {
  auto d = Driver();
  ASSERT_NE(d, nullptr);
  for (const auto& [ns, name] : std::vector<std::pair<std::string, std::string> >{
           {"default", "../x"}, {"..", "web"}, {"default", "a/b"}, {"default", ""}}) {
    auto e = d->Ensure(Spec(ns, name));
    ASSERT_FALSE(e.has_value()) << ns << "/" << name;
    EXPECT_EQ(e.error().code, ErrorCode::kInvalidArgument);
    auto r = d->Remove(Spec(ns, name));
    ASSERT_FALSE(r.has_value()) << ns << "/" << name;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST_F(GlusterVolumesTest, OriginalLayoutMakesNameAtTheVolumeRoot) {
  auto d = Driver(VolumeLayout::kOriginal);
  ASSERT_NE(d, nullptr);
  auto m = d->Ensure(Spec("default", "web"));
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(m->source, MountRoot() + "/web");
  ExpectDirectory("web", true);
  auto t = d->Ensure(Spec("team", "web"));
  ASSERT_TRUE(t.has_value()) << t.error().message;
  ExpectDirectory("_ns/team/web", true);
  ASSERT_TRUE(d->Remove(Spec("default", "web")).has_value());
  ExpectDirectory("web", false);
  ExpectDirectory("_ns/team/web", true);
}

TEST_F(GlusterVolumesTest, FactoryBuildsTheGlusterDriverFromConfig) {
  berth::Config c;
  c.volume_driver = "gluster";
  c.gluster_server = server_->server();
  c.gluster_volume = server_->volume();
  c.gluster_mount = MountRoot();
  c.state_dir = server_->dir();
  auto p = berth::storage::MakeVolumeProvider(c, VolumeMount::Kind::kHostPath);  // Kubernetes'
  ASSERT_TRUE(p.has_value()) << p.error().message;
  auto m = (*p)->Ensure(Spec("team", "api"));
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(m->kind, VolumeMount::Kind::kHostPath);
  EXPECT_EQ(m->source, MountRoot() + "/team/api");
  ExpectDirectory("team/api", true);
  ASSERT_TRUE((*p)->Remove(Spec("team", "api")).has_value());
  ExpectDirectory("team/api", false);
}

TEST_F(GlusterVolumesTest, UnknownVolumeIsUnavailable) {
  GlusterVolumesOptions o = Options(VolumeLayout::kNamespaced);
  o.volume = "no-such-volume";
  auto d = GlusterVolumes::Create(o);
  ASSERT_TRUE(d.has_value()) << d.error().message;
  auto e = (*d)->Ensure(Spec("default", "web"));
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().code, ErrorCode::kUnavailable) << e.error().message;
}

#endif  // BERTH_HAVE_GFAPI

}  // namespace
