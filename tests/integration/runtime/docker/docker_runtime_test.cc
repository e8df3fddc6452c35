// DockerRuntime against a real Podman (the Docker API compat service) with a real registry:
// nothing here is faked. One Podman, registry and test image serve the whole binary.
#include "runtime/docker/docker_runtime.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <set>
#include <thread>

#include "berth/config.h"
#include "berth/validate.h"
#include "net/http_client.h"
#include "support/images.h"
#include "support/podman.h"
#include "support/ports.h"
#include "support/registry.h"
#include "util/fs.h"
#include "util/strings.h"

namespace berth::runtime::docker {
namespace {

using berth::testing::BuildTestImage;
using berth::testing::PodmanOptions;
using berth::testing::PodmanService;
using berth::testing::PortHolder;
using berth::testing::Registry;
using nlohmann::json;
using std::chrono::seconds;

// Polls `pred` until it holds; the limit only bounds a broken run, it asserts no speed.
bool Eventually(const std::function<bool()>& pred, seconds limit = seconds(90)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return pred();
}

// GET http://127.0.0.1:<port><path>; "" on any failure.
std::string HttpGet(int port, const std::string& path) {
  net::ClientOptions o;
  o.base_url = "http://127.0.0.1:" + std::to_string(port);
  o.timeout = std::chrono::milliseconds(5000);
  net::HttpClient http(o);
  net::HttpRequest req;
  req.path = path;
  auto r = http.Send(req);
  return r && r->status == 200 ? r->body : "";
}

class DockerRuntimeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (PodmanService::SkipRequested()) return;
    auto reg = Registry::Start();
    if (!reg) {
      setup_error_ = "registry: " + reg.error().message;
      return;
    }
    registry_ = std::move(*reg);
    PodmanOptions opts;
    opts.insecure_registries = {registry_->address()};
    auto p = PodmanService::Start(opts);
    if (!p) {
      setup_error_ = "podman: " + p.error().message;
      return;
    }
    podman_ = std::move(*p);
    auto img = BuildTestImage(*podman_, "berth-test:1", registry_.get());
    if (!img) {
      setup_error_ = "test image: " + img.error().message;
      return;
    }
    image_ = *img;
  }

  static void TearDownTestSuite() {
    podman_.reset();  // removes every container, stops the service
    registry_.reset();
  }

