// Bad REST input through the real `berth serve` (issue 11, items 7 and 10): the bodies that were
// coerced (container_port 4294967376 -> 80, replicas 4294967297 -> 1, 80.5 -> 80, "resources":
// "big" -> defaults, unknown fields inside ports/resources), the memory quantity that was a 500,
// and volume mounts over "/" and /proc, each posted to the API socket as a client would: a 400
// InvalidArgument naming the field, nothing stored, the server still answering.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "net/http_client.h"
#include "support/berth_server.h"
#include "support/podman.h"

namespace berth::testing {
namespace {

using nlohmann::json;

TEST(ApiInput, BadBodiesGetA400NamingTheFieldAndStoreNothing) {
  if (PodmanService::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_PODMAN=1";
  auto podman = PodmanService::Start();
  ASSERT_TRUE(podman) << podman.error().message;
  BerthServerOptions o;
  o.docker_host = (*podman)->docker_host();
  o.router_mode = "off";  // no routes needed: nothing here may be created
  o.default_image = "localhost/berth-none:1";
  auto server = BerthServer::Start(o);
  ASSERT_TRUE(server) << server.error().message;
  auto& srv = **server;

  net::ClientOptions co;
  co.base_url = "http://berth";
  co.unix_socket = srv.socket();
  net::HttpClient client(co);
  auto post = [&](const std::string& path, const std::string& body) {
    net::HttpRequest r;
    r.method = "POST";
    r.path = path;
    r.headers["Content-Type"] = "application/json";
    r.body = body;
    return client.Send(r);
  };

  const std::pair<std::string, std::string> cases[] = {
      {R"({"name":"web","ports":[{"name":"http","container_port":4294967376}]})",
       "ports[0].container_port: 4294967376 is out of range (must be in 1..65535)"},
      {R"({"name":"web","replicas":4294967297})",
       "replicas: 4294967297 is out of range (must be in 0..100)"},
      {R"({"name":"web","ports":[{"name":"http","container_port":80.5}]})",
       "ports[0].container_port: must be an integer in 1..65535, got 80.5"},
      {R"({"name":"web","resources":"big"})", R"(resources: must be a JSON object, got "big")"},
      {R"({"name":"web","ports":[{"name":"http","container_port":80,"hostport":1}]})",
       R"(ports[0]: unknown field "hostport")"},
      {R"({"name":"web","resources":{"limits":{"cpu":"1","gpu":"1"}}})",
       R"(resources.limits: unknown field "gpu")"},
      {R"({"name":"web","resources":{"limits":{"memory":"99999999999999999999"}}})",
       R"(resources.limits.memory: memory quantity "99999999999999999999" is out of range)"},
      {R"({"name":"web","env":{"A":1}})", "env.A: must be a string, got 1"},
      {R"({"name":"web","command":["sh",1]})", "command[1]: must be a string, got 1"},
      {R"({"name":"web","volume_mount":"/"})", "volume mount \"/\" is the root directory"},
      {R"({"name":"web","volume_mount":"/proc"})", "volume mount \"/proc\" is a system directory"},
      {"{\"name\":\"web\",\"image\":\"\xff\"}", "request body is not valid JSON"},
  };
  int i = 0;
  for (const auto& [message_body, message] : cases) {
    // A name per case: on a server that coerces, one stored case must not hide the next.
    std::string body = message_body;
    body.replace(body.find("\"web\""), 5, "\"bad" + std::to_string(i++) + "\"");
    auto r = post("/v1/environments", body);
    ASSERT_TRUE(r) << r.error().message << "\n" << srv.LogTail();
    EXPECT_EQ(r->status, 400) << body << " -> " << r->body << "\n" << srv.LogTail();
    auto j = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r->body;
    auto error = j.value("error", json::object());
    EXPECT_EQ(error.value("code", ""), "InvalidArgument") << r->body;
    EXPECT_NE(error.value("message", "").find(message), std::string::npos)
        << body << "\n  got: " << r->body << "\n want: " << message;
  }

  net::HttpRequest list;
  list.path = "/v1/environments";
  auto l = client.Send(list);
  ASSERT_TRUE(l) << l.error().message;
  ASSERT_EQ(l->status, 200) << l->body;
  EXPECT_TRUE(json::parse(l->body)["items"].empty()) << l->body;

  // The same fields in range are taken exactly as given.
  auto good =
      post("/v1/environments",
           R"({"name":"web","pull_policy":"Never","replicas":0,)"
           R"("ports":[{"name":"http","container_port":8080}],"volume_mount":"/srv/data"})");
  ASSERT_TRUE(good) << good.error().message;
  ASSERT_EQ(good->status, 201) << good->body << "\n" << srv.LogTail();
  auto v = json::parse(good->body);
  EXPECT_EQ(v["spec"]["ports"][0]["container_port"], 8080);
  EXPECT_EQ(v["spec"]["replicas"], 0);
  EXPECT_EQ(v["spec"]["volume_mount"], "/srv/data");
}

}  // namespace
}  // namespace berth::testing
