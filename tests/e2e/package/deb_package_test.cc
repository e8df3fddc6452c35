// The Debian package as its users get it. `cpack -G DEB` builds the .deb from this build
// (packaging is configured in the Release build: scripts/test.sh runs this test there); its
// metadata and contents are checked; it is unpacked into a throw-away root and the packaged
// unit's own ExecStart command line, with the packaged /etc/berth/berth.toml, runs
// `berth serve` against the test's Podman; an environment created through the packaged CLI
// answers through nginx. With CI=true (or BERTH_TEST_INSTALL_DEB=1) the package is also
// installed on the machine itself with apt, and purged: the user, the state directory and
// the conffile are checked, and purge must keep /var/lib/berth.
#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <sstream>
#include <thread>

#include "net/http_client.h"
#include "support/berth_server.h"
#include "support/images.h"
#include "support/podman.h"
#include "support/ports.h"
#include "util/fs.h"
#include "util/process.h"

namespace berth::testing {
namespace {

namespace fs = std::filesystem;

std::string BuildDir() {
  return fs::path(BerthBinary()).parent_path().string();
}

util::CommandResult Exec(const std::vector<std::string>& argv,
                         std::chrono::milliseconds timeout = std::chrono::seconds(300),
                         const util::SpawnOptions& so = {}) {
  auto r = util::RunCommand(argv, timeout, so);
  if (!r) return util::CommandResult{-1, "", r.error().message, false};
  return *r;
}

bool Contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// The words of the unit's ExecStart= (no quoting in our unit file).
std::vector<std::string> ExecStart(const std::string& unit) {
  std::istringstream in(unit);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("ExecStart=", 0) != 0) continue;
    std::istringstream words(line.substr(10));
    std::vector<std::string> argv;
    for (std::string w; words >> w;) argv.push_back(w);
    return argv;
  }
  return {};
}

class DebPackage : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(BuildDir() + "/CPackConfig.cmake")) return;  // skipped in SetUp
    auto r = Exec(
        {"cpack", "-G", "DEB", "--config", BuildDir() + "/CPackConfig.cmake", "-B", out_->path()},
        std::chrono::seconds(600));
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    for (const auto& e : fs::directory_iterator(out_->path()))
      if (e.path().extension() == ".deb") deb_ = e.path().string();
    ASSERT_FALSE(deb_.empty()) << "cpack wrote no .deb:\n" << r.out;
  }
  void SetUp() override {
    if (!fs::exists(BuildDir() + "/CPackConfig.cmake"))
      GTEST_SKIP() << "no packaging in this build (BERTH_SANITIZE builds have none; "
                      "scripts/test.sh runs this test in the Release build)";
    ASSERT_FALSE(deb_.empty());
  }
  static std::string Field(const std::string& name) {
    auto r = Exec({"dpkg-deb", "-f", deb_, name});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  static inline util::TempDir* out_ = new util::TempDir("berth-deb");
  static inline std::string deb_;
};

TEST_F(DebPackage, DeclaresItsDependenciesAndShipsEverything) {
  EXPECT_EQ(Field("Package"), "berth\n");
  const std::string depends = Field("Depends");
  EXPECT_TRUE(Contains(depends, "nginx")) << depends;
  EXPECT_TRUE(Contains(depends, "libnginx-mod-http-lua")) << depends;
  EXPECT_TRUE(Contains(depends, "libsqlite3")) << depends;  // from dpkg-shlibdeps
  EXPECT_TRUE(Contains(depends, "libmicrohttpd")) << depends;
  EXPECT_TRUE(Contains(Field("Recommends"), "podman"));
  EXPECT_TRUE(Contains(Field("Recommends"), "jq")) << "berth-ci needs jq";

  auto list = Exec({"dpkg-deb", "-c", deb_});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  for (const char* f :
       {"./usr/bin/berth", "./usr/bin/berth-ci", "./lib/systemd/system/berth.service",
        "./etc/berth/berth.toml", "./usr/share/man/man1/berth.1",
        "./usr/share/man/man1/berth-create.1", "./usr/share/bash-completion/completions/berth",
        "./usr/share/zsh/vendor-completions/_berth",
        "./usr/share/fish/vendor_completions.d/berth.fish", "./usr/share/doc/berth/README.md"})
    EXPECT_TRUE(Contains(list.out, f)) << f << " missing from:\n" << list.out;

  util::TempDir ctrl("berth-deb-ctrl");
  ASSERT_EQ(Exec({"dpkg-deb", "-e", deb_, ctrl.path() + "/DEBIAN"}).exit_code, 0);
  auto conffiles = util::ReadFile(ctrl.path() + "/DEBIAN/conffiles");
  ASSERT_TRUE(conffiles);
  EXPECT_TRUE(Contains(*conffiles, "/etc/berth/berth.toml"));
  for (const char* script : {"postinst", "prerm", "postrm"}) {
    struct stat st {};
    ASSERT_EQ(::stat((ctrl.path() + "/DEBIAN/" + script).c_str(), &st), 0) << script;
    EXPECT_TRUE(st.st_mode & S_IXUSR) << script;
    auto sh = Exec({"sh", "-n", ctrl.path() + "/DEBIAN/" + script});
    EXPECT_EQ(sh.exit_code, 0) << script << ": " << sh.err;
  }
  auto postrm = util::ReadFile(ctrl.path() + "/DEBIAN/postrm");
  ASSERT_TRUE(postrm);
  EXPECT_FALSE(Contains(*postrm, "rm -rf /var/lib/berth")) << "purge must keep the data";
}

