// Template resources: TOML parsing and the stage -> check -> rename -> reload flow, over an
// in-memory store (the etcd-backed path is covered by tests/integration/confd).
#include "confd/resource.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "confd/runner.h"
#include "util/fs.h"

namespace berth::confd {
namespace {

// A map behind the Store interface; enough for rendering (no watches).
class MapStore : public store::Store {
 public:
  Result<std::optional<store::KeyValue>> Get(std::string_view key) override {
    auto it = kv_.find(std::string(key));
    if (it == kv_.end()) return std::optional<store::KeyValue>();
    return std::optional<store::KeyValue>(store::KeyValue{it->first, it->second, 1, 1});
  }
  Result<store::Snapshot> List(std::string_view prefix) override {
    store::Snapshot s;
    s.revision = rev_;
    for (auto it = kv_.lower_bound(std::string(prefix)); it != kv_.end(); ++it) {
      if (it->first.compare(0, prefix.size(), prefix) != 0) break;
      s.kvs.push_back(store::KeyValue{it->first, it->second, 1, 1});
    }
    return s;
  }
  Result<int64_t> Commit(const store::Txn& txn) override {
    for (const auto& op : txn.ops) {
      if (op.kind == store::Op::Kind::kPut)
        kv_[op.key] = op.value;
      else
        kv_.erase(op.key);
    }
    return ++rev_;
  }
  Result<int64_t> Revision() override { return rev_; }
  Result<std::unique_ptr<store::Watch>> WatchPrefix(std::string_view, int64_t) override {
    return Fail(ErrorCode::kUnavailable, "no watches here");
  }

 private:
  std::map<std::string, std::string> kv_;
  int64_t rev_ = 1;
};

void WriteText(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << text;
}

std::string ReadText(const std::string& path) {
  return util::ReadFile(path).value_or("<missing>");
}

class ConfdResourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    confdir_ = dir_.path() + "/confd";
    out_ = dir_.path() + "/out";
    std::filesystem::create_directories(out_);
    opts_.confdir = confdir_;
    opts_.onetime = true;
    WriteText(confdir_ + "/templates/upstreams.tmpl",
              "{{range gets \"/upstream/*\"}}server {{.Value}}; # {{base .Key}}\n{{end}}");
    ASSERT_TRUE(store_.Put("/prod/app/upstream/a", "10.0.0.1:80").has_value());
    ASSERT_TRUE(store_.Put("/prod/app/upstream/b", "10.0.0.2:80").has_value());
    ASSERT_TRUE(store_.Put("/prod/other/x", "no").has_value());
  }
  void Resource(const std::string& extra) {
    WriteText(confdir_ + "/conf.d/app.toml",
              "[template]\nsrc = \"upstreams.tmpl\"\ndest = \"" + out_ +
                  "/app.conf\"\nprefix = \"/app\"\nkeys = [\"/upstream\"]\n" + extra);
  }
  Status Run() {
    std::atomic<bool> stop{false};
    return RunWithStore(opts_, store_, stop);
  }
  std::vector<std::string> StageFiles() {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(out_)) {
      std::string n = e.path().filename();
      if (n.rfind(".app.conf", 0) == 0) out.push_back(n);
    }
    return out;
  }

  util::TempDir dir_{"berth-confd-test"};
  std::string confdir_, out_;
  Options opts_;
  MapStore store_;
};

