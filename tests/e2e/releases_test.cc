// Releases end to end: `berth serve` on Podman's Docker API with its Lua router (a real
// nginx), the CLI, and a busybox container serving <mount>/current over http. Code releases
// are deployed, listed, rolled back and reloaded, each step checked through nginx; a failing
// reload command rolls back; two deploys at once: one wins, the other exits 4; a kill -9 in
// the middle of a deploy leaves the previous release current after the restart. Image mode
// moves between two tags of the test image and back. The code flow runs on the gluster volume
// driver too (a real glusterd, the container on its FUSE mount).
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <thread>

#include "berth/store.h"
#include "net/http_client.h"
#include "store/release_records.h"
#include "support/berth_server.h"
#include "support/gluster.h"
#include "support/images.h"
#include "support/nginx.h"
#include "support/podman_suite.h"
#include "util/fs.h"

namespace berth::testing {
namespace {

using nlohmann::json;

// httpd serves the directory it starts in: /apps/current as it resolves at the (re)start, so a
// new release shows only once the container restarted. sh traps TERM so a restart is quick.
const std::vector<std::string> kServeCurrent = {
    "sh", "-c",
    "trap 'exit 0' TERM; cd /apps/current 2>/dev/null || cd /apps; httpd -f -p 80 & wait"};

class Releases : public PodmanSuite {
 protected:
  static void SetUpTestSuite() { StartPodman("berth-rel:1"); }
  static void TearDownTestSuite() { StopPodman(); }
  void SetUp() override {
    RequirePodman();
    if (IsSkipped() || HasFatalFailure()) return;
    auto s = BerthServer::Start(Options());
    ASSERT_TRUE(s) << s.error().message;
    server_ = std::move(*s);
    sources_ = std::make_unique<util::TempDir>("berth-rel-src");
  }
  void TearDown() override {
    if (!server_) return;
    server_->Cli({"delete", "web", "--purge", "--wait", "--timeout", "60"});
    server_.reset();
  }

  // Creates `web` through the REST API (the CLI has no --command) and waits until it runs.
  void CreateWeb(const std::string& mode, const std::string& image = "") {
    json body = {{"name", "web"}, {"release_mode", mode}, {"pull_policy", "IfNotPresent"}};
    if (mode == "code") body["command"] = kServeCurrent;
    if (!image.empty()) body["image"] = image;
    net::ClientOptions co;
    co.base_url = "http://berth";
    co.unix_socket = server_->socket();
    net::HttpClient c(co);
    auto r = c.Send({"POST", "/v1/environments", {}, body.dump(), std::chrono::milliseconds(-1)});
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->status, 201) << r->body;
    for (int i = 0; i < 600; ++i) {
      auto v = server_->Cli({"view", "web", "-o", "json"});
      if (v.exit_code == 0 && json::parse(v.out)["status"]["phase"] == "Running") return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL() << "web did not run: " << server_->Cli({"view", "web"}).out;
  }

  // A source tree with index.html = `content`.
  std::string Tree(const std::string& content) {
    const std::string dir = sources_->path() + "/" + std::to_string(++trees_);
    EXPECT_TRUE(util::MakeDirs(dir + "/assets"));
    EXPECT_TRUE(util::WriteFileAtomic(dir + "/index.html", content));
    EXPECT_TRUE(util::WriteFileAtomic(dir + "/assets/app.js", "console.log(1)\n"));
    return dir;
  }

  // GET /index.html through the router's nginx: the body, or "<error>".
  std::string Through() {
    auto r = GetWithHost(server_->nginx_port(), "web.ctest.localhost", "/index.html");
    if (!r) return "<" + r.error().message + ">";
    if (r->status != 200) return "<HTTP " + std::to_string(r->status) + ">";
    return r->body;
  }

  // The server's configuration: the dir driver here.
  virtual BerthServerOptions Options() { return ServerOptions(); }
  // Where the test sees web's volume.
  virtual std::string Volume() { return server_->state_dir() + "/volumes/default/web"; }
  std::string Current() {
    std::error_code ec;
    auto t = std::filesystem::read_symlink(Volume() + "/current", ec);
    return ec ? "" : t.string();
  }
  json ReleaseList() { return Json(server_->Cli({"releases", "web", "-o", "json"})); }