TEST_F(DebPackage, TheUnitsCommandLineServesAnEnvironmentFromAThrowAwayRoot) {
  if (PodmanService::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_PODMAN=1";
  util::TempDir root("berth-deb-root");
  ASSERT_EQ(Exec({"dpkg-deb", "-x", deb_, root.path()}).exit_code, 0);
  auto unit = util::ReadFile(root.path() + "/lib/systemd/system/berth.service");
  ASSERT_TRUE(unit);
  EXPECT_TRUE(Contains(*unit, "User=berth"));
  std::vector<std::string> argv = ExecStart(*unit);
  ASSERT_EQ(argv, (std::vector<std::string>{"/usr/bin/berth", "serve", "--config",
                                            "/etc/berth/berth.toml"}));
  // The same command line, rooted in the throw-away root.
  const std::string berth = root.path() + argv[0];
  argv[0] = berth;
  argv[3] = root.path() + argv[3];

  auto podman = PodmanService::Start();
  ASSERT_TRUE(podman) << podman.error().message;
  auto image = BuildTestImage(**podman, "berth-deb:1");
  ASSERT_TRUE(image) << image.error().message;

  // The packaged config unchanged; what differs on a test machine comes from BERTH_*
  // variables, which override the file (docs/configuration.md).
  util::TempDir state("berth-deb-state");
  const int http_port = FreeLoopbackPort();
  util::SpawnOptions so;
  so.env_set = {{"BERTH_STATE_DIR", state.path() + "/lib"},
                {"BERTH_SOCKET", state.path() + "/berth.sock"},
                {"BERTH_DOCKER_HOST", (*podman)->docker_host()},
                {"BERTH_HTTP_LISTEN", "127.0.0.1:" + std::to_string(http_port)},
                {"BERTH_PULL_POLICY", "IfNotPresent"}};
  so.stdout_path = state.path() + "/serve.log";
  so.stderr_path = "=stdout";
  so.new_process_group = false;
  auto serve = util::Subprocess::Spawn(argv, so);
  ASSERT_TRUE(serve) << serve.error().message;
  auto log = [&] { return util::ReadFile(state.path() + "/serve.log").value_or(""); };

  util::SpawnOptions cli = so;
  cli.stdout_path.clear();
  cli.stderr_path.clear();
  auto berth_cli = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {berth, "--config", root.path() + "/etc/berth/berth.toml"});
    return Exec(args, std::chrono::seconds(240), cli);
  };
  // As systemd would: the unit is up once its socket answers.
  for (int i = 0; i < 300 && berth_cli({"status"}).exit_code != 0; ++i) {
    ASSERT_TRUE(serve->running()) << log();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto created = berth_cli({"create", "pkg-demo", "--image", *image, "--wait"});
  ASSERT_EQ(created.exit_code, 0) << created.err << log();

  // The test image serves its /apps volume (the dir driver's <state_dir>/volumes/<ns>/<name>).
  ASSERT_TRUE(util::WriteFileAtomic(state.path() + "/lib/volumes/default/pkg-demo/index.html",
                                    "hello from the package\n"));
  net::ClientOptions co;
  co.base_url = "http://127.0.0.1:" + std::to_string(http_port);
  net::HttpClient http(co);
  int status = 0;
  std::string body;
  for (int i = 0; i < 100 && status != 200; ++i) {
    auto r = http.Send({"GET",
                        "/index.html",
                        {{"Host", "pkg-demo.ctest.localhost"}},
                        "",
                        std::chrono::milliseconds(-1)});
    status = r ? r->status : 0;
    body = r ? r->body : "";
    if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(status, 200) << log();
  EXPECT_EQ(body, "hello from the package\n");

  auto del = berth_cli({"delete", "pkg-demo", "--purge", "--wait"});
  EXPECT_EQ(del.exit_code, 0) << del.err;
  serve->Stop(std::chrono::seconds(20));
  // Berth's nginx outlives a stopped serve (so a restart drops no request): stop it here.
  if (auto pid = util::ReadFile(state.path() + "/lib/nginx/logs/nginx.pid")) {
    try {
      ::kill(std::stoi(*pid), SIGQUIT);
    } catch (...) {
    }
  }
}

// The container image built from the package by scripts/image.sh, with no base image: run by
// Podman read-only as the unprivileged user it declares, its API answers on a published port.
TEST_F(DebPackage, TheImageBuiltFromThePackageServesTheApi) {
  if (PodmanService::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_PODMAN=1";
  auto podman = PodmanService::Start();
  ASSERT_TRUE(podman) << podman.error().message;
  util::SpawnOptions so;
  so.env_set["DOCKER_HOST"] = (*podman)->docker_host();
  so.env_set["BERTH_IMAGE"] = "localhost/berth-under-test:pkg";
  auto built = Exec({std::string(BERTH_SOURCE_DIR) + "/scripts/image.sh", deb_},
                    std::chrono::seconds(600), so);
  ASSERT_EQ(built.exit_code, 0) << built.out << built.err;
  EXPECT_EQ(built.out, "localhost/berth-under-test:pkg\n");
  auto user = (*podman)->PodmanOk(
      {"image", "inspect", "--format", "{{.Config.User}}", "localhost/berth-under-test:pkg"});
  ASSERT_TRUE(user) << user.error().message << "\n"
                    << (*podman)->PodmanOk({"images"}).value_or("") << built.err;
  EXPECT_EQ(*user, "10001:10001\n");

  const int port = FreeLoopbackPort();
  const std::string token = "image-test-token-0123456789abcdef";
  auto run = (*podman)->PodmanOk(
      {"run", "-d", "--name", "berth-image-test-" + std::to_string(port), "--read-only", "--tmpfs",
       "/tmp:rw,mode=1777",
       // Named volumes start as a copy of the image's directories,
       // owned by the image's user (as an emptyDir with fsGroup).
       "-v", "berth-image-test-state-" + std::to_string(port) + ":/var/lib/berth", "-v",
       "berth-image-test-run-" + std::to_string(port) + ":/run/berth", "-p",
       "127.0.0.1:" + std::to_string(port) + ":8080", "-e", "BERTH_API_TOKEN=" + token,
       "localhost/berth-under-test:pkg", "serve", "--config", "/etc/berth/berth.toml",
       "--listen-http", "0.0.0.0:8080"});
  ASSERT_TRUE(run) << run.error().message;
  const std::string id = run->substr(0, run->find('\n'));

  net::ClientOptions co;
  co.base_url = "http://127.0.0.1:" + std::to_string(port);
  net::HttpClient http(co);
  http.set_bearer_token(token);
  int status = 0;
  std::string body;
  for (int i = 0; i < 150 && status != 200; ++i) {
    auto r = http.Send({"GET", "/v1/info", {}, "", std::chrono::milliseconds(-1)});
    status = r ? r->status : 0;
    body = r ? r->body : r.error().message;
    if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  auto logs = (*podman)->Podman({"logs", id});
  EXPECT_EQ(status, 200) << body << "\n" << (logs ? logs->out + logs->err : "");
  EXPECT_TRUE(Contains(body, "\"version\"")) << body;
  (*podman)->Podman({"rm", "-f", id});
}

// Changes the machine (a package, a system user): only where that is the point — CI's
// throw-away machine — or when asked.
TEST_F(DebPackage, AptInstallsItAndPurgeKeepsTheData) {
  const char* ci = std::getenv("CI");
  const char* asked = std::getenv("BERTH_TEST_INSTALL_DEB");
  if (!(ci && std::string(ci) == "true") && !(asked && std::string(asked) == "1"))
    GTEST_SKIP() << "installs on this machine: runs with CI=true or BERTH_TEST_INSTALL_DEB=1";
  util::SpawnOptions so;
  so.env_set["DEBIAN_FRONTEND"] = "noninteractive";
  auto install = Exec({"apt-get", "install", "-y", "-q", "--no-install-recommends", deb_},
                      std::chrono::seconds(600), so);
  ASSERT_EQ(install.exit_code, 0) << install.out << install.err;
  struct passwd* pw = ::getpwnam("berth");
  ASSERT_NE(pw, nullptr) << "postinst made no berth user";
  struct stat st {};
  ASSERT_EQ(::stat("/var/lib/berth", &st), 0);
  EXPECT_EQ(st.st_uid, pw->pw_uid);
  EXPECT_TRUE(fs::exists("/etc/berth/berth.toml"));
  auto version = Exec({"/usr/bin/berth", "version"});
  EXPECT_EQ(version.exit_code, 0) << version.err;
  EXPECT_TRUE(Contains(version.out, "berth ")) << version.out;
  // Built with jemalloc (BERTH_JEMALLOC), whose library the package depends on (shlibdeps).
  EXPECT_TRUE(Contains(version.out, "allocator: jemalloc")) << version.out;
  EXPECT_TRUE(fs::exists("/usr/share/man/man1/berth-create.1"));
  util::WriteFileAtomic("/var/lib/berth/keep-me", "data");

  auto purge = Exec({"dpkg", "--purge", "berth"}, std::chrono::seconds(300), so);
  ASSERT_EQ(purge.exit_code, 0) << purge.out << purge.err;
  EXPECT_FALSE(fs::exists("/etc/berth/berth.toml")) << "purge keeps the conffile";
  EXPECT_TRUE(fs::exists("/var/lib/berth/keep-me")) << "purge removed the data";
  fs::remove("/var/lib/berth/keep-me");
}

}  // namespace
}  // namespace berth::testing
