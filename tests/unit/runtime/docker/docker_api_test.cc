// The Docker Engine API's wire formats, without an engine.
#include "runtime/docker/docker_api.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runtime/docker/docker_client.h"

namespace berth::runtime::docker {
namespace {

using nlohmann::json;

std::string Frame(uint8_t stream, const std::string& payload) {
  std::string f = {static_cast<char>(stream), 0, 0, 0};
  uint32_t n = static_cast<uint32_t>(payload.size());
  f.push_back(static_cast<char>((n >> 24) & 0xff));
  f.push_back(static_cast<char>((n >> 16) & 0xff));
  f.push_back(static_cast<char>((n >> 8) & 0xff));
  f.push_back(static_cast<char>(n & 0xff));
  return f + payload;
}

EnvironmentSpec Spec() {
  EnvironmentSpec s;
  s.ns = "team";
  s.name = "web";
  s.image = "127.0.0.1:5000/berth-test:1";
  s.generation = 3;
  s.ports = {{"ssh", 22, 30022}, {"http", 80, 30080}, {"https", 443, 0}};
  s.env = {{"A", "1"}, {"B", "two words"}};
  s.labels = {{"team", "blue"}};
  return s;
}

TEST(ApiVersion, ParsesAndRejects) {
  auto v = ParseApiVersion("1.43");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->major, 1);
  EXPECT_EQ(v->minor, 43);
  EXPECT_FALSE(ParseApiVersion("1").has_value());
  EXPECT_FALSE(ParseApiVersion("1.x").has_value());
  EXPECT_FALSE(ParseApiVersion(".41").has_value());
  EXPECT_FALSE(ParseApiVersion("1.41.2").has_value());
}

TEST(ApiVersion, NegotiatesTheLowerOfBoth) {
  // A newer Docker: we stay at ours.
  auto newer = NegotiateApiVersion(R"({"ApiVersion":"1.45","MinAPIVersion":"1.24"})");
  ASSERT_TRUE(newer.has_value());
  EXPECT_EQ(newer->ToString(), "1.41");
  // Podman 4.3 answers 1.41.
  auto podman = NegotiateApiVersion(R"({"ApiVersion":"1.41","Version":"4.3.1"})");
  ASSERT_TRUE(podman.has_value());
  EXPECT_EQ(podman->ToString(), "1.41");
  // An older engine within range: we speak its version.
  auto older = NegotiateApiVersion(R"({"ApiVersion":"1.38"})");
  ASSERT_TRUE(older.has_value());
  EXPECT_EQ(older->ToString(), "1.38");
}

TEST(ApiVersion, RefusesTooOldOrMissing) {
  auto old = NegotiateApiVersion(R"({"ApiVersion":"1.24"})");
  ASSERT_FALSE(old.has_value());
  EXPECT_EQ(old.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(old.error().message.find("1.24"), std::string::npos);
  EXPECT_FALSE(NegotiateApiVersion(R"({"Version":"20.10"})").has_value());
  EXPECT_FALSE(NegotiateApiVersion("not json").has_value());
}

TEST(FrameDecoder, SplitsStdoutAndStderrAcrossChunkBoundaries) {
  std::string stream = Frame(1, "out-line\n") + Frame(2, "err-line\n") + Frame(1, "");
  std::vector<std::pair<int, std::string>> got;
  FrameDecoder d;
  // Feed one byte at a time: headers and payloads split anywhere.
  for (char c : stream) {
    ASSERT_TRUE(d.Feed(std::string_view(&c, 1), [&](FrameDecoder::Stream s, std::string_view p) {
      got.emplace_back(s, std::string(p));
      return true;
    }));
  }
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], (std::pair<int, std::string>{1, "out-line\n"}));
  EXPECT_EQ(got[1], (std::pair<int, std::string>{2, "err-line\n"}));
  EXPECT_EQ(got[2], (std::pair<int, std::string>{1, ""}));
  EXPECT_EQ(d.pending(), 0u);
  EXPECT_FALSE(d.corrupt());
}

TEST(FrameDecoder, LargeFrameAndStop) {
  std::string big(70000, 'x');
  std::string stream = Frame(1, big) + Frame(1, "second");
  FrameDecoder d;
  int calls = 0;
  EXPECT_FALSE(d.Feed(stream, [&](FrameDecoder::Stream, std::string_view p) {
    ++calls;
    EXPECT_EQ(p.size(), big.size());
    return false;  // stop after the first
  }));
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(d.corrupt());
}