  void SetUp() override {
    if (PodmanService::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_PODMAN=1";
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
    Config c;
    c.docker_host = podman_->docker_host();
    c.host_ip = "127.0.0.1";
    auto rt = MakeDockerRuntime(c);
    ASSERT_TRUE(rt.has_value()) << rt.error().message;
    runtime_ = std::move(*rt);
    docker_ = dynamic_cast<DockerRuntime*>(runtime_.get());
    ASSERT_NE(docker_, nullptr);
  }

  // A spec with its own http port and a volume dir holding `content` as index.html.
  EnvironmentSpec MakeSpec(const std::string& name, const std::string& content = "") {
    EnvironmentSpec s;
    s.ns = "itest";
    s.name = name;
    s.image = image_;
    s.pull_policy = PullPolicy::kAlways;
    int port = berth::testing::FreeLoopbackPort();
    EXPECT_GT(port, 0);
    s.ports = {{"http", 80, port}};
    std::string dir = podman_->dir() + "/volumes/" + name;
    EXPECT_TRUE(util::MakeDirs(dir).has_value());
    if (!content.empty()) {
      EXPECT_TRUE(util::WriteFileAtomic(dir + "/index.html", content).has_value());
    }
    volume_ = VolumeMount{VolumeMount::Kind::kBind, dir, "/apps"};
    return s;
  }

  static void ExpectRemoved(Runtime& rt, const EnvironmentSpec& s) {
    auto r = rt.Remove(s.ns, s.name);
    EXPECT_TRUE(r.has_value()) << r.error().message;
  }

  WorkloadStatus MustInspect(const EnvironmentSpec& s) {
    auto st = runtime_->Inspect(s);
    EXPECT_TRUE(st.has_value()) << st.error().message;
    return st ? *st : WorkloadStatus{};
  }

  // Containers (any, labelled or not) whose name is exactly `name`, per the podman CLI.
  int CountNamed(const std::string& name) {
    auto out =
        podman_->PodmanOk({"ps", "-a", "--filter", "name=^" + name + "$", "--format", "{{.ID}}"});
    EXPECT_TRUE(out.has_value()) << out.error().message;
    return out ? static_cast<int>(util::Split(*out, '\n').size()) : -1;
  }

  static inline std::unique_ptr<Registry> registry_;
  static inline std::unique_ptr<PodmanService> podman_;
  static inline std::string image_;
  static inline std::string setup_error_;

  std::unique_ptr<Runtime> runtime_;
  DockerRuntime* docker_ = nullptr;
  VolumeMount volume_;
};

TEST_F(DockerRuntimeTest, NegotiatesTheApiVersionWithPodman) {
  auto v = docker_->client().Negotiate();
  ASSERT_TRUE(v.has_value()) << v.error().message;
  EXPECT_EQ(v->ToString(), "1.41");
}

TEST_F(DockerRuntimeTest, ApplyRunsTheContainerAndServesTheVolume) {
  auto spec = MakeSpec("serve", "hello from the volume\n");
  std::vector<std::string> steps;
  auto s = runtime_->Apply(spec, volume_, [&](const std::string& m) { steps.push_back(m); });
  ASSERT_TRUE(s.has_value()) << s.error().message;
  auto st = MustInspect(spec);
  EXPECT_TRUE(st.exists);
  EXPECT_EQ(st.phase, Phase::kRunning) << st.reason << " " << st.message;
  EXPECT_EQ(st.generation, 1);
  EXPECT_EQ(st.host_ip, "127.0.0.1");
  EXPECT_EQ(st.ports["http"], spec.ports[0].host_port);
  EXPECT_TRUE(Eventually([&] { return HttpGet(spec.ports[0].host_port, "/index.html") != ""; }));
  EXPECT_EQ(HttpGet(spec.ports[0].host_port, "/index.html"), "hello from the volume\n");
  // The steps were reported: pull, create, start.
  std::string all = util::Join(steps, "|");
  EXPECT_NE(all.find("Pulling image"), std::string::npos) << all;
  EXPECT_NE(all.find("Creating container"), std::string::npos) << all;
  ExpectRemoved(*runtime_, spec);
}

TEST_F(DockerRuntimeTest, ApplyAgainWithTheSameGenerationKeepsTheContainer) {
  auto spec = MakeSpec("idem", "x\n");
  ASSERT_TRUE(runtime_->Apply(spec, volume_, nullptr).has_value());
  auto first = MustInspect(spec);
  std::vector<std::string> steps;
  auto again = runtime_->Apply(spec, volume_, [&](const std::string& m) { steps.push_back(m); });
  ASSERT_TRUE(again.has_value()) << again.error().message;
  auto second = MustInspect(spec);
  EXPECT_EQ(first.id, second.id);
  EXPECT_TRUE(steps.empty()) << util::Join(steps, "|");
  EXPECT_EQ(CountNamed(ContainerName(spec.ns, spec.name)), 1);
  ExpectRemoved(*runtime_, spec);
}

TEST_F(DockerRuntimeTest, NewGenerationReplacesTheContainerAndKeepsTheData) {
  auto spec = MakeSpec("rebuild", "data survives\n");
  ASSERT_TRUE(runtime_->Apply(spec, volume_, nullptr).has_value());
  auto old = MustInspect(spec);
  spec.generation = 2;
  auto s = runtime_->Apply(spec, volume_, nullptr);
  ASSERT_TRUE(s.has_value()) << s.error().message;
  auto now = MustInspect(spec);
  EXPECT_NE(old.id, now.id);
  EXPECT_EQ(now.generation, 2);
  EXPECT_EQ(now.phase, Phase::kRunning);
  auto gone = docker_->client().InspectContainer(old.id);
  ASSERT_FALSE(gone.has_value());
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(Eventually([&] { return HttpGet(spec.ports[0].host_port, "/index.html") != ""; }));
  EXPECT_EQ(HttpGet(spec.ports[0].host_port, "/index.html"), "data survives\n");
  EXPECT_EQ(CountNamed(ContainerName(spec.ns, spec.name)), 1);
  ExpectRemoved(*runtime_, spec);
}

TEST_F(DockerRuntimeTest, MissingImageFailsAndLeavesNoContainer) {
  auto spec = MakeSpec("noimage");
  spec.image = registry_->address() + "/does-not-exist:1";
  auto s = runtime_->Apply(spec, volume_, nullptr);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kFailed);
  EXPECT_NE(s.error().message.find("image not found"), std::string::npos) << s.error().message;
  EXPECT_FALSE(MustInspect(spec).exists);
  EXPECT_EQ(CountNamed(ContainerName(spec.ns, spec.name)), 0);

