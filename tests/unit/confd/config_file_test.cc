#include "confd/config_file.h"

#include <gtest/gtest.h>

#include "util/fs.h"

namespace berth::confd {
namespace {

TEST(ConfdConfigFile, ReadsTheKeysConfdDocuments) {
  auto s = ParseConfigFile(R"(
backend = "etcdv3"
confdir = "/srv/confd"
interval = 30
log-level = "warn"
nodes = ["http://127.0.0.1:2379", "127.0.0.2:2379"]
noop = false
prefix = "/edge1"
sync-only = true
watch = true
)",
                           "/etc/confd/confd.toml");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->backend, "etcdv3");
  EXPECT_EQ(s->confdir, "/srv/confd");
  EXPECT_EQ(s->interval, 30);
  EXPECT_EQ(s->log_level, "warn");
  ASSERT_TRUE(s->nodes);
  EXPECT_EQ(*s->nodes, (std::vector<std::string>{"http://127.0.0.1:2379", "127.0.0.2:2379"}));
  EXPECT_EQ(s->noop, false);
  EXPECT_EQ(s->prefix, "/edge1");
  EXPECT_EQ(s->sync_only, true);
  EXPECT_EQ(s->watch, true);
  EXPECT_TRUE(s->ignored.empty());
}

TEST(ConfdConfigFile, LeftOutKeysStayUnsetAndUnknownOnesAreListed) {
  auto s = ParseConfigFile("confdir = \"/c\"\nfuture_key = 1\n[confd]\nwatch = true\n", "f.toml");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->confdir, "/c");
  EXPECT_FALSE(s->watch);  // confd decodes top-level keys: a [confd] table is ignored there too
  EXPECT_FALSE(s->interval);
  EXPECT_FALSE(s->nodes);
  EXPECT_EQ(s->ignored, (std::vector<std::string>{"confd", "future_key"}));
}

TEST(ConfdConfigFile, WhatBerthCannotHonourIsAnErrorNamingTheKey) {
  for (const char* text :
       {"client_cert = \"/c.pem\"", "client_key = \"/k.pem\"", "client_cakeys = \"/ca\"",
        "auth_token = \"t\"", "username = \"u\"", "password = \"p\"", "basic_auth = true",
        "srv_record = \"_etcd._tcp.example.com\"", "scheme = \"https\""}) {
    auto s = ParseConfigFile(text, "/etc/confd/confd.toml");
    ASSERT_FALSE(s) << text;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
    std::string key(text, std::string(text).find(' '));
    EXPECT_EQ(s.error().message, "/etc/confd/confd.toml: " + key +
                                     " is not supported by berth router (docs/confd.md)");
  }
  auto consul = ParseConfigFile("backend = \"consul\"", "c.toml");
  ASSERT_FALSE(consul);
  EXPECT_NE(consul.error().message.find("backend \"consul\""), std::string::npos);
}

TEST(ConfdConfigFile, BadValuesAndSyntaxAreErrorsWithTheFile) {
  for (const char* text :
       {"interval = \"60\"", "interval = 0", "watch = \"yes\"", "nodes = \"h\"", "nodes = [1]",
        "confdir = 3", "prefix = [", "= 1", "log-level = \"verbose\"", "log-level = 3",
        // A float is not a number of seconds, and this one does not fit an integer (fuzzing).
        "interval = 2.5", "interval = 22222222222222222222222222222222222223e0"}) {
    auto s = ParseConfigFile(text, "bad.toml");
    ASSERT_FALSE(s) << text;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument) << text;
    EXPECT_EQ(s.error().message.rfind("bad.toml: ", 0), 0u) << s.error().message;
  }
  auto level = ParseConfigFile("log-level = \"verbose\"", "bad.toml");
  ASSERT_FALSE(level);
  EXPECT_EQ(level.error().message,
            "bad.toml: log-level \"verbose\" is not one of trace, debug, info, warn, warning, "
            "error, fatal, panic");
}

TEST(ConfdConfigFile, AMissingDefaultFileIsSkippedAnExplicitOneIsNot) {
  util::TempDir d("confd-cfg");
  auto skipped = LoadConfigFile(d.path() + "/confd.toml", /*optional=*/true);
  ASSERT_TRUE(skipped) << skipped.error().message;
  EXPECT_FALSE(skipped->confdir);
  auto missing = LoadConfigFile(d.path() + "/confd.toml", /*optional=*/false);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(util::WriteFileAtomic(d.path() + "/confd.toml", "interval = 5\n"));
  auto read = LoadConfigFile(d.path() + "/confd.toml", /*optional=*/false);
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(read->interval, 5);
}

}  // namespace
}  // namespace berth::confd
