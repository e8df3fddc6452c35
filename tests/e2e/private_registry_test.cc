// A private registry through the real binary: `berth serve` on Podman pulling from the Debian
// docker-registry over TLS with an htpasswd login. Without the login a create fails with the
// registry's reason (exit 8) and leaves nothing behind; with the login in berth.toml's
// [registries] table the same create runs.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <thread>

#include "support/berth_server.h"
#include "support/images.h"
#include "support/podman.h"
#include "support/ports.h"
#include "support/registry.h"

namespace berth::testing {
namespace {

using nlohmann::json;

class PrivateRegistry : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (PodmanService::SkipRequested() || Registry::SkipRequested()) return;
    RegistryOptions ro;
    ro.username = "harbor-bot";
    ro.password = "not-the-default";
    ro.tls = true;
    auto reg = Registry::Start(ro);
    if (!reg) {
      setup_error_ = reg.error().message;
      return;
    }
    registry_ = reg->release();
    PodmanOptions po;
    po.insecure_registries = {registry_->address()};  // TLS on; the test CA is not checked
    auto p = PodmanService::Start(po);
    if (!p) {
      setup_error_ = p.error().message;
      return;
    }
    podman_ = p->release();
    auto img = BuildTestImage(*podman_, "team/private:1", registry_);
    if (!img) {
      setup_error_ = img.error().message;
      return;
    }
    image_ = *img;
    podman_->Podman({"rmi", "-f", image_, "localhost/team/private:1"});
  }
  static void TearDownTestSuite() {
    delete podman_;
    delete registry_;
    podman_ = nullptr;
    registry_ = nullptr;
  }
  void SetUp() override {
    if (PodmanService::SkipRequested() || Registry::SkipRequested())
      GTEST_SKIP() << "BERTH_TEST_SKIP_PODMAN/REGISTRY=1";
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
  }

  std::unique_ptr<BerthServer> Server(const std::string& tail_toml) {
    BerthServerOptions o;
    o.docker_host = podman_->docker_host();
    int base = FreeLoopbackPortBlock(12);
    EXPECT_GT(base, 0);
    o.port_min = base;
    o.port_max = base + 11;
    o.extra_toml = tail_toml;
    // Never the user's own Docker logins.
    o.env["DOCKER_CONFIG"] = podman_->dir() + "/no-docker-config";
    auto s = BerthServer::Start(o);
    EXPECT_TRUE(s) << s.error().message;
    return s ? std::move(*s) : nullptr;
  }

  static Registry* registry_;
  static PodmanService* podman_;
  static std::string image_;
  static std::string setup_error_;
};

Registry* PrivateRegistry::registry_ = nullptr;
PodmanService* PrivateRegistry::podman_ = nullptr;
std::string PrivateRegistry::image_;
std::string PrivateRegistry::setup_error_;

TEST_F(PrivateRegistry, WithoutTheLoginExit8AndNothingLeftWithItRunning) {
  {
    auto server = Server("");
    ASSERT_NE(server, nullptr);
    auto r = server->Cli({"create", "priv", "--image", image_, "--wait", "--timeout", "120"});
    EXPECT_EQ(r.exit_code, 8) << r.out << r.err;
    EXPECT_NE((r.out + r.err).find("unauthorized"), std::string::npos) << r.out << r.err;
    // Rolled back: no record, no container.
    for (int i = 0; i < 100 && server->Cli({"view", "priv"}).exit_code != 3; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(server->Cli({"view", "priv"}).exit_code, 3);
    auto ps = podman_->Podman({"ps", "-a", "--format", "{{.Names}}"});
    ASSERT_TRUE(ps);
    EXPECT_EQ(ps->out.find("priv"), std::string::npos) << ps->out;
  }
  auto server = Server("\n[registries.\"" + registry_->address() +
                       "\"]\nusername = \"harbor-bot\"\npassword = \"not-the-default\"\n");
  ASSERT_NE(server, nullptr);
  auto r = server->Cli(
      {"create", "priv", "--image", image_, "--wait", "--timeout", "120", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << server->LogTail();
  EXPECT_EQ(json::parse(r.out)["status"]["phase"], "Running");
  // `config view` shows the table, the password hidden.
  auto cfg = server->Cli({"config", "view"});
  EXPECT_NE(cfg.out.find("harbor-bot"), std::string::npos) << cfg.out;
  EXPECT_EQ(cfg.out.find("not-the-default"), std::string::npos) << cfg.out;
  EXPECT_EQ(server->Cli({"delete", "priv", "--purge", "--wait"}).exit_code, 0);
}

}  // namespace
}  // namespace berth::testing