TEST_F(ConfdResourceTest, RendersDestUnderPrefixWithMode) {
  opts_.prefix = "/prod";
  Resource("mode = \"0640\"\nreload_cmd = \"echo reloaded >> " + out_ + "/reloads\"\n");
  auto st = Run();
  ASSERT_TRUE(st.has_value()) << st.error().message;
  EXPECT_EQ(ReadText(out_ + "/app.conf"), "server 10.0.0.1:80; # a\nserver 10.0.0.2:80; # b\n");
  struct stat s {};
  ASSERT_EQ(stat((out_ + "/app.conf").c_str(), &s), 0);
  EXPECT_EQ(s.st_mode & 07777, 0640u);
  EXPECT_EQ(ReadText(out_ + "/reloads"), "reloaded\n");
  EXPECT_TRUE(StageFiles().empty());

  // Unchanged data: in sync, no reload.
  ASSERT_TRUE(Run().has_value());
  EXPECT_EQ(ReadText(out_ + "/reloads"), "reloaded\n");

  // A change re-renders and reloads again.
  ASSERT_TRUE(store_.Put("/prod/app/upstream/c", "10.0.0.3:80").has_value());
  ASSERT_TRUE(Run().has_value());
  EXPECT_NE(ReadText(out_ + "/app.conf").find("server 10.0.0.3:80; # c"), std::string::npos);
  EXPECT_EQ(ReadText(out_ + "/reloads"), "reloaded\nreloaded\n");
}

TEST_F(ConfdResourceTest, FailingCheckLeavesDestUntouched) {
  opts_.prefix = "/prod";
  WriteText(out_ + "/app.conf", "old config\n");
  // The check sees the staged file through {{.src}}; it rejects the new content.
  Resource("check_cmd = \"grep -q 10.0.0.9 {{.src}}\"\nreload_cmd = \"touch " + out_ +
           "/reloaded\"\n");
  auto st = Run();
  ASSERT_FALSE(st.has_value());
  EXPECT_NE(st.error().message.find("config check failed for " + out_ + "/app.conf"),
            std::string::npos)
      << st.error().message;
  EXPECT_NE(st.error().message.find("exited with status 1"), std::string::npos);
  EXPECT_EQ(ReadText(out_ + "/app.conf"), "old config\n");
  EXPECT_FALSE(util::PathExists(out_ + "/reloaded"));
  EXPECT_TRUE(StageFiles().empty());

  // Once the check passes, dest is replaced and the reload runs.
  ASSERT_TRUE(store_.Put("/prod/app/upstream/z", "10.0.0.9:80").has_value());
  st = Run();
  ASSERT_TRUE(st.has_value()) << st.error().message;
  EXPECT_NE(ReadText(out_ + "/app.conf").find("10.0.0.9"), std::string::npos);
  EXPECT_TRUE(util::PathExists(out_ + "/reloaded"));
}

TEST_F(ConfdResourceTest, NoopAndKeepStageFile) {
  opts_.prefix = "/prod";
  Resource("");
  opts_.noop = true;
  ASSERT_TRUE(Run().has_value());
  EXPECT_FALSE(util::PathExists(out_ + "/app.conf"));
  EXPECT_TRUE(StageFiles().empty());
  opts_.noop = false;
  opts_.keep_stage_file = true;
  Resource("check_cmd = \"false\"\n");
  ASSERT_FALSE(Run().has_value());
  ASSERT_EQ(StageFiles().size(), 1u);
  EXPECT_EQ(ReadText(out_ + "/" + StageFiles()[0]),
            "server 10.0.0.1:80; # a\nserver 10.0.0.2:80; # b\n");
}

TEST_F(ConfdResourceTest, ReloadFailureIsReported) {
  opts_.prefix = "/prod";
  Resource("reload_cmd = \"echo nginx: bad >&2; exit 3\"\n");
  auto st = Run();
  ASSERT_FALSE(st.has_value());
  EXPECT_NE(st.error().message.find("exited with status 3: nginx: bad"), std::string::npos)
      << st.error().message;
}

TEST_F(ConfdResourceTest, TemplateErrorsNameFileAndLine) {
  opts_.prefix = "/prod";
  WriteText(confdir_ + "/templates/upstreams.tmpl",
            "ok\n{{range gets \"/upstream/*\"}}\n{{nope}}\n{{end}}");
  Resource("");
  auto st = Run();
  ASSERT_FALSE(st.has_value());
  EXPECT_NE(st.error().message.find("upstreams.tmpl:3: function \"nope\" not defined"),
            std::string::npos)
      << st.error().message;
  WriteText(confdir_ + "/templates/upstreams.tmpl", "\n{{getv \"/missing\"}}");
  st = Run();
  ASSERT_FALSE(st.has_value());
  EXPECT_NE(st.error().message.find("upstreams.tmpl:2: executing \"upstreams.tmpl\" at <getv "
                                    "\"/missing\">: error calling getv: key does not exist: "
                                    "/missing"),
            std::string::npos)
      << st.error().message;
}

