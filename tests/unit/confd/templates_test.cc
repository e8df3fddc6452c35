// Whole templates of the shapes confd's documentation shows, and the original platform's nginx
// template over /devnginx/default/* route records.
#include <gtest/gtest.h>

#include "confd/funcs.h"
#include "confd/memkv.h"
#include "util/fs.h"

namespace berth::confd {
namespace {

std::string Render(const KVStore& kv, std::string_view text, const std::string& name = "t.tmpl") {
  auto t = tmpl::Template::Parse(name, text, ConfdFuncs(&kv));
  if (!t) return "PARSE: " + t.error().message;
  auto out = t->Render(tmpl::Value());
  if (!out) return "EXEC: " + out.error().message;
  return *out;
}

// confd docs/templates.md "Example Usage".
TEST(ConfdDocTemplates, NginxUpstreamExample) {
  KVStore kv;
  kv.Set("/nginx/domain", "example.com");
  kv.Set("/nginx/root", "/var/www/example_dotcom");
  kv.Set("/nginx/worker_processes", "2");
  kv.Set("/app/upstream/app1", "10.0.1.100:80");
  kv.Set("/app/upstream/app2", "10.0.1.101:80");
  const char* tpl = R"(worker_processes {{getv "/nginx/worker_processes"}};

upstream app {
{{range getvs "/app/upstream/*"}}
    server {{.}};
{{end}}
}

server {
    listen 80;
    server_name www.{{getv "/nginx/domain"}};
    access_log /var/log/nginx/{{getv "/nginx/domain"}}.access.log;
    error_log /var/log/nginx/{{getv "/nginx/domain"}}.log;

    location / {
        root              {{getv "/nginx/root"}};
        proxy_pass        http://app;
    }
}
)";
  EXPECT_EQ(Render(kv, tpl), R"(worker_processes 2;

upstream app {

    server 10.0.1.100:80;

    server 10.0.1.101:80;

}

server {
    listen 80;
    server_name www.example.com;
    access_log /var/log/nginx/example.com.access.log;
    error_log /var/log/nginx/example.com.log;

    location / {
        root              /var/www/example_dotcom;
        proxy_pass        http://app;
    }
}
)");
}

// confd docs/templates.md "Complex example": lsdir, printf, gets, json, nested range.
TEST(ConfdDocTemplates, NestedIterationWithLsdir) {
  KVStore kv;
  kv.Set("/services/web/cust1/2", R"({"IP": "10.0.0.2"})");
  kv.Set("/services/web/cust2/2", R"({"IP": "10.0.0.4"})");
  kv.Set("/services/web/cust2/1", R"({"IP": "10.0.0.3"})");
  kv.Set("/services/web/cust1/1", R"({"IP": "10.0.0.1"})");
  const char* tpl = R"({{range $dir := lsdir "/services/web"}}
upstream {{base $dir}} {
    {{$custdir := printf "/services/web/%s/*" $dir}}{{range gets $custdir}}
    server {{$data := json .Value}}{{$data.IP}}:80;
    {{end}}
}

server {
    server_name {{base $dir}}.example.com;
    location / {
        proxy_pass {{base $dir}};
    }
}
{{end}})";
  std::string out = Render(kv, tpl);
  EXPECT_EQ(out, R"(
upstream cust1 {
    
    server 10.0.0.1:80;
    
    server 10.0.0.2:80;
    
}

server {
    server_name cust1.example.com;
    location / {
        proxy_pass cust1;
    }
}

upstream cust2 {
    
    server 10.0.0.3:80;
    
    server 10.0.0.4:80;
    
}

server {
    server_name cust2.example.com;
    location / {
        proxy_pass cust2;
    }
}
)");
}

