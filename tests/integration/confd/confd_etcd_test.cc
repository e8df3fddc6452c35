// The confd runner against a real etcd (Debian's /usr/bin/etcd) and the embedded SQLite store:
// onetime rendering, a failing check_cmd, watch mode picking up changes, and reconnecting
// after etcd restarts.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "berth/store.h"
#include "confd/confd.h"
#include "confd/runner.h"
#include "support/berth_server.h"
#include "support/etcd.h"
#include "util/fs.h"
#include "util/process.h"

namespace berth::confd {
namespace {

void WriteText(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << text;
}

std::string ReadText(const std::string& path) {
  return util::ReadFile(path).value_or("");
}

// Waits (bounded) until `pred` holds; the assertion is on the content, not on the time taken.
template <typename F>
bool Eventually(F pred, std::chrono::seconds limit = std::chrono::seconds(60)) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return pred();
}

std::string Route(const std::string& name, int https) {
  return R"({"name": ")" + name + R"(", "http_port": 30879, "https_port": )" +
         std::to_string(https) + R"(, "domain": ")" + name +
         R"(.ctest.example.com", "host_ip": "127.0.0.1"})";
}

class ConfdEtcdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::EtcdServer::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_ETCD=1";
    auto etcd = testing::EtcdServer::Start();
    ASSERT_TRUE(etcd.has_value()) << etcd.error().message;
    etcd_ = std::move(*etcd);
    auto s = store::OpenStore(etcd_->url());
    ASSERT_TRUE(s.has_value()) << s.error().message;
    store_ = std::move(*s);

    confdir_ = dir_.path() + "/confd";
    dest_ = dir_.path() + "/nginx/k8s.conf";
    std::filesystem::create_directories(dir_.path() + "/nginx");
    WriteText(confdir_ + "/templates/service.conf.tpl",
              "{{range getvs \"/devnginx/default/*\"}}{{$r := json .}}"
              "upstream {{$r.name}} { server {{$r.host_ip}}:{{$r.https_port}}; }\n{{end}}");
    WriteText(confdir_ + "/conf.d/myconfig.toml",
              "[template]\nsrc = \"service.conf.tpl\"\ndest = \"" + dest_ +
                  "\"\nkeys = [ \"/devnginx/default\" ]\n"
                  "check_cmd = \"! grep -q forbidden {{.src}}\"\n"
                  "reload_cmd = \"echo reload >> " +
                  dir_.path() + "/reloads\"\n");
    opts_.confdir = confdir_;
    opts_.backend = "etcdv3";
    opts_.nodes = {etcd_->endpoint()};
  }

  void Put(const std::string& k, const std::string& v) {
    auto r = store_->Put(k, v);
    ASSERT_TRUE(r.has_value()) << r.error().message;
  }

  util::TempDir dir_{"berth-confd-it"};
  std::unique_ptr<testing::EtcdServer> etcd_;
  std::unique_ptr<store::Store> store_;
  std::string confdir_, dest_;
  Options opts_;
};

TEST_F(ConfdEtcdTest, OnetimeRendersAndFailingCheckKeepsDest) {
  Put("/devnginx/default/b-app", Route("b-app", 30509));
  Put("/devnginx/default/a-app", Route("a-app", 30269));
  Put("/devnginx/other/c-app", Route("c-app", 1));
  opts_.onetime = true;
  auto st = RunOnce(opts_);
  ASSERT_TRUE(st.has_value()) << st.error().message;
  const std::string want =
      "upstream a-app { server 127.0.0.1:30269; }\nupstream b-app { server 127.0.0.1:30509; }\n";
  EXPECT_EQ(ReadText(dest_), want);
  EXPECT_EQ(ReadText(dir_.path() + "/reloads"), "reload\n");

  // A record the check rejects: the run fails and dest keeps the last good config.
  Put("/devnginx/default/forbidden", Route("forbidden", 30001));
  st = RunOnce(opts_);
  ASSERT_FALSE(st.has_value());
  EXPECT_NE(st.error().message.find("config check failed for " + dest_), std::string::npos)
      << st.error().message;
  EXPECT_EQ(ReadText(dest_), want);
  EXPECT_EQ(ReadText(dir_.path() + "/reloads"), "reload\n");
}

TEST_F(ConfdEtcdTest, OnetimeWithGlobalPrefix) {
  Put("/edge1/devnginx/default/p-app", Route("p-app", 31000));
  opts_.prefix = "/edge1";
  auto st = RunOnce(opts_);
  ASSERT_TRUE(st.has_value()) << st.error().message;
  EXPECT_EQ(ReadText(dest_), "upstream p-app { server 127.0.0.1:31000; }\n");
}