TEST_F(ConfdResourceTest, BadResourceFiles) {
  WriteText(confdir_ + "/conf.d/bad.toml", "[template]\ndest = \"/tmp/x\"\n");
  auto st = Run();
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().message, confdir_ + "/conf.d/bad.toml: src is required");
  WriteText(confdir_ + "/conf.d/bad.toml",
            "[template]\nsrc = \"a\"\ndest = \"/tmp/x\"\nmode = \"0999\"\n");
  st = Run();
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().message, confdir_ + "/conf.d/bad.toml: bad mode \"0999\"");
  WriteText(confdir_ + "/conf.d/bad.toml", "[template\n");
  st = Run();
  ASSERT_FALSE(st.has_value());
  EXPECT_NE(st.error().message.find("bad.toml: cannot parse"), std::string::npos);
  WriteText(confdir_ + "/conf.d/bad.toml",
            "[template]\nsrc = \"nothere.tmpl\"\ndest = \"" + out_ + "/x\"\n");
  st = Run();
  ASSERT_FALSE(st.has_value());
  EXPECT_NE(st.error().message.find("missing template: " + confdir_ + "/templates/nothere.tmpl"),
            std::string::npos);
  opts_.confdir = dir_.path() + "/none";
  EXPECT_EQ(Run().error().message, "no conf.d directory at " + dir_.path() + "/none/conf.d");
}

// Found by tests/fuzz/confd_resource_fuzz.cc: a leading '/' hid the ".." from the check, and
// "/../../x" was joined to <confdir>/x, outside templates/.
TEST(ConfdResourceConfig, SrcCannotClimbOutOfTemplates) {
  Options opts;
  opts.confdir = "/etc/confd";
  for (const char* src : {"/../../x.tmpl", "../x.tmpl", "a/../../x.tmpl", "/..", "."}) {
    auto c = ParseResource(std::string("[template]\nsrc = \"") + src + "\"\ndest = \"/tmp/x\"\n",
                           "/etc/confd/conf.d/r.toml", opts);
    ASSERT_FALSE(c.has_value()) << src << " -> " << c->src;
    EXPECT_EQ(c.error().message, "/etc/confd/conf.d/r.toml: src must stay inside templates/");
  }
  auto ok = ParseResource("[template]\nsrc = \"/sub/../x.tmpl\"\ndest = \"/tmp/x\"\n",
                          "/etc/confd/conf.d/r.toml", opts);
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_EQ(ok->src, "/etc/confd/templates/x.tmpl");
}

// Found by a long run of tests/fuzz/confd_resource_fuzz.cc (docs/fuzzing.md, finding 12): a
// resource's prefix with ".." was joined to a key prefix outside the global one, so its
// template could read keys the global prefix was meant to keep from it.
TEST(ConfdResourceConfig, PrefixCannotClimbOutOfTheGlobalPrefix) {
  Options opts;
  opts.confdir = "/etc/confd";
  opts.prefix = "/devnginx";
  for (const char* prefix : {"..", "/../registry", "a/../../b", "/../devnginxx", "../../.."}) {
    auto c =
        ParseResource(std::string("[template]\nsrc = \"x.tmpl\"\ndest = \"/tmp/x\"\nprefix = \"") +
                          prefix + "\"\n",
                      "/etc/confd/conf.d/r.toml", opts);
    ASSERT_FALSE(c.has_value()) << prefix << " -> " << c->prefix;
    EXPECT_EQ(c.error().message,
              "/etc/confd/conf.d/r.toml: prefix must stay inside the global prefix /devnginx");
  }
  for (auto [prefix, joined] : {std::pair{"", "/devnginx"},
                                {"/", "/devnginx"},
                                {"sub/../other", "/devnginx/other"},
                                {"/a/b", "/devnginx/a/b"}}) {
    auto ok =
        ParseResource(std::string("[template]\nsrc = \"x.tmpl\"\ndest = \"/tmp/x\"\nprefix = \"") +
                          prefix + "\"\n",
                      "/etc/confd/conf.d/r.toml", opts);
    ASSERT_TRUE(ok.has_value()) << prefix << ": " << ok.error().message;
    EXPECT_EQ(ok->prefix, joined);
  }
  // Without a global prefix every key is in reach anyway.
  opts.prefix = "";
  auto any = ParseResource("[template]\nsrc = \"x.tmpl\"\ndest = \"/tmp/x\"\nprefix = \"/../a\"\n",
                           "/etc/confd/conf.d/r.toml", opts);
  ASSERT_TRUE(any.has_value()) << any.error().message;
  EXPECT_EQ(any->prefix, "/a");
}