TEST(FrameDecoder, UnframedInputIsCorrupt) {
  FrameDecoder d;
  bool called = false;
  EXPECT_FALSE(d.Feed(R"({"message":"no such container"})", [&](auto, auto) {
    called = true;
    return true;
  }));
  EXPECT_TRUE(d.corrupt());
  EXPECT_FALSE(called);
}

TEST(PullStream, FindsErrorsInsideA200Stream) {
  // Podman's form.
  auto podman = PullLineError(
      R"({"progressDetail":{},"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"})");
  ASSERT_TRUE(podman.has_value());
  EXPECT_EQ(*podman, "manifest unknown");
  // Only errorDetail.
  auto detail = PullLineError(R"({"errorDetail":{"message":"denied"}})");
  ASSERT_TRUE(detail.has_value());
  EXPECT_EQ(*detail, "denied");
  // Progress lines are not errors.
  EXPECT_FALSE(PullLineError(R"({"status":"Pulling fs layer","progressDetail":{},"id":"abc"})"));
  EXPECT_FALSE(PullLineError(""));
  EXPECT_FALSE(PullLineError("garbage"));
}

TEST(PullStream, ProgressKeepsStepsAndDropsByteCounts) {
  EXPECT_EQ(PullLineProgress(R"({"status":"Pulling fs layer","id":"abc"})"),
            "Pulling fs layer abc");
  EXPECT_EQ(PullLineProgress(R"({"status":"Downloading","progressDetail":{"current":1},"id":"a"})"),
            "");
  EXPECT_EQ(PullLineProgress(R"({"status":"Status: Downloaded newer image for x:1"})"),
            "Status: Downloaded newer image for x:1");
}

TEST(ImageRef, SplitsRepositoryTagAndDigest) {
  auto a = SplitImageRef("127.0.0.1:5000/team/app:v2");
  EXPECT_EQ(a.from_image, "127.0.0.1:5000/team/app");
  EXPECT_EQ(a.tag, "v2");
  auto b = SplitImageRef("127.0.0.1:5000/team/app");
  EXPECT_EQ(b.from_image, "127.0.0.1:5000/team/app");
  EXPECT_EQ(b.tag, "latest");
  auto c = SplitImageRef("busybox@sha256:0123");
  EXPECT_EQ(c.from_image, "busybox");
  EXPECT_EQ(c.tag, "sha256:0123");
  auto d = SplitImageRef("busybox");
  EXPECT_EQ(d.tag, "latest");
}

TEST(ContainerName, IsOneToOne) {
  EXPECT_EQ(ContainerName("default", "web"), "berth-default.web");
  // Namespaces and names may contain '-', never '.': "a-b"/"c" and "a"/"b-c" differ.
  EXPECT_NE(ContainerName("a-b", "c"), ContainerName("a", "b-c"));
}

TEST(ContainerName, ParsesBackWhatItMade) {
  auto p = ParseContainerName(ContainerName("team-a", "web-1"));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->first, "team-a");
  EXPECT_EQ(p->second, "web-1");
  EXPECT_FALSE(ParseContainerName("other-default.web"));
  EXPECT_FALSE(ParseContainerName("berth-nodot"));
  EXPECT_FALSE(ParseContainerName(""));
}

