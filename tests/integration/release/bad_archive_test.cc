// Hostile and broken code releases through the real binary: `berth deploy --from-tar` against
// a real `berth serve` with the dir volume driver. Each bad archive is refused naming its
// entry (exit 2), nothing is switched, no release is recorded and no file is left behind.
// The environment sleeps, so a good release runs without a container engine (it is picked up
// when the environment wakes).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>

#include "support/berth_server.h"
#include "support/tar_builder.h"
#include "util/fs.h"

namespace berth::testing {
namespace {

using nlohmann::json;
using Type = TarItem::Type;

class BadArchive : public ::testing::Test {
 protected:
  void SetUp() override {
    BerthServerOptions o;
    o.docker_host = "unix:///nonexistent/berth-test.sock";  // never reached: it sleeps
    o.router_mode = "off";
    o.default_image = "localhost/berth-test:1";
    o.pull_policy = "Never";
    o.extra_toml = "\n[releases]\nmax_files = 50\nmax_bytes = 4096\n";
    auto s = BerthServer::Start(o);
    ASSERT_TRUE(s) << s.error().message;
    server_ = std::move(*s);
    ASSERT_EQ(server_->Cli({"create", "app", "--release-mode", "code", "--no-wait"}).exit_code, 0);
    ASSERT_EQ(server_->Cli({"sleep", "app"}).exit_code, 0);
  }

  util::CommandResult Deploy(const std::string& tar, std::vector<std::string> extra = {}) {
    const std::string file = server_->dir() + "/upload.tar";
    EXPECT_TRUE(util::WriteFileAtomic(file, tar));
    std::vector<std::string> args{"deploy", "app", "--from-tar", file, "--wait"};
    args.insert(args.end(), extra.begin(), extra.end());
    return server_->Cli(args);
  }

  std::string Volume() { return server_->state_dir() + "/volumes/default/app"; }

  std::string CurrentTarget() {
    std::error_code ec;
    auto t = std::filesystem::read_symlink(Volume() + "/current", ec);
    return ec ? "" : t.string();
  }

  std::vector<std::string> ReleaseDirs() {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(Volume() + "/releases"))
      out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