  // Never: an image that is not present is a failure too, without any pull.
  spec.pull_policy = PullPolicy::kNever;
  auto never = runtime_->Apply(spec, volume_, nullptr);
  ASSERT_FALSE(never.has_value());
  EXPECT_EQ(never.error().code, ErrorCode::kFailed);
  EXPECT_EQ(CountNamed(ContainerName(spec.ns, spec.name)), 0);
}

TEST_F(DockerRuntimeTest, RebuildWithAMissingImageKeepsTheOldContainer) {
  auto spec = MakeSpec("keepold", "old\n");
  ASSERT_TRUE(runtime_->Apply(spec, volume_, nullptr).has_value());
  auto old = MustInspect(spec);
  spec.generation = 2;
  spec.image = registry_->address() + "/does-not-exist:2";
  auto s = runtime_->Apply(spec, volume_, nullptr);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kFailed);
  auto still = MustInspect(spec);
  EXPECT_EQ(still.id, old.id);
  EXPECT_EQ(still.generation, 1);
  ExpectRemoved(*runtime_, spec);
}

TEST_F(DockerRuntimeTest, IfNotPresentUsesTheLocalImage) {
  auto spec = MakeSpec("local", "local\n");
  spec.image = "localhost/berth-test:1";  // never pushed anywhere: a pull would fail
  spec.pull_policy = PullPolicy::kIfNotPresent;
  auto s = runtime_->Apply(spec, volume_, nullptr);
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(MustInspect(spec).phase, Phase::kRunning);
  ExpectRemoved(*runtime_, spec);
}

TEST_F(DockerRuntimeTest, DuplicateNamesAreAlreadyExists) {
  auto& client = docker_->client();
  // Podman answers a taken name with 500; the client maps it to kAlreadyExists.
  json body = {{"Image", "localhost/berth-test:1"}, {"Cmd", {"/bin/sleep", "600"}}};
  auto first = client.CreateContainer("berth-dup-raw", body);
  ASSERT_TRUE(first.has_value()) << first.error().message;
  auto second = client.CreateContainer("berth-dup-raw", body);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, ErrorCode::kAlreadyExists) << second.error().message;
  EXPECT_TRUE(client.RemoveContainer(*first, true, false).has_value());

  // A container Berth does not own holds the deterministic name: Apply refuses to touch it.
  auto spec = MakeSpec("foreign");
  std::string cname = ContainerName(spec.ns, spec.name);
  auto made =
      podman_->PodmanOk({"create", "--name", cname, "localhost/berth-test:1", "/bin/sleep", "600"});
  ASSERT_TRUE(made.has_value()) << made.error().message;
  auto s = runtime_->Apply(spec, volume_, nullptr);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(CountNamed(cname), 1);
  ExpectRemoved(*runtime_, spec);  // not ours: left alone
  EXPECT_EQ(CountNamed(cname), 1);
  EXPECT_TRUE(podman_->PodmanOk({"rm", "-f", cname}).has_value());
}