TEST(CreateBody, CarriesEverythingTheSpecAsks) {
  VolumeMount vol{VolumeMount::Kind::kBind, "/var/lib/berth/volumes/team/web", "/apps"};
  auto body = BuildCreateBody(Spec(), vol, {"127.0.0.1", "berthnet"});
  ASSERT_TRUE(body.has_value()) << body.error().message;
  const json& b = *body;
  EXPECT_EQ(b["Image"], "127.0.0.1:5000/berth-test:1");
  EXPECT_EQ(b["Labels"]["app.kubernetes.io/managed-by"], "berth");
  EXPECT_EQ(b["Labels"]["berth.dev/namespace"], "team");
  EXPECT_EQ(b["Labels"]["berth.dev/name"], "web");
  EXPECT_EQ(b["Labels"]["berth.dev/generation"], "3");
  EXPECT_EQ(b["Labels"]["team"], "blue");
  EXPECT_EQ(b["Env"], json({"A=1", "B=two words"}));
  EXPECT_FALSE(b.contains("Entrypoint"));
  EXPECT_TRUE(b["ExposedPorts"].contains("22/tcp"));
  EXPECT_TRUE(b["ExposedPorts"].contains("80/tcp"));
  EXPECT_TRUE(b["ExposedPorts"].contains("443/tcp"));
  const json& h = b["HostConfig"];
  EXPECT_EQ(h["PortBindings"]["80/tcp"][0]["HostIp"], "127.0.0.1");
  EXPECT_EQ(h["PortBindings"]["80/tcp"][0]["HostPort"], "30080");
  EXPECT_EQ(h["PortBindings"]["443/tcp"][0]["HostPort"], "");  // engine picks
  EXPECT_EQ(h["NanoCpus"], 500000000);                         // 500m
  EXPECT_EQ(h["Memory"], 2000LL * 1024 * 1024);                // 2000Mi
  EXPECT_EQ(h["MemoryReservation"], 100LL * 1024 * 1024);      // 100Mi
  EXPECT_EQ(h["CpuShares"], 10);                               // 10m of 1024
  EXPECT_EQ(h["RestartPolicy"]["Name"], "unless-stopped");
  EXPECT_EQ(h["NetworkMode"], "berthnet");
  ASSERT_EQ(h["Mounts"].size(), 1u);
  EXPECT_EQ(h["Mounts"][0]["Type"], "bind");
  EXPECT_EQ(h["Mounts"][0]["Source"], "/var/lib/berth/volumes/team/web");
  EXPECT_EQ(h["Mounts"][0]["Target"], "/apps");
}

TEST(CreateBody, CommandReplacesTheEntrypointAndOwnLabelsWin) {
  auto spec = Spec();
  spec.command = {"/bin/sh", "-c", "echo hi"};
  spec.labels["berth.dev/generation"] = "999";  // a user cannot forge ownership labels
  auto body = BuildCreateBody(spec, {}, {"127.0.0.1", ""});
  ASSERT_TRUE(body.has_value());
  EXPECT_EQ((*body)["Entrypoint"], json({"/bin/sh", "-c", "echo hi"}));
  EXPECT_EQ((*body)["Labels"]["berth.dev/generation"], "3");
  EXPECT_FALSE((*body)["HostConfig"].contains("Mounts"));
  EXPECT_FALSE((*body)["HostConfig"].contains("NetworkMode"));
}

TEST(CreateBody, CarriesTheInstallationAndNoUserCanForgeIt) {
  auto spec = Spec();
  spec.labels["berth.dev/installation"] = "ffffffffffffffff";
  auto body = BuildCreateBody(spec, {}, {"127.0.0.1", "", "0123456789abcdef"});
  ASSERT_TRUE(body.has_value());
  EXPECT_EQ((*body)["Labels"]["berth.dev/installation"], "0123456789abcdef");
  EXPECT_EQ(InstallationOf((*body)["Labels"]), "0123456789abcdef");
  auto none = BuildCreateBody(Spec(), {}, {"127.0.0.1", ""});
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE((*none)["Labels"].contains("berth.dev/installation"));
}

TEST(CreateBody, RejectsBadVolumesAndQuantities) {
  auto spec = Spec();
  EXPECT_FALSE(BuildCreateBody(spec, {VolumeMount::Kind::kBind, "relative/dir", "/apps"}, {}));
  EXPECT_FALSE(BuildCreateBody(spec, {VolumeMount::Kind::kBind, "/a/../etc", "/apps"}, {}));
  EXPECT_FALSE(BuildCreateBody(spec, {VolumeMount::Kind::kBind, "/a:/etc", "/apps"}, {}));
  EXPECT_FALSE(BuildCreateBody(spec, {VolumeMount::Kind::kClaim, "pvc-web", "/apps"}, {}));
  spec.resources.memory_limit = "lots";
  auto bad = BuildCreateBody(spec, {}, {});
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message.find("memory limit"), std::string::npos);
}

json Inspect(const std::string& status, int exit_code, int restarts, bool oom = false,
             const std::string& started = "2026-11-26T10:00:00.123456789Z") {
  return json{
      {"Id", "abc123"},
      {"RestartCount", restarts},
      {"Config",
       {{"Labels", {{"berth.dev/generation", "3"}, {"app.kubernetes.io/managed-by", "berth"}}}}},
      {"State",
       {{"Status", status},
        {"Running", status == "running"},
        {"Restarting", status == "restarting"},
        {"OOMKilled", oom},
        {"ExitCode", exit_code},
        {"Error", ""},
        {"StartedAt", started}}},
      {"NetworkSettings",
       {{"Ports",
         {{"80/tcp", {{{"HostIp", "127.0.0.1"}, {"HostPort", "30080"}}}},
          {"22/tcp", {{{"HostIp", "127.0.0.1"}, {"HostPort", "30022"}}}},
          {"443/tcp", nullptr}}}}}};
}

