// Pulls from a private registry (the original's Harbor) through the Docker runtime: the real
// Debian docker-registry on loopback, over TLS from a test CA, asking for an htpasswd login;
// a real Podman (its Docker API) doing the pulls. Credentials come the ways Docker finds them:
// berth.toml's [registries] table, config.json auths, a credential helper.
#include <gtest/gtest.h>
#include <stdlib.h>

#include "berth/config.h"
#include "runtime/docker/docker_runtime.h"
#include "runtime/registry_auth.h"
#include "support/images.h"
#include "support/podman.h"
#include "support/ports.h"
#include "support/registry.h"
#include "util/base64.h"
#include "util/fs.h"

namespace berth::runtime::docker {
namespace {

using berth::testing::BuildTestImage;
using berth::testing::PodmanOptions;
using berth::testing::PodmanService;
using berth::testing::Registry;
using berth::testing::RegistryOptions;

class PrivateRegistryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (PodmanService::SkipRequested()) return;
    RegistryOptions ro;
    ro.username = "ci-bot";
    ro.password = "s3cret:with:colons";
    ro.tls = true;
    auto reg = Registry::Start(ro);
    if (!reg) {
      setup_error_ = "registry: " + reg.error().message;
      return;
    }
    registry_ = std::move(*reg);
    PodmanOptions opts;
    // TLS is on; "insecure" only stops Podman from checking the test CA's certificate.
    opts.insecure_registries = {registry_->address()};
    auto p = PodmanService::Start(opts);
    if (!p) {
      setup_error_ = "podman: " + p.error().message;
      return;
    }
    podman_ = std::move(*p);
    auto img = BuildTestImage(*podman_, "team/app:1", registry_.get());
    if (!img) {
      setup_error_ = "test image: " + img.error().message;
      return;
    }
    image_ = *img;
    // Only the registry has it now: every Apply below must pull, with or without a login.
    podman_->Podman({"rmi", "-f", image_, "localhost/team/app:1"});
  }
  static void TearDownTestSuite() {
    podman_.reset();
    registry_.reset();
  }
  void SetUp() override {
    if (PodmanService::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_PODMAN=1";
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
    ::setenv("DOCKER_CONFIG", docker_dir_.path().c_str(), 1);  // never the user's own
  }
  void TearDown() override { ::unsetenv("DOCKER_CONFIG"); }

  std::unique_ptr<Runtime> RuntimeWith(std::vector<RegistryLogin> logins) {
    Config c;
    c.docker_host = podman_->docker_host();
    c.host_ip = "127.0.0.1";
    c.registries = std::move(logins);
    auto rt = MakeDockerRuntime(c);
    EXPECT_TRUE(rt) << rt.error().message;
    return rt ? std::move(*rt) : nullptr;
  }

  EnvironmentSpec Spec(const std::string& name, const std::string& image) {
    EnvironmentSpec s;
    s.ns = "priv";
    s.name = name;
    s.image = image;
    s.pull_policy = PullPolicy::kAlways;
    s.ports = {{"http", 80, berth::testing::FreeLoopbackPort()}};
    return s;
  }

  // Applies, expecting the pull to fail with the registry's reason and nothing to be left.
  void ExpectRefused(Runtime& rt, const std::string& name, const std::string& image,
                     const std::string& reason) {
    auto spec = Spec(name, image);
    auto s = rt.Apply(spec, {}, nullptr);
    ASSERT_FALSE(s) << name;
    EXPECT_EQ(s.error().code, ErrorCode::kFailed);
    EXPECT_NE(s.error().message.find(reason), std::string::npos) << s.error().message;
    auto st = rt.Inspect(spec);
    ASSERT_TRUE(st);
    EXPECT_FALSE(st->exists);
  }

  void ExpectRuns(Runtime& rt, const std::string& name) {
    auto spec = Spec(name, image_);
    std::vector<std::string> steps;
    auto s = rt.Apply(spec, {}, [&](const std::string& m) { steps.push_back(m); });
    ASSERT_TRUE(s) << s.error().message << "\n" << registry_->LogTail();
    auto st = rt.Inspect(spec);
    ASSERT_TRUE(st);
    EXPECT_TRUE(st->exists);
    bool said = false;
    for (const auto& m : steps) said = said || m.find("Using credentials for") != std::string::npos;
    EXPECT_TRUE(said) << "no progress line names the credential";
    EXPECT_TRUE(rt.Remove(spec.ns, spec.name));
    podman_->Podman({"rmi", "-f", image_});
  }

  static inline std::unique_ptr<Registry> registry_;
  static inline std::unique_ptr<PodmanService> podman_;
  static inline std::string image_;
  static inline std::string setup_error_;
  util::TempDir docker_dir_{"berth-docker-config"};
};

TEST_F(PrivateRegistryTest, ALoginFromBerthTomlPulls) {
  auto rt = RuntimeWith({{registry_->address(), "ci-bot", "s3cret:with:colons", ""}});
  ASSERT_TRUE(rt);
  ExpectRuns(*rt, "toml");
  // The same through password_file (a mounted Secret), trailing newline and all.
  const std::string pw = docker_dir_.path() + "/pw";
  ASSERT_TRUE(util::WriteFileAtomic(pw, "s3cret:with:colons\n", 0600));
  auto rt2 = RuntimeWith({{registry_->address(), "ci-bot", "", pw}});
  ExpectRuns(*rt2, "pwfile");
}

TEST_F(PrivateRegistryTest, NoOrAWrongLoginFailsWithTheRegistrysReason) {
  auto anon = RuntimeWith({});
  ExpectRefused(*anon, "anon", image_, "unauthorized");
  auto wrong = RuntimeWith({{registry_->address(), "ci-bot", "wrong", ""}});
  ExpectRefused(*wrong, "wrong", image_, "pulling image " + image_);
  ExpectRefused(*wrong, "wrong2", image_, "unauthorized");
  // Logged in, a tag that is not there is the registry's "manifest unknown".
  auto right = RuntimeWith({{registry_->address(), "ci-bot", "s3cret:with:colons", ""}});
  ExpectRefused(*right, "notag", registry_->address() + "/team/app:404", "manifest unknown");
}

TEST_F(PrivateRegistryTest, DockerConfigAuthsAndCredentialHelpersAreUsed) {
  // `docker login` writes auths.<host>.auth = base64(user:password).
  const std::string cfg = docker_dir_.path() + "/config.json";
  ASSERT_TRUE(util::WriteFileAtomic(
      cfg, "{\"auths\": {\"https://" + registry_->address() + "\": {\"auth\": \"" +
               util::Base64Encode("ci-bot:s3cret:with:colons") + "\"}}}"));
  auto rt = RuntimeWith({});
  ExpectRuns(*rt, "auths");

  // A credential helper: a real program on PATH speaking the helper protocol.
  const std::string bin = docker_dir_.path() + "/bin";
  ASSERT_TRUE(util::MakeDirs(bin));
  ASSERT_TRUE(util::WriteFileAtomic(
      bin + "/docker-credential-berthtest",
      "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread host\n"
      "[ \"$host\" = \"" +
          registry_->address() +
          "\" ] || { echo 'credentials not found'; exit 1; }\n"
          "printf "
          "'{\"ServerURL\":\"%s\",\"Username\":\"ci-bot\",\"Secret\":\"s3cret:with:colons\"}' "
          "\"$host\"\n",
      0755));
  ASSERT_TRUE(util::WriteFileAtomic(
      cfg, "{\"credHelpers\": {\"" + registry_->address() + "\": \"berthtest\"}}"));
  const std::string old_path = ::getenv("PATH") ? ::getenv("PATH") : "";
  ::setenv("PATH", (bin + ":" + old_path).c_str(), 1);
  ExpectRuns(*rt, "helper");
  // A config.json the user broke: the pull says so rather than trying anonymously.
  ASSERT_TRUE(util::WriteFileAtomic(cfg, "{not json"));
  ExpectRefused(*rt, "broken", image_, "config.json is not a JSON object");
  ::setenv("PATH", old_path.c_str(), 1);
}

}  // namespace
}  // namespace berth::runtime::docker