TEST_F(DockerRuntimeTest, ApplyAdoptsAContainerCreatedBeforeACrash) {
  // A daemon killed between create and start leaves a created, labelled container behind.
  auto spec = MakeSpec("adopt", "adopted\n");
  auto body = BuildCreateBody(spec, volume_, {"127.0.0.1", ""});
  ASSERT_TRUE(body.has_value());
  auto id = docker_->client().CreateContainer(ContainerName(spec.ns, spec.name), *body);
  ASSERT_TRUE(id.has_value()) << id.error().message;
  EXPECT_EQ(MustInspect(spec).phase, Phase::kPending);
  auto s = runtime_->Apply(spec, volume_, nullptr);
  ASSERT_TRUE(s.has_value()) << s.error().message;
  auto st = MustInspect(spec);
  EXPECT_EQ(st.id, *id);
  EXPECT_EQ(st.phase, Phase::kRunning);
  EXPECT_EQ(CountNamed(ContainerName(spec.ns, spec.name)), 1);
  ExpectRemoved(*runtime_, spec);
}

TEST_F(DockerRuntimeTest, RemoveIsCompleteAndIdempotent) {
  // A neighbour in the same namespace, and one with the same name in another: both untouched.
  auto neighbour = MakeSpec("remove-not-me", "stay\n");
  ASSERT_TRUE(runtime_->Apply(neighbour, volume_, nullptr).has_value());
  auto other_ns = MakeSpec("remove", "stay\n");
  other_ns.ns = "itest-other";
  ASSERT_TRUE(runtime_->Apply(other_ns, volume_, nullptr).has_value());
  auto spec = MakeSpec("remove", "bye\n");
  ASSERT_TRUE(runtime_->Apply(spec, volume_, nullptr).has_value());
  ASSERT_TRUE(MustInspect(spec).exists);
  auto s = runtime_->Remove(spec.ns, spec.name);
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_FALSE(MustInspect(spec).exists);
  EXPECT_EQ(CountNamed(ContainerName(spec.ns, spec.name)), 0);
  auto again = runtime_->Remove(spec.ns, spec.name);
  EXPECT_TRUE(again.has_value()) << again.error().message;
  // The volume's data is not the runtime's to remove.
  EXPECT_TRUE(util::PathExists(volume_.source + "/index.html"));
  EXPECT_TRUE(MustInspect(neighbour).exists);
  EXPECT_TRUE(MustInspect(other_ns).exists);
  ExpectRemoved(*runtime_, neighbour);
  ExpectRemoved(*runtime_, other_ns);
}

TEST_F(DockerRuntimeTest, ListOwnedFindsOnlyLabelledContainers) {
  auto spec = MakeSpec("owned", "o\n");
  ASSERT_TRUE(runtime_->Apply(spec, volume_, nullptr).has_value());
  auto foreign = podman_->PodmanOk({"create", "--name", "not-berth", "localhost/berth-test:1"});
  ASSERT_TRUE(foreign.has_value()) << foreign.error().message;
  auto owned = runtime_->ListOwned();
  ASSERT_TRUE(owned.has_value()) << owned.error().message;
  bool found = false;
  for (const auto& w : *owned) {
    EXPECT_NE(w.id, util::Trim(*foreign));
    if (w.ns == "itest" && w.name == "owned") {
      found = true;
      EXPECT_EQ(w.generation, 1);
      EXPECT_EQ(w.id, MustInspect(spec).id);
    }
  }
  EXPECT_TRUE(found);
  EXPECT_TRUE(podman_->PodmanOk({"rm", "-f", "not-berth"}).has_value());
  ExpectRemoved(*runtime_, spec);
}

