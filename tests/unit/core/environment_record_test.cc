// The stored spec record: the Kubernetes shape (metadata + spec), read back as it was written,
// the flat form of earlier releases still read, and the status readers show before the
// controller writes one.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <regex>
#include <set>

#include "berth/environment.h"

namespace berth {
namespace {

EnvironmentSpec Sample() {
  EnvironmentSpec s;
  s.ns = "team";
  s.name = "web";
  s.image = "localhost/app:2";
  s.uid = NewUid();
  s.generation = 4;
  s.created_at = "2026-11-30T10:00:00Z";
  s.labels = {{"berth.dev/branch", "feature-x"}};
  s.ports = DefaultPorts();
  s.ports[1].host_port = 31080;
  s.ports[1].auto_assigned = true;
  s.rollback_on_failure = true;
  s.sleeping = true;
  return s;
}

TEST(EnvironmentRecord, MetadataAndSpecAreSeparateParts) {
  auto s = Sample();
  auto j = nlohmann::json::parse(SerializeSpec(s));
  EXPECT_EQ(j["apiVersion"], "berth.dev/v1");
  EXPECT_EQ(j["kind"], "Environment");
  const auto& md = j["metadata"];
  EXPECT_EQ(md["namespace"], "team");
  EXPECT_EQ(md["name"], "web");
  EXPECT_EQ(md["uid"], s.uid);
  EXPECT_EQ(md["generation"], 4);
  EXPECT_EQ(md["createdAt"], "2026-11-30T10:00:00Z");
  EXPECT_EQ(md["labels"]["berth.dev/branch"], "feature-x");
  EXPECT_FALSE(md.contains("deletionTimestamp"));
  EXPECT_FALSE(md.contains("finalizers"));
  for (const char* moved : {"namespace", "name", "uid", "generation", "created_at", "labels",
                            "deleting", "purge", "deletion_timestamp"})
    EXPECT_FALSE(j["spec"].contains(moved)) << moved;
  EXPECT_EQ(j["spec"]["image"], "localhost/app:2");
  EXPECT_TRUE(j["spec"]["rollback_on_failure"]);

  auto back = ParseSpec(SerializeSpec(s));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(nlohmann::json(*back), nlohmann::json(s));
  EXPECT_FALSE(IsFlatSpecRecord(SerializeSpec(s)));
}

TEST(EnvironmentRecord, ADeletionIsATimestampAndAPurgeAFinalizer) {
  auto s = Sample();
  s.deleting = true;
  s.purge = true;
  s.deletion_timestamp = "2026-11-30T11:00:00Z";
  auto j = nlohmann::json::parse(SerializeSpec(s));
  EXPECT_EQ(j["metadata"]["deletionTimestamp"], "2026-11-30T11:00:00Z");
  EXPECT_EQ(j["metadata"]["finalizers"], nlohmann::json::array({kPurgeVolumeFinalizer}));
  auto back = ParseSpec(SerializeSpec(s));
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->deleting);
  EXPECT_TRUE(back->purge);
  EXPECT_EQ(back->deletion_timestamp, "2026-11-30T11:00:00Z");
  // A deletion marked without a time gets one; without purge, no finalizer.
  s.purge = false;
  s.deletion_timestamp.clear();
  auto k = nlohmann::json::parse(SerializeSpec(s));
  EXPECT_FALSE(k["metadata"]["deletionTimestamp"].get<std::string>().empty());
  EXPECT_FALSE(k["metadata"].contains("finalizers"));
  EXPECT_FALSE(ParseSpec(SerializeSpec(s))->purge);
}

TEST(EnvironmentRecord, TheFlatFormOfEarlierReleasesStillReads) {
  const std::string flat =
      R"({"namespace":"team","name":"web","image":"localhost/app:1","generation":2,)"
      R"("deleting":true,"purge":true,"created_at":"2026-11-01T10:00:00Z","labels":{"a":"b"}})";
  EXPECT_TRUE(IsFlatSpecRecord(flat));
  auto s = ParseSpec(flat);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->Key(), "team/web");
  EXPECT_EQ(s->generation, 2);
  EXPECT_TRUE(s->deleting);
  EXPECT_TRUE(s->purge);
  EXPECT_TRUE(s->uid.empty());
  EXPECT_EQ(s->labels.at("a"), "b");
}