  std::unique_ptr<BerthServer> server_;
};

TEST_F(BadArchive, EachIsRefusedNamingTheEntryAndTheCurrentReleaseStays) {
  auto good = Deploy(BuildTar({TarFile("index.html", "v1\n")}), {"-m", "good one"});
  ASSERT_EQ(good.exit_code, 0) << good.out << good.err;
  EXPECT_NE(good.out.find("Running"), std::string::npos) << good.out;
  ASSERT_EQ(CurrentTarget(), "releases/r1");
  ASSERT_EQ(util::ReadFile(Volume() + "/current/index.html").value_or(""), "v1\n");
  ASSERT_TRUE(util::PathExists(Volume() + "/shared"));

  struct Case {
    std::string name;
    std::vector<TarItem> items;
    std::string says;  // in the error
  };
  auto item = [](std::string path, Type type, std::string link = "", unsigned mode = 0644) {
    return TarItem{std::move(path), type, "", std::move(link), mode, -1};
  };
  const std::vector<Case> cases = {
      {"absolute",
       {TarFile("ok.txt", "x"), TarFile("/etc/evil", "x")},
       "archive entry \"/etc/evil\": absolute path"},
      {"dotdot", {TarFile("a/../../evil", "x")}, "archive entry \"a/../../evil\": \"..\""},
      {"symlink out",
       {item("ln", Type::kSymlink, "../../../etc")},
       "archive entry \"ln\": symlink pointing outside the release"},
      {"symlink absolute",
       {item("ln", Type::kSymlink, "/etc/passwd")},
       "archive entry \"ln\": symlink to an absolute path"},
      {"hardlink out",
       {item("hl", Type::kHardlink, "/etc/passwd")},
       "archive entry \"hl\": hard link pointing outside the release"},
      {"device", {item("dev/null", Type::kCharDevice)}, "archive entry \"dev/null\": device file"},
      {"fifo", {item("pipe", Type::kFifo)}, "archive entry \"pipe\": FIFO"},
      {"setuid", {TarFile("bin/su", "x", 04755)}, "archive entry \"bin/su\": setuid or setgid"},
      {"long name", {TarFile(std::string(300, 'n'), "x")}, "longer than 255 bytes"},
      {"too many files",
       {},  // filled below
       "releases.max_files"},
      {"too many bytes",
       {TarFile("big", std::string(5000, 'b'))},
       "archive entry \"big\": the release is over 4096 bytes (releases.max_bytes)"},
  };
  for (auto c : cases) {
    if (c.name == "too many files")
      for (int i = 0; i < 51; ++i) c.items.push_back(TarFile("f" + std::to_string(i), ""));
    for (bool gz : {false, true}) {
      auto r = Deploy(BuildTar(c.items, gz));
      EXPECT_EQ(r.exit_code, 2) << c.name << (gz ? " (gzip)" : "") << ": " << r.out << r.err;
      EXPECT_NE(r.err.find(c.says), std::string::npos) << c.name << ": " << r.err;
    }
  }
  // Truncated mid-file, and not an archive at all.
  std::string cut = BuildTar({TarFile("big.txt", std::string(3000, 'z'))});
  auto t = Deploy(cut.substr(0, 1200));
  EXPECT_EQ(t.exit_code, 2) << t.err;
  auto junk = Deploy("this is not a tar archive at all, just text that goes on and on");
  EXPECT_EQ(junk.exit_code, 2) << junk.err;
  // A gzip header libarchive cannot open and has no message for (it ended the server once).
  auto mangled = util::ReadFile(std::string(BERTH_SOURCE_DIR) +
                                "/tests/fuzz/corpus/tar_check/gzip-header-without-message");
  ASSERT_TRUE(mangled);
  auto m = Deploy(*mangled);
  EXPECT_EQ(m.exit_code, 2) << m.err << server_->LogTail();

  // Nothing switched, nothing recorded, nothing left on disk.
  EXPECT_EQ(CurrentTarget(), "releases/r1");
  EXPECT_EQ(util::ReadFile(Volume() + "/current/index.html").value_or(""), "v1\n");
  EXPECT_EQ(ReleaseDirs(), (std::vector<std::string>{"r1"}));
  EXPECT_FALSE(util::PathExists("/etc/evil"));
  auto list = server_->Cli({"releases", "app", "-o", "json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  auto j = json::parse(list.out);
  ASSERT_EQ(j["items"].size(), 1u) << list.out;
  EXPECT_EQ(j["current"], "r1");
  EXPECT_EQ(j["items"][0]["message"], "good one");
  EXPECT_EQ(j["items"][0]["phase"], "Running");

  // A good one still goes through afterwards, and the history says which is current.
  auto v2 = Deploy(BuildTar({TarFile("index.html", "v2\n"), TarFile("sub/x.txt", "x")}, true));
  ASSERT_EQ(v2.exit_code, 0) << v2.err;
  EXPECT_EQ(CurrentTarget(), "releases/r2");
  auto table = server_->Cli({"releases", "app"});
  EXPECT_NE(table.out.find("* r2"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("  r1"), std::string::npos) << table.out;
}

TEST_F(BadArchive, ACodeDeployToAnImageModeEnvironmentIsRefused) {
  ASSERT_EQ(server_->Cli({"create", "img", "--no-wait"}).exit_code, 0);
  const std::string file = server_->dir() + "/ok.tar";
  ASSERT_TRUE(util::WriteFileAtomic(file, BuildTar({TarFile("a", "b")})));
  auto r = server_->Cli({"deploy", "img", "--from-tar", file});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("image release mode"), std::string::npos) << r.err;
  EXPECT_EQ(server_->Cli({"deploy", "nobody", "--from-tar", file}).exit_code, 3);
  EXPECT_EQ(server_->Cli({"deploy", "app"}).exit_code, 2);  // no source
}

}  // namespace
}  // namespace berth::testing
