#include "router/nginx_conf.h"

#include <gtest/gtest.h>

#include "router/route_table.h"
#include "router/router_options.h"

namespace berth::router {
namespace {

RouterOptions Opts() {
  RouterOptions o;
  o.prefix = "/tmp/berth-test/nginx";
  o.http_listen = "127.0.0.1:8880";
  return o;
}

bool Has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(NginxConfTest, ClassicRendersTheOriginalShapePerRoute) {
  Route r{"default",      "beta", 30509, 30510, {"beta.ctest.a.com", "beta.ctest.b.com"},
          "172.21.133.12"};
  auto text = RenderClassicConf(Opts(), {r});
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_TRUE(Has(*text, "set $berth_upstream 172.21.133.12:30509;"));
  EXPECT_FALSE(Has(*text, "\n    upstream "));
  EXPECT_TRUE(Has(*text, "server_name beta.ctest.a.com beta.ctest.b.com;"));
  EXPECT_TRUE(Has(*text, "proxy_pass http://$berth_upstream;"));
  for (const char* d : {"proxy_cache off;", "proxy_set_header Host $host;",
                        "proxy_set_header X-Real-IP $remote_addr;",
                        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
                        "client_max_body_size 2000m;", "client_body_buffer_size 128k;",
                        "proxy_connect_timeout 120;"}) {
    EXPECT_TRUE(Has(*text, d)) << d;
  }
  EXPECT_TRUE(Has(*text, "listen 127.0.0.1:8880 default_server;"));
  EXPECT_TRUE(Has(*text, "return 404"));
  EXPECT_TRUE(Has(*text, "listen unix:/tmp/berth-test/nginx/run/control.sock;"));
  EXPECT_TRUE(Has(*text, kGenerationToken));
  EXPECT_FALSE(Has(*text, "load_module"));
  EXPECT_FALSE(Has(*text, "ssl"));  // no certificates configured
  EXPECT_FALSE(Has(*text, "/etc/nginx"));
}

TEST(NginxConfTest, ClassicIpv6UpstreamIsBracketed) {
  Route r{"default", "v6", 30509, 0, {"v6.ctest.localhost"}, "::1"};
  auto text = RenderClassicConf(Opts(), {r});
  ASSERT_TRUE(text);
  EXPECT_TRUE(Has(*text, "set $berth_upstream [::1]:30509;"));
}

TEST(NginxConfTest, LuaConfigHasModulesTableAndNoRoutes) {
  auto text = RenderLuaConf(Opts());
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_TRUE(Has(*text, "load_module /usr/lib/nginx/modules/ndk_http_module.so;"));
  EXPECT_TRUE(Has(*text, "load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;"));
  EXPECT_TRUE(Has(*text, "lua_shared_dict berth_routes"));
  EXPECT_TRUE(Has(*text, "proxy_pass http://$berth_upstream;"));
  EXPECT_TRUE(Has(*text, "pid /tmp/berth-test/nginx/logs/nginx.pid;"));
}

TEST(NginxConfTest, HttpsUpstreamSchemeUsesTheHttpsPort) {
  RouterOptions o = Opts();
  o.https_listen = "127.0.0.1:8443";
  o.tls_cert = std::string(BERTH_SOURCE_DIR) + "/CMakeLists.txt";  // any readable file
  o.tls_key = o.tls_cert;
  o.upstream_scheme = "https";
  auto lua = RenderLuaConf(o);
  ASSERT_TRUE(lua) << lua.error().message;
  EXPECT_TRUE(Has(*lua, "listen 127.0.0.1:8443 ssl default_server;"));
  EXPECT_TRUE(Has(*lua, "local t = d:get(\"s:\" .. ngx.var.host)"));
  EXPECT_TRUE(Has(*lua, "proxy_pass https://$berth_upstream;"));
  Route r{"default", "s", 30001, 30002, {"s.ctest.localhost"}, "10.1.2.3"};
  auto classic = RenderClassicConf(o, {r});
  ASSERT_TRUE(classic);
  EXPECT_TRUE(Has(*classic, "set $berth_upstream 10.1.2.3:30002;"));
  EXPECT_TRUE(Has(*classic, "proxy_pass https://$berth_upstream;"));
}

TEST(NginxConfTest, MissingCertificateIsAnError) {
  RouterOptions o = Opts();
  o.https_listen = "127.0.0.1:8443";
  o.tls_cert = "/nonexistent/cert.pem";
  o.tls_key = "/nonexistent/key.pem";
  EXPECT_FALSE(RenderLuaConf(o));
  EXPECT_FALSE(RenderClassicConf(o, {}));
}

TEST(RouterOptionsTest, ValidatesWhatGoesIntoTheConfig) {
  EXPECT_TRUE(ValidateListen("127.0.0.1:8880"));
  EXPECT_TRUE(ValidateListen("[::1]:8880"));
  EXPECT_TRUE(ValidateListen("8880"));
  EXPECT_TRUE(ValidateListen("*:80"));
  EXPECT_FALSE(ValidateListen("127.0.0.1:8880; evil"));
  EXPECT_FALSE(ValidateListen("localhost:80"));
  EXPECT_FALSE(ValidateListen("127.0.0.1:0"));
  EXPECT_FALSE(ValidateListen("127.0.0.1:65536"));
  EXPECT_FALSE(ValidateListen(""));
  RouterOptions o = Opts();
  EXPECT_TRUE(ValidateRouterOptions(o));
  o.mode = "njs";
  EXPECT_FALSE(ValidateRouterOptions(o));
  o = Opts();
  o.prefix = "/tmp/a b";
  EXPECT_FALSE(ValidateRouterOptions(o));
  o = Opts();
  o.tls_cert = "/x/cert.pem";
  EXPECT_FALSE(ValidateRouterOptions(o));  // key missing
  o.tls_key = "/x/key.pem;";
  o.https_listen = "127.0.0.1:8443";
  EXPECT_FALSE(ValidateRouterOptions(o));
}

TEST(RouteTableTest, BadRecordsAreRejectedOthersKeepWorking) {
  RouteTable t;
  EXPECT_TRUE(t.Put(
      "/devnginx/default/a",
      R"({"name": "a", "http_port": 30001, "https_port": 30002, "domain": "a.ctest.localhost", "host_ip": "127.0.0.1"})"));
  EXPECT_FALSE(t.Put(
      "/devnginx/default/b",
      R"({"name": "b", "http_port": 30001, "https_port": 30002, "domain": "b.ctest.localhost;", "host_ip": "127.0.0.1"})"));
  EXPECT_EQ(t.routes(), 1u);
  ASSERT_EQ(t.rejected().size(), 1u);
  EXPECT_EQ(t.rejected().begin()->first, "/devnginx/default/b");
  auto dirty = t.TakeDirty();
  ASSERT_EQ(dirty.size(), 1u);
  EXPECT_EQ(dirty[0].host, "a.ctest.localhost");
  EXPECT_EQ(dirty[0].http_target, "127.0.0.1:30001");
  EXPECT_EQ(dirty[0].https_target, "127.0.0.1:30002");
  // A once-good route that turns bad stops routing.
  EXPECT_FALSE(t.Put("/devnginx/default/a", R"({"name": "a"})"));
  dirty = t.TakeDirty();
  ASSERT_EQ(dirty.size(), 1u);
  EXPECT_EQ(dirty[0].http_target, "");
}

TEST(RouteTableTest, ADomainBelongsToTheLowerKeyWhenRevisionsAreUnknown) {
  RouteTable t;
  t.Put(
      "/devnginx/default/b",
      R"({"name": "b", "http_port": 2, "https_port": 0, "domain": "shared.x b.x", "host_ip": "127.0.0.1"})");
  t.Put(
      "/devnginx/default/a",
      R"({"name": "a", "http_port": 1, "https_port": 0, "domain": "shared.x", "host_ip": "127.0.0.1"})");
  auto eff = t.Effective();
  ASSERT_EQ(eff.size(), 2u);
  EXPECT_EQ(eff[0].domains, std::vector<std::string>{"shared.x"});
  EXPECT_EQ(eff[1].domains, std::vector<std::string>{"b.x"});
  t.Delete("/devnginx/default/a");
  bool seen = false;
  for (const auto& h : t.TakeDirty()) {
    if (h.host == "shared.x") {
      seen = true;
      EXPECT_EQ(h.http_target, "127.0.0.1:2");
    }
  }
  EXPECT_TRUE(seen);
}

// Two environments never share a domain: the record created first keeps it, whatever the keys,
// through updates of either record and a relist; the other is told it does not have it.
TEST(RouteTableTest, ADomainStaysWithTheFirstClaim) {
  const std::string demo =
      R"({"name": "demo", "http_port": 1, "https_port": 0, "domain": "demo.x", "host_ip": "127.0.0.1"})";
  const std::string thief =
      R"({"name": "aa-x", "http_port": 2, "https_port": 0, "domain": "demo.x aa-x.x", "host_ip": "127.0.0.1"})";
  RouteTable t;
  t.Put("/devnginx/default/demo", demo, 10);
  t.Put("/devnginx/default/aa-x", thief, 20);
  auto check = [&] {
    for (const auto& h : t.AllHosts()) {
      if (h.host == "demo.x") {
        EXPECT_EQ(h.http_target, "127.0.0.1:1");
      }
    }
    EXPECT_EQ(t.DomainsOf("/devnginx/default/demo"), std::vector<std::string>{"demo.x"});
    EXPECT_EQ(t.DomainsOf("/devnginx/default/aa-x"), std::vector<std::string>{"aa-x.x"});
  };
  check();
  EXPECT_GE(t.conflicts(), 1u);
  // The later record is rewritten (a port change): still not its domain.
  t.Put(
      "/devnginx/default/aa-x",
      R"({"name": "aa-x", "http_port": 3, "https_port": 0, "domain": "demo.x aa-x.x", "host_ip": "127.0.0.1"})",
      20);
  check();
  t.Reset({{"/devnginx/default/demo", demo}, {"/devnginx/default/aa-x", thief}},
          {{"/devnginx/default/demo", 10}, {"/devnginx/default/aa-x", 20}});
  check();
  auto eff = t.Effective();
  ASSERT_EQ(eff.size(), 2u);
  EXPECT_EQ(eff[0].name, "aa-x");
  EXPECT_EQ(eff[0].domains, std::vector<std::string>{"aa-x.x"});
  EXPECT_TRUE(t.DomainsOf("/devnginx/default/none").empty());
}

}  // namespace
}  // namespace berth::router