// An existing confd deployment keeps its settings in confd.toml: `berth router -config-file F
// -onetime` takes confdir, backend, nodes and prefix from it; flags on the command line win;
// sync-only writes the file without check_cmd and reload_cmd.
TEST_F(ConfdEtcdTest, ConfdTomlIsReadAndFlagsWin) {
  Put("/edge1/devnginx/default/f-app", Route("f-app", 31001));
  Put("/edge2/devnginx/default/g-app", Route("g-app", 31002));
  const std::string file = dir_.path() + "/confd.toml";
  WriteText(file, "backend = \"etcdv3\"\nconfdir = \"" + confdir_ + "\"\nnodes = [\"" +
                      etcd_->endpoint() + "\"]\nprefix = \"/edge1\"\nlog-level = \"error\"\n");
  auto berth = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv = {testing::BerthBinary(), "router"};
    argv.insert(argv.end(), args.begin(), args.end());
    util::SpawnOptions so;
    so.env_set = {{"BERTH_STATE_DIR", dir_.path() + "/state"}};
    auto r = util::RunCommand(argv, std::chrono::seconds(60), so);
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : util::CommandResult{};
  };
  auto r = berth({"-config-file", file, "-onetime"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadText(dest_), "upstream f-app { server 127.0.0.1:31001; }\n");
  EXPECT_EQ(ReadText(dir_.path() + "/reloads"), "reload\n");

  r = berth({"-config-file=" + file, "-prefix", "/edge2", "-onetime"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadText(dest_), "upstream g-app { server 127.0.0.1:31002; }\n");
  EXPECT_EQ(ReadText(dir_.path() + "/reloads"), "reload\nreload\n");

  // sync-only (here from the file): a record the check would refuse is written, nothing reloads.
  Put("/edge1/devnginx/default/forbidden", Route("forbidden", 31003));
  WriteText(file, ReadText(file) + "sync-only = true\n");
  r = berth({"-config-file", file, "-onetime"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(ReadText(dest_).find("upstream forbidden"), std::string::npos);
  EXPECT_EQ(ReadText(dir_.path() + "/reloads"), "reload\nreload\n");

  // What Berth cannot honour stops it before anything is touched, naming the key.
  WriteText(file, "confdir = \"" + confdir_ + "\"\nclient_cert = \"/etc/ssl/c.pem\"\n");
  r = berth({"-config-file", file, "-onetime"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("client_cert is not supported"), std::string::npos) << r.err;
  // An explicit file that does not exist is an error, not silently skipped.
  r = berth({"-config-file", dir_.path() + "/nope.toml", "-onetime"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
}

TEST_F(ConfdEtcdTest, WatchPicksUpChangesAndSurvivesRestart) {
  Put("/devnginx/default/a-app", Route("a-app", 30269));
  opts_.watch = true;
  std::atomic<bool> stop{false};
  Status result;
  std::thread runner([&] { result = RunWithStore(opts_, *store_, stop); });
  struct Joiner {
    std::atomic<bool>& stop;
    std::thread& t;
    ~Joiner() {
      stop = true;
      if (t.joinable()) t.join();
    }
  } joiner{stop, runner};

  ASSERT_TRUE(Eventually([&] { return ReadText(dest_).find("a-app") != std::string::npos; }))
      << ReadText(dest_);
  Put("/devnginx/default/b-app", Route("b-app", 30509));
  EXPECT_TRUE(Eventually([&] { return ReadText(dest_).find("b-app") != std::string::npos; }))
      << ReadText(dest_);
  ASSERT_TRUE(store_->Delete("/devnginx/default/a-app").has_value());
  EXPECT_TRUE(Eventually([&] { return ReadText(dest_).find("a-app") == std::string::npos; }))
      << ReadText(dest_);
  // Keys outside the resource do not matter to it.
  Put("/devnginx/other/z", Route("z", 1));

  // etcd goes away and comes back: the runner reconnects and catches up.
  etcd_->Stop();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  auto rs = etcd_->Restart();
  ASSERT_TRUE(rs.has_value()) << rs.error().message;
  Put("/devnginx/default/c-app", Route("c-app", 30777));
  EXPECT_TRUE(Eventually([&] { return ReadText(dest_).find("c-app") != std::string::npos; }))
      << ReadText(dest_) << "\netcd log:\n"
      << etcd_->LogTail();
  EXPECT_EQ(
      ReadText(dest_),
      "upstream b-app { server 127.0.0.1:30509; }\nupstream c-app { server 127.0.0.1:30777; }\n");

  stop = true;
  runner.join();
  EXPECT_TRUE(result.has_value()) << result.error().message;
}

// The embedded store works as a confd backend too (backend "store").
TEST(ConfdEmbeddedStoreTest, OnetimeFromSqlite) {
  util::TempDir dir("berth-confd-sqlite");
  std::string url = "sqlite://" + dir.path() + "/berth.db";
  {
    auto s = store::OpenStore(url);
    ASSERT_TRUE(s.has_value()) << s.error().message;
    ASSERT_TRUE((*s)->Put("/devnginx/default/s-app", Route("s-app", 30400)).has_value());
  }
  WriteText(
      dir.path() + "/confd/templates/t.tpl",
      "{{range gets \"/devnginx/default/*\"}}{{base .Key}}={{(json .Value).https_port}}\n{{end}}");
  WriteText(dir.path() + "/confd/conf.d/t.toml",
            "[template]\nsrc = \"t.tpl\"\ndest = \"" + dir.path() +
                "/out.conf\"\nkeys = [\"/devnginx/default/\"]\n");
  Options o;
  o.confdir = dir.path() + "/confd";
  o.backend = "store";
  o.store_url = url;
  auto st = RunOnce(o);
  ASSERT_TRUE(st.has_value()) << st.error().message;
  EXPECT_EQ(ReadText(dir.path() + "/out.conf"), "s-app=30400\n");
}

}  // namespace
}  // namespace berth::confd
