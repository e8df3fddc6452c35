#include "berth/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "util/fs.h"

namespace berth {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v :
         {"BERTH_CONFIG", "BERTH_STATE_DIR", "BERTH_BASE_DOMAINS", "BERTH_RUNTIME",
          "BERTH_PORT_MIN", "BERTH_SOCKET", "BERTH_ALLOWED_DOMAINS", "BERTH_EXTRA_HOST_PORTS"})
      unsetenv(v);
  }
  std::string Write(const std::string& text) {
    std::string p = dir.path() + "/berth.toml";
    EXPECT_TRUE(util::WriteFileAtomic(p, text));
    return p;
  }
  util::TempDir dir{"berth-cfg"};
};

TEST_F(ConfigTest, FileValuesAndDerivedDefaults) {
  auto c = LoadConfig(Write(R"(
[server]
state_dir = "/srv/berth"
socket = "/srv/berth/api.sock"
[environments]
base_domains = ["ctest.a.com", "ctest.b.com"]
port_range = [31000, 31999]
default_image = "registry.local/app:1"
[router]
mode = "classic"
)"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->store_url, "sqlite:///srv/berth/berth.db");
  EXPECT_EQ(c->volume_root, "/srv/berth/volumes");
  EXPECT_EQ(c->nginx_prefix, "/srv/berth/nginx");
  EXPECT_EQ(c->base_domains, (std::vector<std::string>{"ctest.a.com", "ctest.b.com"}));
  EXPECT_EQ(c->port_min, 31000);
  EXPECT_EQ(c->router_mode, "classic");
}

TEST_F(ConfigTest, EnvironmentOverridesTheFile) {
  auto path = Write("[environments]\nbase_domains = [\"a.com\"]\n");
  setenv("BERTH_BASE_DOMAINS", "x.com, y.com", 1);
  setenv("BERTH_STATE_DIR", "/tmp/berth-x", 1);
  auto c = LoadConfig(path);
  unsetenv("BERTH_BASE_DOMAINS");
  unsetenv("BERTH_STATE_DIR");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->base_domains, (std::vector<std::string>{"x.com", "y.com"}));
  EXPECT_EQ(c->state_dir, "/tmp/berth-x");
}

TEST_F(ConfigTest, SyntaxErrorsNameTheLine) {
  auto c = LoadConfig(Write("[server]\nstate_dir = \"/x\"\nworkers = = 3\n"));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(c.error().message.find("berth.toml:3"), std::string::npos) << c.error().message;
}

TEST_F(ConfigTest, InvalidValuesAreRefused) {
  for (const char* bad :
       {"[environments]\nbase_domains = [\"bad domain\"]\n",
        "[environments]\nport_range = [40000, 30000]\n",
        "[environments]\nhost_ip = \"localhost; rm\"\n",
        "[environments]\npull_policy = \"Sometimes\"\n", "[runtime]\nkind = \"lxc\"\n",
        "[router]\nmode = \"fast\"\n", "[server]\nstate_dir = \"relative\"\n",
        "[environments]\ndefault_image = \"Bad Image\"\n",
        "[server]\nleader_election = \"maybe\"\n", "[server]\nleader_lease_seconds = 1\n",
        "[server]\nidentity = \"a b\"\n"}) {
    auto c = LoadConfig(Write(bad));
    EXPECT_FALSE(c) << bad;
  }
}

TEST_F(ConfigTest, AdminAllowListsForDomainsAndHostPorts) {
  auto c = LoadConfig(Write(R"(
[environments]
allowed_domains = ["example.com", "shop.example.org"]
extra_host_ports = [8080, 2222]
)"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->allowed_domains, (std::vector<std::string>{"example.com", "shop.example.org"}));
  EXPECT_EQ(c->extra_host_ports, (std::vector<int>{8080, 2222}));
  setenv("BERTH_ALLOWED_DOMAINS", "a.com,b.com", 1);
  setenv("BERTH_EXTRA_HOST_PORTS", "9000, 9001", 1);
  auto e = LoadConfig(dir.path() + "/berth.toml");
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->allowed_domains, (std::vector<std::string>{"a.com", "b.com"}));
  EXPECT_EQ(e->extra_host_ports, (std::vector<int>{9000, 9001}));
  setenv("BERTH_EXTRA_HOST_PORTS", "9000,http", 1);
  auto bad = LoadConfig(dir.path() + "/berth.toml");
  unsetenv("BERTH_ALLOWED_DOMAINS");
  unsetenv("BERTH_EXTRA_HOST_PORTS");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("BERTH_EXTRA_HOST_PORTS"), std::string::npos);
  for (const char* text :
       {"[environments]\nallowed_domains = [\"Bad Domain\"]\n",
        "[environments]\nextra_host_ports = [0]\n", "[environments]\nextra_host_ports = [70000]\n",
        "[environments]\nextra_host_ports = [\"8080\"]\n",
        "[environments]\nextra_host_ports = [80.5]\n"}) {
    auto r = LoadConfig(Write(text));
    EXPECT_FALSE(r) << text;
  }
}

