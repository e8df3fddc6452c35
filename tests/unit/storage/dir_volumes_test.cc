#include "storage/dir_volumes.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "util/fs.h"

namespace berth::storage {
namespace {

namespace fs = std::filesystem;

EnvironmentSpec Spec(const std::string& ns, const std::string& name) {
  EnvironmentSpec s;
  s.ns = ns;
  s.name = name;
  return s;
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode;
}

class DirVolumesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    root_ = tmp_.path() + "/volumes";
    outside_ = tmp_.path() + "/outside";
    fs::create_directories(outside_ + "/web");
    util::WriteFileAtomic(outside_ + "/secret", "keep me");
    util::WriteFileAtomic(outside_ + "/web/secret", "keep me too");
  }
  DirVolumes Make(VolumeLayout layout = VolumeLayout::kNamespaced) {
    return DirVolumes(DirVolumesOptions{root_, VolumeMount::Kind::kBind, layout, "default"});
  }
  void ExpectOutsideIntact() {
    EXPECT_EQ(*util::ReadFile(outside_ + "/secret"), "keep me");
    EXPECT_EQ(*util::ReadFile(outside_ + "/web/secret"), "keep me too");
  }

  util::TempDir tmp_{"berth-dirvol"};
  std::string root_;
  std::string outside_;
};

// Two installations sharing a volume root: a volume belongs to whoever made it first (a marker
// beside it, out of the container's reach); the other is refused it and its purge deletes
// nothing. A volume made before installation ids is claimed by the store that has its spec.
TEST_F(DirVolumesTest, AVolumeBelongsToOneInstallation) {
  auto first = Make();
  first.SetInstallation("aaaaaaaaaaaaaaaa");
  auto second = Make();
  second.SetInstallation("bbbbbbbbbbbbbbbb");
  ASSERT_TRUE(first.Ensure(Spec("default", "web")).has_value());
  ASSERT_TRUE(util::WriteFileAtomic(root_ + "/default/web/data", "first's"));
  EXPECT_EQ(util::ReadFile(root_ + "/default/.web.installation").value_or(""),
            "aaaaaaaaaaaaaaaa\n");

  auto refused = second.Ensure(Spec("default", "web"));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(refused.error().message.find("aaaaaaaaaaaaaaaa"), std::string::npos)
      << refused.error().message;
  EXPECT_TRUE(second.Remove(Spec("default", "web")).has_value());
  EXPECT_EQ(util::ReadFile(root_ + "/default/web/data").value_or(""), "first's");

  // The owner's own Ensure is idempotent, and its purge removes the volume and the marker.
  EXPECT_TRUE(first.Ensure(Spec("default", "web")).has_value());
  EXPECT_TRUE(first.Remove(Spec("default", "web")).has_value());
  EXPECT_FALSE(fs::exists(root_ + "/default/web"));
  EXPECT_FALSE(fs::exists(root_ + "/default/.web.installation"));

  // An earlier release's volume (no marker) is claimed by the store that asks for it.
  fs::create_directories(root_ + "/default/old");
  ASSERT_TRUE(second.Ensure(Spec("default", "old")).has_value());
  EXPECT_EQ(util::ReadFile(root_ + "/default/.old.installation").value_or(""),
            "bbbbbbbbbbbbbbbb\n");
  EXPECT_FALSE(first.Ensure(Spec("default", "old")).has_value());
}

TEST_F(DirVolumesTest, EnsureCreatesDirectory0755AndSaysHowToMountIt) {
  mode_t old = ::umask(077);  // the volume must be 0755 whatever the daemon's umask
  auto v = Make();
  auto m = v.Ensure(Spec("default", "web"));
  ::umask(old);
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(m->kind, VolumeMount::Kind::kBind);
  EXPECT_EQ(m->source, root_ + "/default/web");
  EXPECT_EQ(m->target, "/apps");
  mode_t mode = ModeOf(root_ + "/default/web");
  EXPECT_TRUE(S_ISDIR(mode));
  EXPECT_EQ(mode & 07777, 0755u);
  EXPECT_EQ(ModeOf(root_ + "/default") & 07777, 0755u);
}

TEST_F(DirVolumesTest, EnsureReturnsAbsoluteSourceForRelativeRoot) {
  std::string cwd = fs::current_path().string();
  fs::current_path(tmp_.path());
  DirVolumes v(DirVolumesOptions{"rel/vols"});
  auto m = v.Ensure(Spec("default", "web"));
  fs::current_path(cwd);
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(m->source, tmp_.path() + "/rel/vols/default/web");
  EXPECT_TRUE(fs::is_directory(m->source));
}

TEST_F(DirVolumesTest, EnsureIsIdempotentAndKeepsData) {
  auto v = Make();
  ASSERT_TRUE(v.Ensure(Spec("default", "web")).has_value());
  ASSERT_TRUE(util::WriteFileAtomic(root_ + "/default/web/data.txt", "hello").has_value());
  ::chmod((root_ + "/default/web").c_str(), 0700);  // a user's change is not undone
  auto again = v.Ensure(Spec("default", "web"));
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_EQ(again->source, root_ + "/default/web");
  EXPECT_EQ(*util::ReadFile(root_ + "/default/web/data.txt"), "hello");
  EXPECT_EQ(ModeOf(root_ + "/default/web") & 07777, 0700u);
}

