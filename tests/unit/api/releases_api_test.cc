// The release endpoints (docs/releases.md) over a real SQLite store, a real "dir" volume and a
// runtime that only counts restarts: the REST shapes and refusals through ApiServer::Handle,
// and an archive upload spooled by the real libmicrohttpd server on a unix socket.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <random>
#include <thread>

#include "api/api_server.h"
#include "net/http_client.h"
#include "release/release_manager.h"
#include "storage/dir_volumes.h"
#include "support/tar_builder.h"
#include "util/fs.h"
#include "util/strings.h"

namespace berth::api {
namespace {

using nlohmann::json;

class CountingRuntime : public runtime::Runtime {
 public:
  std::string Name() const override { return "counting"; }
  runtime::Capabilities capabilities() const override {
    runtime::Capabilities c;
    c.restart_in_place = true;
    return c;
  }
  Status Apply(const EnvironmentSpec&, const VolumeMount&, const runtime::ProgressFn&) override {
    return {};
  }
  Result<runtime::WorkloadStatus> Inspect(const EnvironmentSpec&) override {
    return runtime::WorkloadStatus{};
  }
  Status Remove(std::string_view, std::string_view) override { return {}; }
  Status Logs(const EnvironmentSpec&, const runtime::LogOptions&,
              const runtime::LogSink&) override {
    return {};
  }
  Result<std::vector<runtime::OwnedWorkload>> ListManaged() override {
    return std::vector<runtime::OwnedWorkload>{};
  }
  Status Restart(const EnvironmentSpec&) override {
    ++restarts;
    return {};
  }
  std::atomic<int> restarts{0};
};

class ReleasesApi : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::OpenStore("sqlite://" + dir.path() + "/b.db");
    ASSERT_TRUE(s) << s.error().message;
    st = std::move(*s);
    cfg = DefaultConfig();
    cfg.state_dir = dir.path();
    cfg.socket = dir.path() + "/api.sock";
    cfg.default_image = "localhost/app:1";
    service = std::make_unique<EnvironmentService>(*st, cfg);
    storage::DirVolumesOptions vo;
    vo.root = dir.path() + "/volumes";
    volumes = std::make_unique<storage::DirVolumes>(vo);
    release::ReleaseOptions ro;
    ro.probe_http = false;
    releases = std::make_unique<release::ReleaseManager>(
        *st, rt, *volumes,
        [this](const std::string& ns, const std::string& name,
               const std::string& image) -> Result<int64_t> {
          auto v = service->Rebuild(ns, name, image);
          if (!v) return Fail(v.error());
          return v->spec.generation;
        },
        ro);
    server = std::make_unique<ApiServer>(*service, cfg, nullptr, nullptr);
    server->SetReleases(releases.get());
    ASSERT_EQ(Do("POST", "/v1/environments", R"({"name":"web","release_mode":"code"})").status,
              201);
    ASSERT_EQ(Do("POST", "/v1/environments", R"({"name":"img"})").status, 201);
  }
  void TearDown() override {
    if (server) server->Stop();
    if (releases) releases->Stop();
  }
  net::ServerResponse Do(const std::string& method, const std::string& path,
                         const std::string& body = "", int fd = -1) {
    net::ServerRequest r;
    r.method = method;
    auto q = path.find('?');
    r.path = path.substr(0, q);
    if (q != std::string::npos)
      for (const auto& kv : util::Split(path.substr(q + 1), '&')) {
        auto eq = kv.find('=');
        r.query[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
      }
    r.body = body;
    r.body_fd = fd;
    if (!body.empty()) r.headers["content-type"] = "application/json";
    if (fd >= 0) r.headers["content-type"] = "application/x-tar";
    r.peer = "unix";
    return server->Handle(r);
  }
  util::UniqueFd Spool(const std::string& bytes) {
    util::UniqueFd fd(::open(dir.path().c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    EXPECT_EQ(::write(fd.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    return fd;
  }
  json Settled(const std::string& id) {
    for (int i = 0; i < 200; ++i) {
      auto r = json::parse(Do("GET", "/v1/environments/default/web/releases/" + id).body);
      if (r.value("phase", "") != "Pending") return r;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return json();
  }

  util::TempDir dir{"berth-api-rel"};
  std::unique_ptr<store::Store> st;
  Config cfg;
  std::unique_ptr<EnvironmentService> service;
  CountingRuntime rt;
  std::unique_ptr<storage::DirVolumes> volumes;
  std::unique_ptr<release::ReleaseManager> releases;
  std::unique_ptr<ApiServer> server;
};

TEST_F(ReleasesApi, ShapesAndRefusals) {
  const std::string base = "/v1/environments/default/web";
  auto fd = Spool(testing::BuildTar({testing::TarFile("index.html", "v1")}));
  auto p = Do("POST", base + "/releases?message=hello&created_by=ci", "", fd.get());
  ASSERT_EQ(p.status, 202) << p.body;
  auto r1 = json::parse(p.body);
  EXPECT_EQ(r1["id"], "r1");
  EXPECT_EQ(r1["mode"], "code");
  EXPECT_EQ(r1["message"], "hello");
  EXPECT_EQ(r1["created_by"], "ci");
  EXPECT_EQ(Settled("r1")["phase"], "Running");
  auto l = json::parse(Do("GET", base + "/releases").body);
  EXPECT_EQ(l["current"], "r1");
  EXPECT_EQ(l["deploying"], "");
  ASSERT_EQ(l["items"].size(), 1u);
  EXPECT_TRUE(l["items"][0]["current"].get<bool>());
  EXPECT_EQ(rt.restarts, 1);

  // Refusals: each a 4xx naming what is wrong, none recorded.
  auto fd2 = Spool(testing::BuildTar({testing::TarFile("a", "b")}));
  EXPECT_EQ(Do("POST", base + "/releases?colour=red", "", fd2.get()).status, 400);
  EXPECT_EQ(Do("POST", base + "/releases?no_rollback=maybe", "", fd2.get()).status, 400);
  EXPECT_EQ(Do("POST", base + "/releases", "").status, 400);
  EXPECT_EQ(Do("POST", base + "/releases", R"({"message":"no image"})").status, 400);
  EXPECT_EQ(Do("POST", base + "/releases", R"({"image":"x","extra":1})").status, 400);
  EXPECT_EQ(Do("POST", base + "/releases", R"({"image":"Not A Ref"})").status, 400);
  EXPECT_EQ(Do("POST", base + "/rollback", R"({"to":"r1; rm -rf /"})").status, 400);
  EXPECT_EQ(Do("POST", base + "/rollback", R"({"to":5})").status, 400);
  EXPECT_EQ(Do("POST", base + "/rollback", R"({"into":"r1"})").status, 400);
  EXPECT_EQ(Do("POST", base + "/rollback", "").status, 404);  // nothing before r1
  EXPECT_EQ(Do("GET", base + "/releases/r7").status, 404);
  EXPECT_EQ(Do("GET", base + "/releases/..").status, 400);
  EXPECT_EQ(Do("DELETE", base + "/releases").status, 405);
  EXPECT_EQ(Do("GET", base + "/rollback").status, 405);
  EXPECT_EQ(Do("GET", "/v1/environments/default/nobody/releases").status, 404);
  EXPECT_EQ(Do("POST", "/v1/environments/default/img/releases", "", fd2.get()).status, 400);
  EXPECT_EQ(json::parse(Do("GET", base + "/releases").body)["items"].size(), 1u);

  // Without a release manager the endpoints say so.
  ApiServer bare(*service, cfg, nullptr, nullptr);
  net::ServerRequest g;
  g.method = "GET";
  g.path = base + "/releases";
  g.peer = "unix";
  EXPECT_EQ(bare.Handle(g).status, 503);
}

TEST_F(ReleasesApi, AnArchiveIsSpooledByTheRealServer) {
  ASSERT_TRUE(server->Start());
  net::ClientOptions co;
  co.base_url = "http://berth";
  co.unix_socket = cfg.socket;
  net::HttpClient c(co);
  // Bigger than the 1 MiB a JSON body may be: only a spooled upload takes it.
  std::string big(3 << 20, '\0');
  std::mt19937 rng(7);  // incompressible: the gzip stays over 1 MiB
  for (auto& c : big) c = static_cast<char>(rng());
  std::string tar = testing::BuildTar({testing::TarFile("big.txt", big)}, true);
  net::HttpRequest req;
  req.method = "POST";
  req.path = "/v1/environments/default/web/releases?message=spooled&created_by=mallory";
  req.headers["Content-Type"] = "application/gzip";
  req.body = tar;
  auto r = c.Send(req);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->status, 202) << r->body;
  EXPECT_EQ(json::parse(r->body)["bytes"], 3 << 20);
  // On the socket the kernel says who is asking; the client's claim does not count.
  EXPECT_EQ(json::parse(r->body)["created_by"], ::getpwuid(::geteuid())->pw_name);
  EXPECT_EQ(Settled("r1")["phase"], "Running");
  EXPECT_EQ(util::ReadFile(dir.path() + "/volumes/default/web/current/big.txt")->size(),
            big.size());
  // The same bytes as JSON are still held to 1 MiB; a tar anywhere else is not spooled.
  req.headers["Content-Type"] = "application/json";
  auto j = c.Send(req);
  ASSERT_TRUE(j);
  EXPECT_EQ(j->status, 413) << j->body;
  req.path = "/v1/environments/default/web/rebuild";
  req.headers["Content-Type"] = "application/x-tar";
  auto elsewhere = c.Send(req);
  ASSERT_TRUE(elsewhere);
  EXPECT_EQ(elsewhere->status, 413) << elsewhere->body;
  // Nothing is left in the spool directory (unnamed files).
  EXPECT_TRUE(std::filesystem::is_empty(dir.path() + "/spool"));
}

}  // namespace
}  // namespace berth::api