  std::unique_ptr<BerthServer> server_;
  std::unique_ptr<util::TempDir> sources_;
  int trees_ = 0;
};

// The gluster volume driver: `berth serve` writes releases through libgfapi (it uses no mount),
// and the container bind-mounts the volume's FUSE mount (gluster_mount), as on a host of a
// GlusterFS cluster.
class GlusterReleases : public Releases {
 protected:
  static void SetUpTestSuite() {
    Releases::SetUpTestSuite();
    if (GlusterServer::SkipRequested()) return;
    GlusterServerOptions o;
    o.fuse = GlusterServerOptions::Fuse::kRequired;  // the container needs the mount
    auto g = GlusterServer::Start(o);
    if (!g) {
      gluster_error_ = new std::string(g.error().message);
      return;
    }
    gluster_ = g->release();
  }
  static void TearDownTestSuite() {
    delete gluster_;
    gluster_ = nullptr;
    delete gluster_error_;
    gluster_error_ = nullptr;
    Releases::TearDownTestSuite();
  }
  void SetUp() override {
    if (GlusterServer::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_GLUSTER=1";
    ASSERT_NE(gluster_, nullptr) << "glusterd did not start: "
                                 << (gluster_error_ ? *gluster_error_ : "");
    Releases::SetUp();
  }
  BerthServerOptions Options() override {
    auto o = ServerOptions();
    o.extra_toml += "\n[volumes]\ndriver = \"gluster\"\ngluster_server = \"" + gluster_->server() +
                    "\"\ngluster_volume = \"" + gluster_->volume() + "\"\ngluster_mount = \"" +
                    gluster_->mount_dir() + "\"\n";
    return o;
  }
  std::string Volume() override { return gluster_->mount_dir() + "/default/web"; }
  std::string Brick() { return gluster_->brick_dir() + "/default/web"; }

  static GlusterServer* gluster_;
  static std::string* gluster_error_;
};

GlusterServer* GlusterReleases::gluster_ = nullptr;
std::string* GlusterReleases::gluster_error_ = nullptr;

TEST_F(GlusterReleases, CodeReleasesDeployAndRollBackThroughNginx) {
  CreateWeb("code");
  auto v1 = Json(server_->Cli({"deploy", "web", "--from", Tree("v1\n"), "--wait", "-o", "json"}));
  EXPECT_EQ(v1["phase"], "Running") << v1.dump() << server_->LogTail();
  EXPECT_EQ(Through(), "v1\n");
  EXPECT_EQ(Current(), "releases/r1");
  // Written on the Gluster volume: the brick holds the files.
  EXPECT_EQ(util::ReadFile(Brick() + "/releases/r1/index.html").value_or(""), "v1\n");
  EXPECT_TRUE(std::filesystem::is_directory(Brick() + "/shared"));

  auto v2 = Json(server_->Cli({"deploy", "web", "--from", Tree("v2\n"), "--wait", "-o", "json"}));
  EXPECT_EQ(v2["phase"], "Running") << v2.dump();
  EXPECT_EQ(v2["previous"], "r1");
  EXPECT_EQ(Through(), "v2\n");
  EXPECT_EQ(Current(), "releases/r2");
  EXPECT_EQ(util::ReadFile(Volume() + "/current/assets/app.js").value_or(""), "console.log(1)\n");

  // Back to r1: `current` switched on the volume, the container restarted on it.
  auto rb = Json(server_->Cli({"rollback", "web", "-o", "json"}));
  EXPECT_EQ(rb["current"], "r1") << rb.dump();
  EXPECT_EQ(Current(), "releases/r1");
  EXPECT_EQ(Through(), "v1\n");

  // A reload command runs in the container, which sees the release through the mount.
  auto ok = Json(server_->Cli({"deploy", "web", "--from", Tree("v3\n"), "--reload-cmd",
                               "cat /apps/current/index.html > /apps/shared/reloaded", "--wait",
                               "-o", "json"}));
  EXPECT_EQ(ok["phase"], "Running") << ok.dump();
  EXPECT_EQ(util::ReadFile(Brick() + "/shared/reloaded").value_or(""), "v3\n");
  EXPECT_EQ(ReleaseList()["current"], "r3");
}

TEST_F(Releases, CodeReleasesDeployRollBackAndReloadThroughNginx) {
  CreateWeb("code");
  auto v1 = Json(server_->Cli(
      {"deploy", "web", "--from", Tree("v1\n"), "-m", "first", "--wait", "-o", "json"}));
  EXPECT_EQ(v1["id"], "r1");
  EXPECT_EQ(v1["phase"], "Running") << v1.dump();
  EXPECT_EQ(v1["files"], 3);
  EXPECT_EQ(v1["message"], "first");
  EXPECT_EQ(Through(), "v1\n");
  EXPECT_EQ(Current(), "releases/r1");
  EXPECT_TRUE(util::PathExists(Volume() + "/shared"));

  auto v2 = Json(server_->Cli({"deploy", "web", "--from", Tree("v2\n"), "--wait", "-o", "json"}));
  EXPECT_EQ(v2["phase"], "Running") << v2.dump();
  EXPECT_EQ(v2["previous"], "r1");
  EXPECT_EQ(Through(), "v2\n");
  auto list = ReleaseList();
  ASSERT_EQ(list["items"].size(), 2u) << list.dump();
  EXPECT_EQ(list["current"], "r2");
  auto table = server_->Cli({"releases", "web"});
  EXPECT_NE(table.out.find("* r2"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("first"), std::string::npos) << table.out;
  EXPECT_NE(server_->Cli({"view", "web"}).out.find("Release:     r2 (code sha256:"),
            std::string::npos);

  // Back to r1: the container restarted on it.
  auto rb = Json(server_->Cli({"rollback", "web", "-o", "json"}));
  EXPECT_EQ(rb["current"], "r1") << rb.dump();
  EXPECT_EQ(Current(), "releases/r1");
  EXPECT_EQ(Through(), "v1\n");
  // And forward again by id.
  EXPECT_EQ(Json(server_->Cli({"rollback", "web", "--to", "r2", "-o", "json"}))["current"], "r2");
  EXPECT_EQ(Through(), "v2\n");
  EXPECT_EQ(server_->Cli({"rollback", "web", "--to", "r9"}).exit_code, 3);

  // A reload command that fails: Failed with the reason, and r2 current again (restarted).
  auto bad = server_->Cli({"deploy", "web", "--from", Tree("v3\n"), "--reload-cmd",
                           "echo cannot reload >&2; exit 3", "--wait", "-o", "json"});
  EXPECT_EQ(bad.exit_code, 8) << bad.out << bad.err;
  auto r3 = json::parse(bad.out);
  EXPECT_EQ(r3["phase"], "Failed");
  EXPECT_TRUE(r3["rolled_back"].get<bool>());
  EXPECT_NE(r3["reason"].get<std::string>().find("reload command exited with 3: cannot reload"),
            std::string::npos)
      << r3.dump();
  EXPECT_EQ(Current(), "releases/r2");
  EXPECT_EQ(Through(), "v2\n");
  EXPECT_EQ(ReleaseList()["current"], "r2");

  // A reload command that works runs in the container instead of a restart.
  auto ok = Json(server_->Cli({"deploy", "web", "--from", Tree("v4\n"), "--reload-cmd",
                               "cat /apps/current/index.html > /apps/shared/reloaded", "--wait",
                               "-o", "json"}));
  EXPECT_EQ(ok["phase"], "Running") << ok.dump();
  EXPECT_EQ(util::ReadFile(Volume() + "/shared/reloaded").value_or(""), "v4\n");
  EXPECT_EQ(Through(), "v2\n") << "no restart: httpd still serves the directory it started in";

  // Two deploys at once: the second is refused while the first holds the lock.
  auto first = server_->Cli({"deploy", "web", "--from", Tree("v5\n"), "-o", "json"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  auto second = server_->Cli({"deploy", "web", "--from", Tree("v6\n")});
  EXPECT_EQ(second.exit_code, 4) << second.out << second.err;
  EXPECT_NE(second.err.find("in progress"), std::string::npos) << second.err;
  for (int i = 0; i < 300 && ReleaseList()["deploying"] != ""; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(ReleaseList()["current"], "r5");
  EXPECT_EQ(Through(), "v5\n");

  // Only releases.keep (5) release directories stay, the current among them.
  ASSERT_EQ(server_->Cli({"deploy", "web", "--from", Tree("v7\n"), "--wait"}).exit_code, 0);
  EXPECT_EQ(Through(), "v7\n");
  std::vector<std::string> dirs;
  for (const auto& e : std::filesystem::directory_iterator(Volume() + "/releases"))
    dirs.push_back(e.path().filename().string());
  std::sort(dirs.begin(), dirs.end());
  EXPECT_EQ(dirs, (std::vector<std::string>{"r2", "r3", "r4", "r5", "r6"}));
}

TEST_F(Releases, AKillDashNineMidDeployLeavesThePreviousReleaseCurrent) {
  CreateWeb("code");
  ASSERT_EQ(Json(server_->Cli(
                {"deploy", "web", "--from", Tree("v1\n"), "--wait", "-o", "json"}))["phase"],
            "Running");
  // The reload command holds the deploy after the switch, when the server dies.
  auto r = server_->Cli(
      {"deploy", "web", "--from", Tree("v2\n"), "--reload-cmd", "sleep 60", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Current(), "releases/r2");
  server_->Kill9();
  ASSERT_TRUE(server_->Run());
  for (int i = 0; i < 300 && ReleaseList()["deploying"] != ""; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto list = ReleaseList();
  EXPECT_EQ(list["current"], "r1") << list.dump();
  EXPECT_EQ(list["deploying"], "");
  ASSERT_EQ(list["items"].size(), 2u);
  EXPECT_EQ(list["items"][1]["phase"], "Failed");
  EXPECT_NE(list["items"][1]["reason"].get<std::string>().find("interrupted"), std::string::npos);
  EXPECT_EQ(Current(), "releases/r1");
  EXPECT_EQ(Through(), "v1\n");
  // The lock is free again.
  auto v3 = Json(server_->Cli({"deploy", "web", "--from", Tree("v3\n"), "--wait", "-o", "json"}));
  EXPECT_EQ(v3["phase"], "Running") << v3.dump();
  EXPECT_EQ(Through(), "v3\n");

  // Deleting the environment deletes its release records with it.
  ASSERT_EQ(server_->Cli({"delete", "web", "--wait", "--timeout", "60"}).exit_code, 0);
  auto st = store::OpenStore("sqlite://" + server_->state_dir() + "/berth.db");
  ASSERT_TRUE(st) << st.error().message;
  auto records = (*st)->List(store::ReleasePrefix("default", "web"));
  ASSERT_TRUE(records);
  EXPECT_TRUE(records->kvs.empty());
  auto head = (*st)->Get(store::ReleaseHeadKey("default", "web"));
  ASSERT_TRUE(head);
  EXPECT_FALSE(head->has_value());
}

TEST_F(Releases, ImageModeMovesBetweenTagsAndRollsBack) {
  auto tag2 = BuildTestImage(*podman_, "berth-rel:2");
  ASSERT_TRUE(tag2) << tag2.error().message;
  CreateWeb("image");
  // Code into an image-mode environment is refused, saying why.
  auto refused = server_->Cli({"deploy", "web", "--from", Tree("x")});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("image release mode"), std::string::npos) << refused.err;

  auto d = Json(
      server_->Cli({"deploy", "web", "--image", *tag2, "-m", "tag 2", "--wait", "-o", "json"}));
  EXPECT_EQ(d["phase"], "Running") << d.dump();
  EXPECT_EQ(d["image"], *tag2);
  EXPECT_EQ(d["previous_image"], image_);
  auto v = Json(server_->Cli({"view", "web", "-o", "json"}));
  EXPECT_EQ(v["spec"]["image"], *tag2);
  EXPECT_EQ(v["status"]["phase"], "Running");

  // An image that does not exist: Failed, and the environment back on tag 2.
  auto missing = server_->Cli({"deploy", "web", "--image", "localhost/berth-rel:missing", "--wait",
                               "--timeout", "300", "-o", "json"});
  EXPECT_EQ(missing.exit_code, 8) << missing.out << missing.err;
  auto m = json::parse(missing.out);
  EXPECT_EQ(m["phase"], "Failed");
  EXPECT_TRUE(m["rolled_back"].get<bool>());
  EXPECT_EQ(Json(server_->Cli({"view", "web", "-o", "json"}))["spec"]["image"], *tag2);
  EXPECT_EQ(ReleaseList()["current"], d["id"]);

  // Rollback: back to the image before tag 2 (the environment's first), running.
  ASSERT_EQ(server_->Cli({"deploy", "web", "--image", image_, "--wait"}).exit_code, 0);
  auto rb = Json(server_->Cli({"rollback", "web", "-o", "json"}));
  EXPECT_EQ(rb["current"], d["id"]) << rb.dump();
  auto after = Json(server_->Cli({"view", "web", "-o", "json"}));
  EXPECT_EQ(after["spec"]["image"], *tag2);
  EXPECT_EQ(after["status"]["phase"], "Running");
}

}  // namespace
}  // namespace berth::testing