TEST_F(DirVolumesTest, EmptyVolumeMountMeansNoVolume) {
  auto v = Make();
  auto spec = Spec("default", "web");
  spec.volume_mount = "";
  auto m = v.Ensure(spec);
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(m->kind, VolumeMount::Kind::kNone);
  EXPECT_FALSE(fs::exists(root_ + "/default/web"));
}

TEST_F(DirVolumesTest, RemoveDeletesTheTreeOnly) {
  auto v = Make();
  ASSERT_TRUE(v.Ensure(Spec("default", "web")).has_value());
  ASSERT_TRUE(v.Ensure(Spec("default", "api")).has_value());
  std::string d = root_ + "/default/web";
  fs::create_directories(d + "/a/b/c");
  util::WriteFileAtomic(d + "/a/b/c/f", "x");
  util::WriteFileAtomic(d + "/top", "y");
  // An unreadable subdirectory is still removed when the daemon runs as root.
  if (::geteuid() == 0) ::chmod((d + "/a/b").c_str(), 0);
  util::WriteFileAtomic(root_ + "/default/api/keep", "z");

  auto s = v.Remove(Spec("default", "web"));
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_FALSE(fs::exists(d));
  EXPECT_EQ(*util::ReadFile(root_ + "/default/api/keep"), "z");
  EXPECT_TRUE(v.Remove(Spec("default", "web")).has_value()) << "missing is fine";
  EXPECT_TRUE(v.Remove(Spec("other", "none")).has_value()) << "missing namespace is fine";
}

TEST_F(DirVolumesTest, RemoveUnlinksSymlinksWithoutFollowingThem) {
  auto v = Make();
  ASSERT_TRUE(v.Ensure(Spec("default", "web")).has_value());
  std::string d = root_ + "/default/web";
  // What a container could plant in its /apps.
  fs::create_symlink(outside_, d + "/to-dir");
  fs::create_symlink(outside_ + "/secret", d + "/to-file");
  fs::create_directories(d + "/deep/er");
  fs::create_symlink(outside_ + "/web", d + "/deep/er/web");
  fs::create_symlink("../../../../../outside", d + "/deep/relative");
  auto s = v.Remove(Spec("default", "web"));
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_FALSE(fs::exists(fs::symlink_status(d)));
  ExpectOutsideIntact();
}

TEST_F(DirVolumesTest, SymlinkedNamespaceDirectoryIsRefused) {
  fs::create_directories(root_);
  fs::create_directory_symlink(outside_, root_ + "/default");  // root/default/web -> outside/web
  auto v = Make();
  auto r = v.Remove(Spec("default", "web"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied) << r.error().message;
  auto e = v.Ensure(Spec("default", "web"));
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().code, ErrorCode::kPermissionDenied) << e.error().message;
  ExpectOutsideIntact();
}

TEST_F(DirVolumesTest, SymlinkedVolumeDirectoryIsNotMountedAndOnlyUnlinked) {
  fs::create_directories(root_ + "/default");
  fs::create_directory_symlink(outside_, root_ + "/default/web");
  auto v = Make();
  auto e = v.Ensure(Spec("default", "web"));
  ASSERT_FALSE(e.has_value()) << "would bind-mount " << outside_;
  EXPECT_EQ(e.error().code, ErrorCode::kPermissionDenied);
  auto r = v.Remove(Spec("default", "web"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_FALSE(fs::exists(fs::symlink_status(root_ + "/default/web")));
  ExpectOutsideIntact();
}

TEST_F(DirVolumesTest, InvalidNamesAreRefusedBeforeAnyPathIsBuilt) {
  auto v = Make();
  const std::pair<std::string, std::string> bad[] = {
      {"default", "../outside"}, {"default", ".."},   {"default", "a/b"},       {"default", ""},
      {"default", "Web"},        {"../..", "web"},    {"default/../..", "web"}, {"", "web"},
      {"default", "web\n"},      {"default", "/etc"}, {"default", "-web"},      {".", "web"},
  };
  for (const auto& [ns, name] : bad) {
    auto e = v.Ensure(Spec(ns, name));
    ASSERT_FALSE(e.has_value()) << ns << "/" << name;
    EXPECT_EQ(e.error().code, ErrorCode::kInvalidArgument) << ns << "/" << name;
    auto r = v.Remove(Spec(ns, name));
    ASSERT_FALSE(r.has_value()) << ns << "/" << name;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << ns << "/" << name;
    EXPECT_FALSE(v.PathFor(Spec(ns, name)).has_value()) << ns << "/" << name;
  }
  EXPECT_FALSE(fs::exists(root_)) << "nothing may be created for a refused name";
  ExpectOutsideIntact();
}

TEST_F(DirVolumesTest, OriginalLayoutPutsDefaultNamespaceDirectlyUnderRoot) {
  auto v = Make(VolumeLayout::kOriginal);
  auto m = v.Ensure(Spec("default", "web"));
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(m->source, root_ + "/web");
  auto other = v.Ensure(Spec("team", "web"));
  ASSERT_TRUE(other.has_value()) << other.error().message;
  EXPECT_EQ(other->source, root_ + "/_ns/team/web");
  EXPECT_TRUE(fs::is_directory(root_ + "/web"));
  ASSERT_TRUE(v.Remove(Spec("default", "web")).has_value());
  EXPECT_FALSE(fs::exists(root_ + "/web"));
  EXPECT_TRUE(fs::is_directory(root_ + "/_ns/team/web"));
}

}  // namespace
}  // namespace berth::storage