TEST_F(DockerRuntimeTest, LogsReturnStdoutAndStderr) {
  auto spec = MakeSpec("logs");
  spec.command = {"/bin/sh", "-c", "echo hello-out; echo hello-err >&2; exec sleep 600"};
  ASSERT_TRUE(runtime_->Apply(spec, volume_, nullptr).has_value());
  std::string text;
  EXPECT_TRUE(Eventually([&] {
    text.clear();
    auto s = runtime_->Logs(spec, {}, [&](std::string_view c) {
      text.append(c);
      return true;
    });
    EXPECT_TRUE(s.has_value()) << s.error().message;
    return text.find("hello-out\n") != std::string::npos &&
           text.find("hello-err\n") != std::string::npos;
  })) << text;
  // Frames were decoded: no header bytes in the text.
  EXPECT_EQ(text.find('\0'), std::string::npos);

  // Following stops when the sink says so, though the container keeps running.
  LogOptions follow;
  follow.follow = true;
  std::string seen;
  auto s = runtime_->Logs(spec, follow, [&](std::string_view c) {
    seen.append(c);
    return seen.find("hello-err") == std::string::npos;
  });
  EXPECT_TRUE(s.has_value()) << s.error().message;
  EXPECT_NE(seen.find("hello-err"), std::string::npos);

  // An idle follow (nothing more will be printed) ends when its reader cancels.
  std::atomic<bool> cancel{false};
  follow.cancel = &cancel;
  std::thread reader_leaves([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel = true;
  });
  auto idle = runtime_->Logs(spec, follow, [](std::string_view) { return true; });
  reader_leaves.join();
  EXPECT_TRUE(idle.has_value()) << idle.error().message;

  ExpectRemoved(*runtime_, spec);
  auto gone = runtime_->Logs(spec, {}, [](std::string_view) { return true; });
  ASSERT_FALSE(gone.has_value());
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
}

TEST_F(DockerRuntimeTest, AContainerThatExitsIsFailedWithAReason) {
  auto spec = MakeSpec("crash");
  spec.command = {"/bin/sh", "-c", "echo about to fail; exit 3"};
  (void)runtime_->Apply(spec, volume_, nullptr);
  // Start may succeed (the exit comes after) or already see the exit; either way it is Failed.
  WorkloadStatus st;
  EXPECT_TRUE(Eventually([&] {
    st = MustInspect(spec);
    return st.phase == Phase::kFailed;
  })) << "phase "
      << PhaseName(st.phase);
  EXPECT_TRUE(st.reason == "Exited(3)" || st.reason == "CrashLoop") << st.reason;
  EXPECT_FALSE(st.message.empty());
  ExpectRemoved(*runtime_, spec);
}

TEST_F(DockerRuntimeTest, ConcurrentAppliesShareOneRuntime) {
  // The controller's workers call one Runtime from many threads.
  constexpr int kCount = 6;
  std::vector<EnvironmentSpec> specs;
  std::vector<VolumeMount> volumes;
  for (int i = 0; i < kCount; ++i) {
    specs.push_back(MakeSpec("conc" + std::to_string(i), "env " + std::to_string(i) + "\n"));
    volumes.push_back(volume_);
  }
  std::vector<Status> results(kCount);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCount; ++i)
    threads.emplace_back([&, i] { results[i] = runtime_->Apply(specs[i], volumes[i], nullptr); });
  for (auto& t : threads) t.join();
  std::set<std::string> ids;
  for (int i = 0; i < kCount; ++i) {
    ASSERT_TRUE(results[i].has_value()) << results[i].error().message;
    auto st = MustInspect(specs[i]);
    EXPECT_EQ(st.phase, Phase::kRunning);
    ids.insert(st.id);
    int port = specs[i].ports[0].host_port;
    EXPECT_TRUE(Eventually([&] { return HttpGet(port, "/index.html") != ""; }));
    EXPECT_EQ(HttpGet(port, "/index.html"), "env " + std::to_string(i) + "\n");
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kCount));
  for (const auto& s : specs) ExpectRemoved(*runtime_, s);
}

