// What the API's cache keeps per environment: the text of its view (decoded again on demand,
// losing nothing) and its `berth list` row, with AGE and EXPIRES made at the time asked.
#include "store/env_cache.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/duration.h"

namespace berth::store {
namespace {

EnvironmentSpec Everything() {
  EnvironmentSpec s;
  s.ns = "team";
  s.name = "web";
  s.image = "localhost/app:2";
  s.release_mode = ReleaseMode::kCode;
  s.reload_command = "kill -HUP 1";
  s.replicas = 2;
  s.ports = DefaultPorts();
  s.ports[0].host_port = 2222;  // pinned by the user
  s.ports[1].host_port = 31080;
  s.ports[1].auto_assigned = true;
  s.resources.cpu_limit = "1";
  s.env = {{"A", "b \"quoted\" \u00e9"}};
  s.labels = {{"berth.dev/branch", "feature-x"}};
  s.command = {"sh", "-c", "exec httpd -f"};
  s.domains = {"web.ctest.localhost", "web.example.test"};
  s.pull_policy = PullPolicy::kIfNotPresent;
  s.volume_mount = "/srv";
  s.branch = "feature/x";
  s.created_at = "2026-11-30T10:00:00Z";
  s.expires_at = "2026-11-30T13:30:00Z";
  s.purge_on_expiry = true;
  s.rollback_on_failure = true;
  s.uid = NewUid();
  s.generation = 7;
  return s;
}

TEST(EnvCacheView, DecodesBackToWhatWasCachedAndItsJsonIsTheApis) {
  EnvStatus st;
  st.phase = Phase::kRunning;
  st.reason = "RuntimeUnavailable";
  st.host_ip = "127.0.0.1";
  st.ports = {{"ssh", 30022}, {"https", 30443}};
  st.routed = true;
  st.observed_generation = 7;
  st.AddEvent("Normal", "Running", "generation 7 running");
  const auto spec = Everything();
  auto v = CachedEnvOf(spec, st, 42);
  EXPECT_EQ(nlohmann::json(v.Spec()), nlohmann::json(spec));
  EXPECT_EQ(nlohmann::json(v.Status()), nlohmann::json(st));
  std::string text;
  v.AppendJson(text);
  EXPECT_EQ(text, EnvJson(spec, st, 42));
  // What a usage round reads, without decoding.
  EXPECT_EQ(v.ns, "team");
  EXPECT_EQ(v.name, "web");
  EXPECT_EQ(v.replicas, 2);
  EXPECT_EQ(v.memory_limit, spec.resources.memory_limit);
  EXPECT_FALSE(v.sleeping);
  EXPECT_FALSE(v.deleting);
  EXPECT_EQ(v.phase, Phase::kRunning);
  EXPECT_TRUE(v.routed);

  // The row: the phase with what it does not say alone, the published port before the pinned
  // one, the first domain.
  EXPECT_EQ(v.row,
            R"x("team","web","Running+routed(RuntimeUnavailable)","127.0.0.1","30022","31080",)x"
            R"x("30443","web.ctest.localhost","localhost/app:2")x");
  const int64_t created = *core::ParseRfc3339Utc(spec.created_at);
  std::string row;
  AppendEnvTableRow(row, v, created + 90);
  EXPECT_EQ(row, "[" + v.row + R"(,"90s","3h28m"])");
  row.clear();
  AppendEnvTableRow(row, v, created + 3 * 86400);  // past its expiry
  EXPECT_EQ(row, "[" + v.row + R"(,"3d","now"])");
  // Every row is a JSON array of strings, whatever the names hold.
  auto cells = nlohmann::json::parse(row);
  ASSERT_EQ(cells.size(), std::size(kEnvTableColumns));
  for (const auto& c : cells) EXPECT_TRUE(c.is_string());
}

TEST(EnvCacheView, NoStatusRecordShowsWhatTheControllerStartsFrom) {
  auto spec = Everything();
  spec.created_at.clear();
  spec.expires_at.clear();
  spec.domains.clear();
  auto v = CachedEnvOf(spec, std::nullopt, 3);
  EXPECT_EQ(v.Status().reason, AcceptedStatus(spec).reason);
  // Before anything is published, the ports the user pinned; "-" for the rest.
  EXPECT_EQ(v.row, R"("team","web","Pending","-","2222","31080","-","-","localhost/app:2")");
  std::string row;
  AppendEnvTableRow(row, v, 1'000'000);
  EXPECT_EQ(row, "[" + v.row + R"(,"-","-"])");
}

}  // namespace
}  // namespace berth::store
