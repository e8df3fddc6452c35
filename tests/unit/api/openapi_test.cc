// docs/openapi.yaml against the server it describes: the file is valid YAML with the OpenAPI
// shape, and every path it documents is one the API answers, with exactly the methods it
// documents (a method nothing answers gets a 405 whose Allow header lists the real ones).
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <set>
#include <string>

#include "api/api_server.h"
#include "util/fs.h"
#include "util/strings.h"

namespace berth::api {
namespace {

std::set<std::string> Methods(const std::string& allow) {
  std::set<std::string> out;
  for (const auto& m : util::Split(allow, ','))
    if (auto t = util::Trim(m); !t.empty() && t != "HEAD") out.insert(t);
  return out;
}

std::string Upper(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

TEST(OpenApiTest, EveryDocumentedPathAndMethodIsWhatTheServerAnswers) {
  YAML::Node doc;
  ASSERT_NO_THROW(doc = YAML::LoadFile(std::string(BERTH_SOURCE_DIR) + "/docs/openapi.yaml"));
  ASSERT_TRUE(doc["openapi"]) << "no openapi version";
  ASSERT_TRUE(doc["paths"].IsMap());

  util::TempDir dir("berth-openapi");
  auto st = store::OpenStore("sqlite://" + dir.path() + "/b.db");
  ASSERT_TRUE(st) << st.error().message;
  Config cfg = DefaultConfig();
  cfg.socket = dir.path() + "/api.sock";
  EnvironmentService service(**st, cfg);
  ApiServer server(service, cfg, nullptr, nullptr);

  size_t checked = 0;
  for (const auto& p : doc["paths"]) {
    const auto path = p.first.as<std::string>();
    std::set<std::string> documented;
    for (const auto& op : p.second) {
      const auto key = op.first.as<std::string>();
      if (key == "parameters") continue;
      ASSERT_TRUE(op.second["responses"]) << path << " " << key << " documents no responses";
      documented.insert(Upper(key));
    }
    std::string concrete = path;
    for (auto [from, to] : {std::pair{"{ns}", "default"}, std::pair{"{name}", "web"}})
      if (auto at = concrete.find(from); at != std::string::npos)
        concrete.replace(at, std::string(from).size(), to);
    net::ServerRequest r;
    r.method = "TRACE";  // answered by no endpoint
    r.path = concrete;
    r.peer = "unix";
    auto resp = server.Handle(r);
    ASSERT_EQ(resp.status, 405) << path
                                << " is documented but the server does not know it: " << resp.body;
    EXPECT_EQ(Methods(resp.headers["Allow"]), documented)
        << path << ": the server allows " << resp.headers["Allow"];
    ++checked;
  }
  EXPECT_GE(checked, 15u);
}

}  // namespace
}  // namespace berth::api