TEST_F(DockerRuntimeTest, AFailedStartLeavesNoContainer) {
  // Someone else holds the host port and the runtime does not look first (a remote engine):
  // the engine creates the container, then cannot start it.
  auto ep = ResolveDockerHost(podman_->docker_host());
  ASSERT_TRUE(ep.has_value());
  DockerRuntimeOptions o;
  o.probe_host_ports = false;
  DockerRuntime rt(std::make_unique<DockerClient>(*ep), o);
  auto spec = MakeSpec("busyport", "x\n");
  PortHolder hold(spec.ports[0].host_port);
  ASSERT_TRUE(hold.ok());
  auto s = rt.Apply(spec, volume_, nullptr);
  hold.Release();
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kFailed);
  EXPECT_FALSE(MustInspect(spec).exists);
  EXPECT_EQ(CountNamed(ContainerName(spec.ns, spec.name)), 0);
}

// On a local engine the runtime waits for a busy host port instead of handing the engine a
// start that must fail: the port's holder is named, nothing is created, and a port that
// frees up during the wait is used.
TEST_F(DockerRuntimeTest, ABusyHostPortIsWaitedForOnALocalEngine) {
  auto ep = ResolveDockerHost(podman_->docker_host());
  ASSERT_TRUE(ep.has_value());
  DockerRuntimeOptions o;
  o.probe_host_ports = true;
  o.port_wait = std::chrono::milliseconds(1500);
  DockerRuntime rt(std::make_unique<DockerClient>(*ep), o);
  auto spec = MakeSpec("waitport", "waited\n");
  const int port = spec.ports[0].host_port;
  {
    PortHolder hold(port);
    ASSERT_TRUE(hold.ok());
    std::vector<std::string> progress;
    auto s = rt.Apply(spec, volume_, [&](const std::string& m) { progress.push_back(m); });
    ASSERT_FALSE(s.has_value());
    EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
    EXPECT_NE(s.error().message.find("host port " + std::to_string(port) + " (http)"),
              std::string::npos)
        << s.error().message;
    EXPECT_EQ(CountNamed(ContainerName(spec.ns, spec.name)), 0);
    bool told = false;
    for (const auto& m : progress) told = told || m.find("Waiting: host port") == 0;
    EXPECT_TRUE(told);
  }
  o.port_wait = std::chrono::seconds(20);
  DockerRuntime patient(std::make_unique<DockerClient>(*ep), o);
  auto hold = std::make_unique<PortHolder>(port);
  ASSERT_TRUE(hold->ok());
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    hold->Release();
  });
  auto s = patient.Apply(spec, volume_, nullptr);
  release.join();
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_TRUE(Eventually([&] { return HttpGet(port, "/index.html") == "waited\n"; }));
  ExpectRemoved(rt, spec);
}

TEST_F(DockerRuntimeTest, AMissingNetworkFailsWithoutAContainer) {
  Config c;
  c.docker_host = podman_->docker_host();
  c.network = "berth-no-such-net";
  auto rt = MakeDockerRuntime(c);
  ASSERT_TRUE(rt.has_value());
  auto spec = MakeSpec("nonet");
  spec.image = "localhost/berth-test:1";
  spec.pull_policy = PullPolicy::kIfNotPresent;
  auto s = (*rt)->Apply(spec, volume_, nullptr);
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().message.find("berth-no-such-net"), std::string::npos) << s.error().message;
  EXPECT_EQ(s.error().code, ErrorCode::kFailed);
  EXPECT_EQ(CountNamed(ContainerName(spec.ns, spec.name)), 0);
}

TEST_F(DockerRuntimeTest, AnUnreachableEngineIsUnavailable) {
  Config c;
  c.docker_host = "unix://" + podman_->dir() + "/no-such.sock";
  auto rt = MakeDockerRuntime(c);
  ASSERT_TRUE(rt.has_value());
  auto st = (*rt)->Inspect(MakeSpec("unreach"));
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(st.error().message.find("no-such.sock"), std::string::npos) << st.error().message;
}