// uid, gid and mode are integers as written: a float is refused, never converted (one out of
// int64's range was undefined behaviour in the conversion).
TEST(ConfdResourceConfig, FloatsAreNotIntegers) {
  Options opts;
  opts.confdir = "/etc/confd";
  for (const char* line : {"uid = 1.5", "gid = 1e300", "mode = 6.44e2"}) {
    auto c = ParseResource(
        std::string("[template]\nsrc = \"x.tmpl\"\ndest = \"/tmp/x\"\n") + line + "\n",
        "/etc/confd/conf.d/r.toml", opts);
    EXPECT_FALSE(c.has_value()) << line;
  }
  auto ok = ParseResource("[template]\nsrc = \"x.tmpl\"\ndest = \"/tmp/x\"\nuid = 0\nmode = 644\n",
                          "/etc/confd/conf.d/r.toml", opts);
  EXPECT_TRUE(ok.has_value()) << ok.error().message;
}

TEST(ConfdResourceConfig, PrefixKeysAndWatches) {
  util::TempDir d("berth-confd-cfg");
  WriteText(d.path() + "/conf.d/myconfig.toml", R"([template]
src = "service.conf.tpl"
dest = "/apps/srv/nginx/conf/conf.d/k8s.conf"
keys = [ "/devnginx/default" ]
#check_cmd = "/apps/srv/nginx/sbin/nginx -t"
reload_cmd = "/apps/srv/nginx/sbin/nginx -t && /apps/srv/nginx/sbin/nginx -s reload"
)");
  Options o;
  o.confdir = d.path();
  auto rs = LoadResources(o);
  ASSERT_TRUE(rs.has_value()) << rs.error().message;
  ASSERT_EQ(rs->size(), 1u);
  const auto& r = *(*rs)[0];
  EXPECT_EQ(r.config().src, d.path() + "/templates/service.conf.tpl");
  EXPECT_EQ(r.config().prefix, "/");
  EXPECT_EQ(r.store_keys(), std::vector<std::string>{"/devnginx/default"});
  EXPECT_TRUE(r.Watches("/devnginx/default/test-txcc"));
  EXPECT_FALSE(r.Watches("/devnginx/other/x"));
  EXPECT_FALSE(r.config().mode.has_value());
  EXPECT_EQ(r.config().check_cmd, "");
}

TEST(ConfdStoreUrl, FromOptions) {
  Options o;
  o.nodes = {"http://127.0.0.1:2379", "127.0.0.2:4001/"};
  EXPECT_EQ(*StoreUrl(o), "etcd://127.0.0.1:2379,127.0.0.2:4001");
  o.nodes = {};
  EXPECT_EQ(*StoreUrl(o), "etcd://127.0.0.1:2379");
  o.nodes = {"http://a:1/x?y"};
  EXPECT_FALSE(StoreUrl(o).has_value());
  o.backend = "store";
  o.store_url = "sqlite:///tmp/b.db";
  EXPECT_EQ(*StoreUrl(o), "sqlite:///tmp/b.db");
  o.backend = "consul";
  EXPECT_FALSE(StoreUrl(o).has_value());
}

}  // namespace
}  // namespace berth::confd