TEST(StatusFromInspect, RunningWithPorts) {
  auto t0 = ParseEngineTime("2026-11-26T10:00:00Z");
  ASSERT_TRUE(t0.has_value());
  auto st = StatusFromInspect(Inspect("running", 0, 0), Spec(), "127.0.0.1", *t0 + 5);
  EXPECT_TRUE(st.exists);
  EXPECT_EQ(st.phase, Phase::kRunning);
  EXPECT_EQ(st.id, "abc123");
  EXPECT_EQ(st.generation, 3);
  EXPECT_EQ(st.host_ip, "127.0.0.1");
  EXPECT_EQ(st.ports.at("http"), 30080);
  EXPECT_EQ(st.ports.at("ssh"), 30022);
  EXPECT_EQ(st.ports.count("https"), 0u);
}

TEST(StatusFromInspect, ExitedAndOomKilledAreFailed) {
  auto t0 = *ParseEngineTime("2026-11-26T10:00:00Z");
  auto exited = StatusFromInspect(Inspect("exited", 3, 0), Spec(), "127.0.0.1", t0);
  EXPECT_EQ(exited.phase, Phase::kFailed);
  EXPECT_EQ(exited.reason, "Exited(3)");
  auto podman = StatusFromInspect(Inspect("stopped", 1, 0), Spec(), "127.0.0.1", t0);
  EXPECT_EQ(podman.phase, Phase::kFailed);
  EXPECT_EQ(podman.reason, "Exited(1)");
  auto oom = StatusFromInspect(Inspect("exited", 137, 0, true), Spec(), "127.0.0.1", t0);
  EXPECT_EQ(oom.reason, "OOMKilled");
  auto created = StatusFromInspect(Inspect("created", 0, 0), Spec(), "127.0.0.1", t0);
  EXPECT_EQ(created.phase, Phase::kPending);
}

// A container stopped while its environment sleeps is Sleeping (even just after the stop), not
// a failure to repair; the same container without `sleeping` in the spec is one.
TEST(StatusFromInspect, AStoppedContainerOfASleepingSpecIsSleeping) {
  auto t0 = *ParseEngineTime("2026-11-26T10:00:00Z");
  auto spec = Spec();
  spec.sleeping = true;
  for (const char* state : {"exited", "stopped", "created"}) {
    auto j = Inspect(state, 143, 0);
    j["State"]["FinishedAt"] = "2026-11-26T10:00:00.25Z";
    auto st = StatusFromInspect(j, spec, "127.0.0.1", t0 + 1);
    EXPECT_EQ(st.phase, Phase::kSleeping) << state;
    EXPECT_EQ(st.reason, "Sleeping") << state;
  }
  EXPECT_EQ(StatusFromInspect(Inspect("running", 0, 0), spec, "127.0.0.1", t0).phase,
            Phase::kRunning);  // still to be stopped
  EXPECT_EQ(StatusFromInspect(Inspect("exited", 0, 0), Spec(), "127.0.0.1", t0).phase,
            Phase::kFailed);
}

// Just after an exit the engine is still at work (a restart policy, someone's rm -f): the
// container reads as Pending "Exiting", so the controller waits instead of starting it.
TEST(StatusFromInspect, AFreshExitOrAStopInProgressIsPending) {
  auto t0 = *ParseEngineTime("2026-11-26T10:00:00Z");
  auto j = Inspect("exited", 137, 0);
  j["State"]["FinishedAt"] = "2026-11-26T10:00:00.25Z";
  auto fresh = StatusFromInspect(j, Spec(), "127.0.0.1", t0 + 1);
  EXPECT_EQ(fresh.phase, Phase::kPending);
  EXPECT_EQ(fresh.reason, "Exiting");
  EXPECT_NE(fresh.message.find("Exited(137)"), std::string::npos) << fresh.message;
  auto ahead = StatusFromInspect(j, Spec(), "127.0.0.1", t0 - 1);  // engine clock a bit ahead
  EXPECT_EQ(ahead.phase, Phase::kPending);
  auto settled = StatusFromInspect(j, Spec(), "127.0.0.1", t0 + kExitSettleSeconds);
  EXPECT_EQ(settled.phase, Phase::kFailed);
  EXPECT_EQ(settled.reason, "Exited(137)");
  auto skewed = StatusFromInspect(j, Spec(), "127.0.0.1", t0 - 3600);  // far off: not waited on
  EXPECT_EQ(skewed.phase, Phase::kFailed);
  auto stopping = StatusFromInspect(Inspect("stopping", 0, 0), Spec(), "127.0.0.1", t0);
  EXPECT_EQ(stopping.phase, Phase::kPending);
  EXPECT_EQ(stopping.reason, "Exiting");
}

