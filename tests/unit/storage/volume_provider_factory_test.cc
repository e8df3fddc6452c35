#include "storage/volume_provider_factory.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "storage/gluster_volumes.h"
#include "util/fs.h"

namespace berth::storage {
namespace {

Config DirConfig(const std::string& root) {
  Config c;
  c.volume_driver = "dir";
  c.volume_root = root;
  return c;
}

EnvironmentSpec Spec(const std::string& name) {
  EnvironmentSpec s;
  s.name = name;
  return s;
}

TEST(VolumeProviderFactoryTest, DirDriverCreatesUnderVolumeRoot) {
  util::TempDir tmp("berth-factory");
  auto p = MakeVolumeProvider(DirConfig(tmp.path() + "/v"));
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_EQ((*p)->Name(), "dir");
  auto m = (*p)->Ensure(Spec("web"));
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(m->kind, VolumeMount::Kind::kBind);
  EXPECT_EQ(m->source, tmp.path() + "/v/default/web");
}

TEST(VolumeProviderFactoryTest, DirDriverDefaultsToStateDirAndMountsAsTheRuntimeSays) {
  util::TempDir tmp("berth-factory");
  Config c = DirConfig("");
  c.state_dir = tmp.path();
  c.volume_layout = "original";
  // A runtime whose host paths are a node's (Kubernetes: Capabilities::host_dir_mount).
  auto p = MakeVolumeProvider(c, VolumeMount::Kind::kHostPath);
  ASSERT_TRUE(p.has_value()) << p.error().message;
  auto m = (*p)->Ensure(Spec("web"));
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(m->kind, VolumeMount::Kind::kHostPath);
  EXPECT_EQ(m->source, tmp.path() + "/volumes/web");
}

TEST(VolumeProviderFactoryTest, NoneDriverMountsNothing) {
  Config c;
  c.volume_driver = "none";
  auto p = MakeVolumeProvider(c);
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_EQ((*p)->Name(), "none");
  auto m = (*p)->Ensure(Spec("web"));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->kind, VolumeMount::Kind::kNone);
  EXPECT_TRUE((*p)->Remove(Spec("web")).has_value());
}

TEST(VolumeProviderFactoryTest, UnknownDriverAndBadLayoutAreInvalid) {
  Config c;
  c.volume_driver = "nfs";
  auto p = MakeVolumeProvider(c);
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(p.error().message.find("dir"), std::string::npos) << p.error().message;

  util::TempDir tmp("berth-factory");
  Config bad = DirConfig(tmp.path());
  bad.volume_layout = "flat";
  auto q = MakeVolumeProvider(bad);
  ASSERT_FALSE(q.has_value());
  EXPECT_EQ(q.error().code, ErrorCode::kInvalidArgument);
}

TEST(VolumeProviderFactoryTest, MoreDriversCanBeRegistered) {
  auto names = VolumeProviderNames();
  for (const char* builtin : {"dir", "gluster", "none"})
    EXPECT_NE(std::find(names.begin(), names.end(), builtin), names.end()) << builtin;
  int made = 0;
  auto reg = RegisterVolumeProvider(
      "test-driver",
      [&](const Config&, VolumeMount::Kind) -> Result<std::unique_ptr<VolumeProvider>> {
        ++made;
        return MakeVolumeProvider(Config{.volume_driver = "none"});
      });
  ASSERT_TRUE(reg.has_value()) << reg.error().message;
  Config c;
  c.volume_driver = "test-driver";
  auto p = MakeVolumeProvider(c);
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_EQ(made, 1);
  auto dup = RegisterVolumeProvider(
      "dir", [](const Config&, VolumeMount::Kind) { return MakeVolumeProvider({}); });
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists);
}

TEST(VolumeProviderFactoryTest, GlusterDriverNeedsToKnowWhereTheVolumeIsMounted) {
  Config c;
  c.volume_driver = "gluster";
  auto p = MakeVolumeProvider(c, VolumeMount::Kind::kBind);
  ASSERT_FALSE(p.has_value());
#ifdef BERTH_HAVE_GFAPI
  EXPECT_EQ(p.error().code, ErrorCode::kInvalidArgument) << p.error().message;
  c.gluster_mount = "relative/path";
  EXPECT_FALSE(MakeVolumeProvider(c).has_value());
  c.gluster_mount = "/mnt/gv0";
  c.gluster_server = "bad host!";
  EXPECT_FALSE(MakeVolumeProvider(c).has_value());
  c.gluster_server = "127.0.0.1";
  c.gluster_volume = "gv0;rm";
  EXPECT_FALSE(MakeVolumeProvider(c).has_value());
  // Where host paths are a node's (Kubernetes), the hostPath root (the original's /mnt) is the
  // default; nothing connects yet.
  Config k;
  k.volume_driver = "gluster";
  auto q = MakeVolumeProvider(k, VolumeMount::Kind::kHostPath);
  ASSERT_TRUE(q.has_value()) << q.error().message;
  EXPECT_EQ((*q)->Name(), "gluster");
#else
  EXPECT_EQ(p.error().code, ErrorCode::kUnavailable) << p.error().message;
#endif
}

TEST(GlusterServerParseTest, HostAndOptionalPort) {
  auto a = ParseGlusterServer("10.1.2.3");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->host, "10.1.2.3");
  EXPECT_EQ(a->port, 24007);
  auto b = ParseGlusterServer("gluster-1.example.com:24008");
  ASSERT_TRUE(b.has_value()) << b.error().message;
  EXPECT_EQ(b->host, "gluster-1.example.com");
  EXPECT_EQ(b->port, 24008);
  auto c = ParseGlusterServer("[::1]:24009");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->port, 24009);
  auto d = ParseGlusterServer("fe80::1");
  ASSERT_TRUE(d.has_value()) << d.error().message;
  EXPECT_EQ(d->host, "fe80::1");
  for (const char* bad : {"", "host:", "host:0", "host:70000", "host:12ab", "[::1", "[::1]x", "a b",
                          "host/../x", ":24007"})
    EXPECT_FALSE(ParseGlusterServer(bad).has_value()) << bad;
}

TEST(GlusterServerParseTest, VolumeNames) {
  EXPECT_TRUE(ValidateGlusterVolumeName("gv0").has_value());
  EXPECT_TRUE(ValidateGlusterVolumeName("apps_vol-2").has_value());
  for (const char* bad : {"", "a/b", "a b", "../x", "gv0;rm"})
    EXPECT_FALSE(ValidateGlusterVolumeName(bad).has_value()) << bad;
  EXPECT_FALSE(ValidateGlusterVolumeName(std::string(65, 'a')).has_value());
}

}  // namespace
}  // namespace berth::storage
