// The dashboard in a real browser: `berth serve` (Podman's Docker API, SQLite state, its nginx)
// with the HTTP listener on a loopback port and an API token, and Debian's Chromium driven by
// playwright-core through tests/browser/dashboard_test.mjs — token prompt, create through the
// form, Pending → Running, the usage charts (requests sent through the router's nginx; the
// screenshot of each chart checked for its line), a validation error, logs, rebuild, delete.
//
// Needs node, /usr/bin/chromium and tests/browser/node_modules (scripts/deps.sh test installs
// all three; without node_modules this test runs `npm ci` itself). Skips only when
// BERTH_TEST_SKIP_BROWSER=1 (or BERTH_TEST_SKIP_PODMAN=1). BERTH_DASHBOARD_SCREENSHOT=PATH also
// writes a screenshot of the page with the environment in it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <random>

#include "support/berth_server.h"
#include "support/images.h"
#include "support/podman.h"
#include "support/ports.h"
#include "util/fs.h"
#include "util/process.h"

namespace berth::testing {
namespace {

constexpr const char* kLogLine = "hello from the dashboard test image";

std::string BrowserDir() {
  return std::string(BERTH_SOURCE_DIR) + "/tests/browser";
}

std::string Chromium() {
  if (const char* c = std::getenv("BERTH_CHROMIUM")) return c;
  return "/usr/bin/chromium";
}

bool SkipBrowserRequested() {
  const char* v = std::getenv("BERTH_TEST_SKIP_BROWSER");
  return v && std::string(v) == "1";
}

std::string Executable(const std::string& name) {
  std::string p = util::FindExecutable(name);
  return ::access(p.c_str(), X_OK) == 0 && p.find('/') != std::string::npos ? p : "";
}

std::string RandomToken() {
  std::random_device rd;
  std::string t;
  const char* hex = "0123456789abcdef";
  for (int i = 0; i < 32; ++i) t += hex[rd() % 16];
  return t;
}

// playwright-core from tests/browser/package-lock.json: scripts/deps.sh test installs it; a
// checkout that has not run it gets `npm ci` here.
Status EnsureNodeModules(const std::string& npm) {
  const std::string dir = BrowserDir();
  if (std::filesystem::exists(dir + "/node_modules/playwright-core/package.json")) return {};
  if (npm.empty())
    return Fail(ErrorCode::kUnavailable,
                "tests/browser/node_modules is missing and there is no npm: run scripts/deps.sh "
                "test, or `npm ci --prefix tests/browser`");
  auto r = util::RunCommand({npm, "ci", "--prefix", dir, "--no-audit", "--no-fund"},
                            std::chrono::minutes(5));
  if (!r) return Fail(r.error());
  if (r->exit_code != 0)
    return Fail(ErrorCode::kUnavailable, "`npm ci --prefix tests/browser` failed (exit " +
                                             std::to_string(r->exit_code) + "):\n" + r->out +
                                             r->err);
  return {};
}

// The test image's httpd prints nothing; this one says kLogLine first, for the logs panel.
Result<std::string> BuildLoggingImage(PodmanService& podman) {
  auto base = BuildTestImage(podman, "berth-dashboard:base");
  if (!base) return Fail(base.error());
  const std::string ctx = podman.dir() + "/dashboard-image";
  if (auto s = util::MakeDirs(ctx); !s) return Fail(s.error());
  const std::string file = "FROM " + *base + "\nCMD [\"/bin/sh\", \"-c\", \"echo " + kLogLine +
                           "; exec httpd -f -p 80 -h /apps\"]\n";
  if (auto s = util::WriteFileAtomic(ctx + "/Containerfile", file); !s) return Fail(s.error());
  const std::string tag = "localhost/berth-dashboard:1";
  if (auto b =
          podman.PodmanOk({"build", "--pull=never", "-t", tag, "-f", ctx + "/Containerfile", ctx});
      !b)
    return Fail(Wrap(b.error(), "building the dashboard test image"));
  return tag;
}

TEST(DashboardBrowser, TokenCreateRunningValidationLogsRebuildDelete) {
  if (SkipBrowserRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_BROWSER=1";
  if (PodmanService::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_PODMAN=1";
  const std::string node = Executable("node");
  ASSERT_FALSE(node.empty()) << "node is missing: run scripts/deps.sh test (Node.js >= 20)";
  ASSERT_EQ(::access(Chromium().c_str(), X_OK), 0)
      << Chromium() << " is missing: run scripts/deps.sh test (Debian package chromium)";
  auto modules = EnsureNodeModules(Executable("npm"));
  ASSERT_TRUE(modules) << modules.error().message;

  auto podman = PodmanService::Start();
  ASSERT_TRUE(podman) << podman.error().message;
  auto image = BuildLoggingImage(**podman);
  ASSERT_TRUE(image) << image.error().message;

  const std::string token = RandomToken();
  std::unique_ptr<BerthServer> server;
  std::string url;
  // A free port may be taken in the moment between choosing and binding it: try a few.
  for (int attempt = 0; attempt < 3 && !server; ++attempt) {
    int port = FreeLoopbackPort();
    ASSERT_GT(port, 0);
    BerthServerOptions o;
    o.docker_host = (*podman)->docker_host();
    o.default_image = *image;
    o.pull_policy = "IfNotPresent";  // the image is local; no registry needed
    o.env["BERTH_LISTEN_HTTP"] = "127.0.0.1:" + std::to_string(port);
    o.env["BERTH_API_TOKEN"] = token;
    o.env["BERTH_USAGE_SAMPLE_SECONDS"] = "1";  // the charts fill within seconds
    auto s = BerthServer::Start(o);
    if (s) {
      server = std::move(*s);
      url = "http://127.0.0.1:" + std::to_string(port);
    } else if (attempt == 2) {
      FAIL() << s.error().message;
    }
  }

  util::SpawnOptions so;
  so.cwd = BrowserDir();
  so.env_set["BERTH_DASHBOARD_URL"] = url;
  so.env_set["BERTH_API_TOKEN"] = token;
  so.env_set["BERTH_DASHBOARD_IMAGE"] = *image;
  so.env_set["BERTH_DASHBOARD_LOG_TEXT"] = kLogLine;
  so.env_set["BERTH_CHROMIUM"] = Chromium();
  so.env_set["BERTH_DASHBOARD_ROUTER_URL"] =
      "http://127.0.0.1:" + std::to_string(server->nginx_port());
  if (const char* shot = std::getenv("BERTH_DASHBOARD_SCREENSHOT"))
    so.env_set["BERTH_DASHBOARD_SCREENSHOT"] = std::filesystem::absolute(shot).string();
  auto r =
      util::RunCommand({node, BrowserDir() + "/dashboard_test.mjs"}, std::chrono::minutes(11), so);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->timed_out) << "the browser test did not finish in 11 minutes";
  EXPECT_EQ(r->exit_code, 0) << "node tests/browser/dashboard_test.mjs failed:\n"
                             << r->out << r->err << "\n--- berth serve log ---\n"
                             << server->LogTail();
  if (r->exit_code == 0) std::cout << r->out;

  // Whatever the browser left behind goes before the server stops.
  server->Cli({"delete", "dash-web", "--purge", "--wait"});
}

}  // namespace
}  // namespace berth::testing