// Two installations on one engine: each sees, changes and removes only its own containers; the
// deterministic name taken by the other is refused with an error naming it, never replaced.
TEST_F(DockerRuntimeTest, AnotherInstallationsContainerIsNeverTouched) {
  Config c;
  c.docker_host = podman_->docker_host();
  c.host_ip = "127.0.0.1";
  auto other_rt = MakeDockerRuntime(c);
  ASSERT_TRUE(other_rt.has_value()) << other_rt.error().message;
  auto& first = *runtime_;
  auto& second = **other_rt;
  first.SetOwnership({"aaaaaaaaaaaaaaaa", {}});
  second.SetOwnership({"bbbbbbbbbbbbbbbb", {}});
  auto spec = MakeSpec("shared", "first\n");
  ASSERT_TRUE(first.Apply(spec, volume_, nullptr).has_value());
  const std::string id = MustInspect(spec).id;

  // The second installation has no workload of that name, and may not make one.
  auto seen = second.Inspect(spec);
  ASSERT_TRUE(seen.has_value()) << seen.error().message;
  EXPECT_FALSE(seen->exists);
  auto applied = second.Apply(spec, volume_, nullptr);
  ASSERT_FALSE(applied.has_value());
  EXPECT_EQ(applied.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(applied.error().message.find("aaaaaaaaaaaaaaaa"), std::string::npos)
      << applied.error().message;
  // Its listing, removal and logs leave the first's container alone.
  auto owned = second.ListOwned();
  ASSERT_TRUE(owned.has_value());
  for (const auto& w : *owned) EXPECT_NE(w.id, id);
  ASSERT_TRUE(second.Remove(spec.ns, spec.name).has_value());
  EXPECT_FALSE(second.Logs(spec, {}, [](std::string_view) { return true; }).has_value());
  auto still = MustInspect(spec);
  EXPECT_EQ(still.id, id);
  EXPECT_EQ(still.phase, Phase::kRunning);

  // The first still lists it as its own.
  auto mine = first.ListOwned();
  ASSERT_TRUE(mine.has_value());
  bool listed = false;
  for (const auto& w : *mine) listed = listed || w.id == id;
  EXPECT_TRUE(listed);
  ExpectRemoved(first, spec);
}

}  // namespace
}  // namespace berth::runtime::docker

namespace berth::runtime::docker {
namespace {

// Usage through the one-shot stats of Podman's compat API: a running container uses some
// memory, its limit is the spec's, its network counters are there, it never restarted.
TEST_F(DockerRuntimeTest, UsageOfARunningContainer) {
  auto spec = MakeSpec("usage", "usage\n");
  spec.resources.memory_limit = "256Mi";
  auto s = runtime_->Apply(spec, volume_, nullptr);
  ASSERT_TRUE(s.has_value()) << s.error().message;
  ASSERT_TRUE(Eventually([&] { return HttpGet(spec.ports[0].host_port, "/index.html") != ""; }));
  auto u = runtime_->Usage(spec, std::chrono::milliseconds(10000));
  ASSERT_TRUE(u.has_value()) << u.error().message;
  ASSERT_TRUE(u->memory_bytes);
  EXPECT_GT(*u->memory_bytes, 0);
  ASSERT_TRUE(u->memory_limit_bytes);
  EXPECT_EQ(*u->memory_limit_bytes, *MemoryToBytes("256Mi"));
  ASSERT_TRUE(u->cpu_seconds);
  EXPECT_GE(*u->cpu_seconds, 0.0);
  EXPECT_TRUE(u->network_rx_bytes.has_value());
  EXPECT_TRUE(u->network_tx_bytes.has_value());
  EXPECT_EQ(u->restarts, 0);
  // A second sample: the CPU counter does not go back.
  auto again = runtime_->Usage(spec, std::chrono::milliseconds(10000));
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_GE(*again->cpu_seconds, *u->cpu_seconds);
  ExpectRemoved(*runtime_, spec);
  // No container: kNotFound, promptly.
  auto gone = runtime_->Usage(spec, std::chrono::milliseconds(10000));
  ASSERT_FALSE(gone.has_value());
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace berth::runtime::docker
