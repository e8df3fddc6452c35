// Config values of the wrong type or beyond int are errors naming the key (issue 11, item 7's
// class in berth.toml and BERTH_* variables): before, `workers = 4294967297` was cast to 1,
// `workers = "8"` or `port_range = [30000]` fell back to the default silently, and
// BERTH_WORKERS=8x was read as 8.
#include <gtest/gtest.h>
#include <stdlib.h>

#include "berth/config.h"
#include "util/fs.h"

namespace berth {
namespace {

class ConfigTypesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"BERTH_CONFIG", "BERTH_STATE_DIR", "BERTH_WORKERS", "BERTH_PORT_MIN",
                          "BERTH_PORT_MAX", "BERTH_RESYNC_SECONDS", "BERTH_LEADER_LEASE_SECONDS"})
      unsetenv(v);
  }
  void TearDown() override { SetUp(); }
  std::string Write(const std::string& text) {
    std::string p = dir.path() + "/berth.toml";
    EXPECT_TRUE(util::WriteFileAtomic(p, "[server]\nstate_dir = \"/srv/b\"\n" + text));
    return p;
  }
  util::TempDir dir{"berth-cfgtypes"};
};

TEST_F(ConfigTypesTest, FileValuesOfTheWrongTypeOrRangeNameTheKey) {
  const std::pair<std::string, std::string> cases[] = {
      {"workers = 4294967297\n", "server.workers must be an integer, got 4294967297"},
      {"workers = -4294967295\n", "server.workers must be an integer"},
      {"workers = \"8\"\n", "server.workers must be an integer, got '8'"},
      {"workers = 8.5\n", "server.workers must be an integer, got 8.5"},
      {"resync_seconds = 9223372036854775807\n", "server.resync_seconds must be an integer"},
      {"resync_seconds = 0\n", "server.resync_seconds must be 1-86400"},
      {"leader_lease_seconds = 4294967311\n", "server.leader_lease_seconds must be an integer"},
      {"socket = 5\n", "server.socket must be a string"},
      {"[environments]\nport_range = [30000, 4294967296]\n",
       "environments.port_range must be two integer ports"},
      {"[environments]\nport_range = [30000]\n",
       "environments.port_range must be two integer ports"},
      {"[environments]\nport_range = \"30000-32767\"\n",
       "environments.port_range must be two integer ports"},
      {"[environments]\nbase_domains = \"a.com\"\n", "environments.base_domains must be an array"},
      {"[environments]\nbase_domains = [\"a.com\", 5]\n",
       "environments.base_domains must be an array of strings"},
      {"[environments]\npull_policy = true\n", "environments.pull_policy must be a string"},
  };
  for (const auto& [toml, message] : cases) {
    auto c = LoadConfig(Write(toml));
    ASSERT_FALSE(c) << toml;
    EXPECT_EQ(c.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(c.error().message.find(message), std::string::npos)
        << toml << "\n  got: " << c.error().message;
  }
  auto ok = LoadConfig(Write("workers = 256\n[environments]\nport_range = [1, 65535]\n"));
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->workers, 256);
  EXPECT_EQ(ok->port_min, 1);
  EXPECT_EQ(ok->port_max, 65535);
}

TEST_F(ConfigTypesTest, EnvironmentIntsMustBeWholeInts) {
  auto path = Write("");
  for (const char* v : {"8x", "abc", "", "4294967297", " 8", "8.0"}) {
    setenv("BERTH_WORKERS", v, 1);
    auto c = LoadConfig(path);
    ASSERT_FALSE(c) << v;
    EXPECT_NE(c.error().message.find("BERTH_WORKERS must be an integer"), std::string::npos)
        << c.error().message;
  }
  setenv("BERTH_WORKERS", "12", 1);
  setenv("BERTH_PORT_MIN", "31000", 1);
  auto c = LoadConfig(path);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->workers, 12);
  EXPECT_EQ(c->port_min, 31000);
}

}  // namespace
}  // namespace berth