TEST_F(ConfigTest, DefaultTtlsGlobalAndPerNamespace) {
  auto c = LoadConfig(Write(R"(
[environments]
default_ttl = "3d"

[namespaces.ci]
default_ttl = "90m"

[namespaces.prod]
default_ttl = 0
)"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->default_ttl_seconds, 3 * 86400);
  EXPECT_EQ(c->DefaultTtlFor("ci"), 5400);
  EXPECT_EQ(c->DefaultTtlFor("prod"), 0);
  EXPECT_EQ(c->DefaultTtlFor("default"), 3 * 86400);
  setenv("BERTH_DEFAULT_TTL", "8h", 1);
  auto e = LoadConfig(dir.path() + "/berth.toml");
  setenv("BERTH_DEFAULT_TTL", "eight hours", 1);
  auto bad_env = LoadConfig(dir.path() + "/berth.toml");
  unsetenv("BERTH_DEFAULT_TTL");
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->DefaultTtlFor("default"), 28800);
  EXPECT_EQ(e->DefaultTtlFor("ci"), 5400);  // the namespace's own still wins
  ASSERT_FALSE(bad_env);
  EXPECT_NE(bad_env.error().message.find("BERTH_DEFAULT_TTL"), std::string::npos);
  for (const char* text :
       {"[environments]\ndefault_ttl = \"3 days\"\n", "[environments]\ndefault_ttl = -5\n",
        "[environments]\ndefault_ttl = 1.5\n", "[namespaces.ci]\ndefault_ttl = \"soon\"\n",
        "[namespaces.ci]\nttl = \"1h\"\n", "[namespaces.Bad_NS]\ndefault_ttl = \"1h\"\n",
        "namespaces = 5\n"}) {
    auto r = LoadConfig(Write(text));
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << text;
  }
}

TEST_F(ConfigTest, QuotasGlobalAndPerNamespace) {
  auto c = LoadConfig(Write(R"(
[environments]
max_environments = 20
max_cpu = "8"

[namespaces.ci]
max_environments = 50
max_memory = "64Gi"

[namespaces.free]
max_environments = 0
max_cpu = ""
)"));
  ASSERT_TRUE(c) << c.error().message;
  auto d = c->QuotaFor("default");
  EXPECT_EQ(d.max_environments, 20);
  EXPECT_EQ(d.max_cpu, "8");
  EXPECT_EQ(d.max_memory, "");
  auto ci = c->QuotaFor("ci");
  EXPECT_EQ(ci.max_environments, 50);
  EXPECT_EQ(ci.max_cpu, "8");  // not overridden: the [environments] value
  EXPECT_EQ(ci.max_memory, "64Gi");
  EXPECT_FALSE(c->QuotaFor("free").Any());
  for (const char* text :
       {"[environments]\nmax_environments = -1\n", "[environments]\nmax_environments = \"5\"\n",
        "[environments]\nmax_cpu = 8\n", "[environments]\nmax_cpu = \"lots\"\n",
        "[environments]\nmax_memory = \"16GB\"\n", "[namespaces.ci]\nmax_cpu = \"-1\"\n",
        "[namespaces.ci]\nmax_environments = 2.5\n"}) {
    auto r = LoadConfig(Write(text));
    EXPECT_FALSE(r) << text;
  }
}

TEST_F(ConfigTest, MissingNamedFileIsAnError) {
  auto c = LoadConfig(dir.path() + "/nope.toml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("does not exist"), std::string::npos);
}

TEST_F(ConfigTest, ApiListenerKeys) {
  auto c = LoadConfig(Write(R"(
[server]
state_dir = "/srv/berth"
insecure_no_auth = true
api_hosts = ["berth.example.com"]
api_max_connections = 50
api_max_connections_per_client = 5
api_socket_max_connections = 20
api_idle_timeout_seconds = 7
api_max_header_kib = 16
)"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->insecure_no_auth);
  EXPECT_EQ(c->api_hosts, (std::vector<std::string>{"berth.example.com"}));
  EXPECT_EQ(c->api_max_connections, 50);
  EXPECT_EQ(c->api_max_connections_per_client, 5);
  EXPECT_EQ(c->api_socket_max_connections, 20);
  EXPECT_EQ(c->api_idle_timeout_seconds, 7);
  EXPECT_EQ(c->api_max_header_kib, 16);
  for (const char* bad :
       {"api_max_connections = 0", "api_max_connections_per_client = 999",
        "api_idle_timeout_seconds = 0", "api_max_header_kib = 1", "api_hosts = [\"a.com:80\"]"}) {
    auto b = LoadConfig(Write(std::string("[server]\nstate_dir = \"/srv/b\"\n") + bad + "\n"));
    ASSERT_FALSE(b) << bad;
    EXPECT_NE(b.error().message.find(std::string(bad).substr(0, std::string(bad).find(' '))),
              std::string::npos)
        << b.error().message;
  }
}

}  // namespace
}  // namespace berth