TEST(StatusFromInspect, CrashLoopIsFailedButAnOldRestartIsNot) {
  auto t0 = *ParseEngineTime("2026-11-26T10:00:00Z");
  auto looping = StatusFromInspect(Inspect("running", 0, 7), Spec(), "127.0.0.1", t0 + 1);
  EXPECT_EQ(looping.phase, Phase::kFailed);
  EXPECT_EQ(looping.reason, "CrashLoop");
  auto restarting = StatusFromInspect(Inspect("restarting", 2, 1), Spec(), "127.0.0.1", t0 + 1);
  EXPECT_EQ(restarting.phase, Phase::kFailed);
  // Restarted long ago and running since: healthy.
  auto settled = StatusFromInspect(Inspect("running", 0, 7), Spec(), "127.0.0.1", t0 + 3600);
  EXPECT_EQ(settled.phase, Phase::kRunning);
}

TEST(EngineTime, ParsesFractionsOffsetsAndZero) {
  EXPECT_EQ(ParseEngineTime("1970-01-01T00:01:00Z"), std::optional<std::time_t>(60));
  EXPECT_EQ(ParseEngineTime("1970-01-01T01:01:00.5+01:00"), std::optional<std::time_t>(60));
  EXPECT_FALSE(ParseEngineTime("0001-01-01T00:00:00Z").has_value());
  EXPECT_FALSE(ParseEngineTime("yesterday").has_value());
}

TEST(Errors, MapsEngineAnswers) {
  auto nf = ErrorFromResponse(404, R"({"message":"No such container: x"})", "container x");
  EXPECT_EQ(nf.code, ErrorCode::kNotFound);
  EXPECT_EQ(nf.message, "container x: No such container: x");
  EXPECT_EQ(
      ErrorFromResponse(409, R"({"message":"Conflict. The container name is already in use"})", "c")
          .code,
      ErrorCode::kAlreadyExists);
  // Podman's duplicate name.
  EXPECT_EQ(
      ErrorFromResponse(
          500,
          R"({"cause":"that name is already in use","message":"creating container storage: the container name \"x\" is already in use by 1","response":500})",
          "c")
          .code,
      ErrorCode::kAlreadyExists);
  EXPECT_EQ(ErrorFromResponse(500, R"({"message":"something else"})", "c").code,
            ErrorCode::kInternal);
  EXPECT_EQ(ErrorFromResponse(400, "plain text", "c").message, "c: plain text");
}

TEST(DockerHost, ResolvesSchemes) {
  auto unix_ep = ResolveDockerHost("unix:///run/podman/podman.sock");
  ASSERT_TRUE(unix_ep.has_value());
  EXPECT_EQ(unix_ep->unix_socket, "/run/podman/podman.sock");
  auto tcp = ResolveDockerHost("tcp://127.0.0.1:2375");
  ASSERT_TRUE(tcp.has_value());
  EXPECT_EQ(tcp->base_url, "http://127.0.0.1:2375");
  EXPECT_TRUE(tcp->unix_socket.empty());
  EXPECT_FALSE(ResolveDockerHost("unix://relative.sock").has_value());
  EXPECT_FALSE(ResolveDockerHost("ssh://host").has_value());
  EXPECT_FALSE(ResolveDockerHost("tcp://host:1/path?x").has_value());
}

TEST(DockerClient, ConnectionRefusedNamesTheSocket) {
  DockerClient c(*ResolveDockerHost("unix:///nonexistent/berth-test/docker.sock"));
  auto v = c.Version();
  ASSERT_FALSE(v.has_value());
  EXPECT_EQ(v.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(v.error().message.find("unix:///nonexistent/berth-test/docker.sock"), std::string::npos)
      << v.error().message;
}

TEST(PathEscape, KeepsReferenceCharacters) {
  EXPECT_EQ(PathEscape("127.0.0.1:5000/a/b:1"), "127.0.0.1:5000/a/b:1");
  EXPECT_EQ(PathEscape("a b?c#"), "a%20b%3Fc%23");
}

}  // namespace
}  // namespace berth::runtime::docker