// confd docs: "{{range gets "/services/zookeeper/*"}}{{$data := json .Value}}".
TEST(ConfdDocTemplates, ZookeeperJsonValues) {
  KVStore kv;
  kv.Set("/services/zookeeper/host1", R"({"Id":"host1", "IP":"192.168.10.11"})");
  kv.Set("/services/zookeeper/host2", R"({"Id":"host2", "IP":"192.168.10.12"})");
  const char* tpl = R"({{range gets "/services/zookeeper/*"}}
{{- $data := json .Value}}
  id: {{$data.Id}}
  ip: {{$data.IP}}
{{- end}}
{{$url := split "db.local:5432" ":"}}host: {{index $url 0}} port: {{index $url 1}}
{{define "ep"}}{{.name}}:{{.port}}{{end}}{{template "ep" map "name" "es" "port" 9200}})";
  EXPECT_EQ(Render(kv, tpl), R"(
  id: host1
  ip: 192.168.10.11
  id: host2
  ip: 192.168.10.12
host: db.local port: 5432
es:9200)");
}

std::string RouteJson(const std::string& name, int http, int https, const std::string& ip) {
  return R"({"name": ")" + name + R"(", "http_port": )" + std::to_string(http) +
         R"(, "https_port": )" + std::to_string(https) + R"(, "domain": ")" + name +
         ".ctest.a.com " + name + R"(.ctest.b.com", "host_ip": ")" + ip + R"("})";
}

// The original platform's routing: every /devnginx/default/<name> JSON record becomes an
// upstream and server blocks (BRIEF.md "Routing: confd + nginx").
TEST(OriginalPlatformTemplate, RendersDevnginxRoutes) {
  auto text =
      util::ReadFile(std::string(BERTH_SOURCE_DIR) + "/tests/unit/confd/testdata/service.conf.tpl");
  ASSERT_TRUE(text.has_value()) << text.error().message;
  KVStore kv;
  kv.Set("/devnginx/default/beta-tianxiao100-m",
         RouteJson("beta-tianxiao100-m", 30879, 30509, "172.21.133.12"));
  kv.Set("/devnginx/default/test-txcc", RouteJson("test-txcc", 31153, 30269, "172.21.133.12"));
  kv.Set("/devnginx/other/ignored", RouteJson("ignored", 1, 2, "10.0.0.1"));
  std::string out = Render(kv, *text, "service.conf.tpl");
  EXPECT_EQ(out.find("PARSE"), std::string::npos) << out;
  EXPECT_EQ(out.find("EXEC"), std::string::npos) << out;
  const char* expected_first = R"(# Generated by confd from /devnginx/default. Do not edit.
upstream beta-tianxiao100-m {
    server 172.21.133.12:30509;
}
server {
    listen 443;
    server_name beta-tianxiao100-m.ctest.a.com beta-tianxiao100-m.ctest.b.com;
    ssl_certificate /etc/nginx/ssl/cert.pem;
    ssl_certificate_key /etc/nginx/ssl/key.pem;
    access_log /apps/log/nginx/k8s.access.log main;
    error_log /apps/log/nginx/k8s.error.log;
    location / {
        proxy_cache off;
        proxy_pass http://beta-tianxiao100-m;
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        client_max_body_size 2000m;
        client_body_buffer_size 128k;
        proxy_connect_timeout 120;
    }
}
upstream beta-tianxiao100-m-http {
    server 172.21.133.12:30879;
}
server {
    listen 80;
    server_name beta-tianxiao100-m.ctest.a.com beta-tianxiao100-m.ctest.b.com;
    location / {
        proxy_pass http://beta-tianxiao100-m-http;
        proxy_set_header Host $host;
    }
}
upstream test-txcc {
    server 172.21.133.12:30269;
})";
  EXPECT_EQ(out.substr(0, std::string(expected_first).size()), expected_first);
  EXPECT_EQ(out.find("ignored"), std::string::npos);
  EXPECT_EQ(out.substr(out.size() - 2), "}\n");
}

TEST(OriginalPlatformTemplate, BadRecordNamesTheTemplateLine) {
  auto text =
      util::ReadFile(std::string(BERTH_SOURCE_DIR) + "/tests/unit/confd/testdata/service.conf.tpl");
  ASSERT_TRUE(text.has_value());
  KVStore kv;
  kv.Set("/devnginx/default/broken", "{not json");
  std::string out = Render(kv, *text, "service.conf.tpl");
  EXPECT_EQ(out.rfind("EXEC: service.conf.tpl:3: executing \"service.conf.tpl\" at <json .>: "
                      "error calling json: ",
                      0),
            0u)
      << out;
}

TEST(OriginalPlatformTemplate, UnknownFunctionFailsAtParseWithFileAndLine) {
  KVStore kv;
  EXPECT_EQ(Render(kv, "upstream x {\n  server {{getvx \"/a\"}};\n}", "service.conf.tpl"),
            "PARSE: service.conf.tpl:2: function \"getvx\" not defined");
}

}  // namespace
}  // namespace berth::confd