TEST(EnvironmentRecord, BrokenRecordsAreErrorsNotCrashes) {
  for (const char* bad : {"", "[]", "3", R"({"metadata":3})", R"({"metadata":{},"spec":[]})",
                          R"({"metadata":{"generation":"x"},"spec":{}})",
                          R"({"metadata":{"finalizers":"x","deletionTimestamp":"t"},"spec":{}})"})
    EXPECT_FALSE(ParseSpec(bad)) << bad;
}

TEST(EnvironmentRecord, UidsAreVersionFourAndDistinct) {
  const std::regex uuid("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    auto u = NewUid();
    EXPECT_TRUE(std::regex_match(u, uuid)) << u;
    seen.insert(u);
  }
  EXPECT_EQ(seen.size(), 200u);
}

TEST(EnvironmentRecord, AcceptedIsWhatReadersShowBeforeTheControllerWrites) {
  auto st = AcceptedStatus(Sample());
  EXPECT_EQ(st.phase, Phase::kPending);
  EXPECT_EQ(st.reason, "Accepted");
  ASSERT_EQ(st.events.size(), 1u);
  EXPECT_EQ(st.events[0].reason, "Accepted");
  EXPECT_EQ(st.events[0].time, "2026-11-30T10:00:00Z");
}

}  // namespace
}  // namespace berth

namespace berth {
namespace {

TEST(EnvKey, ParsesExactlyOneNamespacedName) {
  auto k = EnvKey::Parse("team/web");
  ASSERT_TRUE(k);
  EXPECT_EQ(k->ns, "team");
  EXPECT_EQ(k->name, "web");
  EXPECT_EQ(k->String(), "team/web");
  for (const char* bad : {"", "/", "team", "team/", "/web", "a/b/c", "team//web"})
    EXPECT_FALSE(EnvKey::Parse(bad)) << bad;
  auto r = EnvKey::FromRecordKey("/berth/envs/team/web", "/berth/envs/");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (EnvKey{"team", "web"}));
  EXPECT_FALSE(EnvKey::FromRecordKey("/berth/status/team/web", "/berth/envs/"));
  EXPECT_FALSE(EnvKey::FromRecordKey("/berth/envs/team", "/berth/envs/"));
  EXPECT_FALSE(EnvKey::FromRecordKey("/berth/envs/team/web/x", "/berth/envs/"));
}

}  // namespace
}  // namespace berth

namespace berth {
namespace {

// Found by the store_record fuzz target: a number beyond int64 (read as a double) was cast to
// an integer, undefined behaviour. Records with non-integers where integers belong are errors.
TEST(EnvironmentRecord, IntegersOutOfRangeOrNotIntegersAreErrors) {
  for (const char* bad :
       {R"({"observed_generation": 19223372036854775808})", R"({"observed_generation": 2.5})",
        R"({"observed_generation": "3"})", R"({"ports": {"http": 4294967376}})",
        R"({"ports": {"http": 80.5}})", R"({"ports": [1]})", R"({"events": [{"count": 1e300}]})"})
    EXPECT_FALSE(ParseStatus(bad)) << bad;
  for (const char* bad :
       {R"({"name": "a", "replicas": 4294967297})", R"({"name": "a", "generation": 1e19})",
        R"({"name": "a", "ports": [{"name": "http", "container_port": 80.5}]})",
        R"({"name": "a", "ttl_seconds": -9223372036854775809})",
        R"({"metadata": {"name": "a", "generation": 18446744073709551615}, "spec": {}})"})
    EXPECT_FALSE(ParseSpec(bad)) << bad;
  auto ok = ParseStatus(R"({"observed_generation": 9223372036854775807, "ports": {"http": 80}})");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->observed_generation, INT64_MAX);
  EXPECT_EQ(ok->ports.at("http"), 80);
  EXPECT_TRUE(ParseSpec(R"({"name": "a", "generation": null})"));
}

}  // namespace
}  // namespace berth
