// Two Berth installations on ONE Podman engine, each a real `berth serve` with its own store:
// neither ever touches what the other made (issue 11, item 3). Also the upgrade from a release
// before installation ids: its store's workloads are adopted, never collected.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <thread>

#include "berth/environment.h"
#include "berth/store.h"
#include "runtime/docker/docker_api.h"
#include "runtime/docker/docker_client.h"
#include "support/berth_server.h"
#include "support/images.h"
#include "support/podman.h"
#include "support/registry.h"
#include "support/test_engine.h"
#include "util/fs.h"

namespace berth::testing {
namespace {

using nlohmann::json;

// Polls `ok` every 200 ms until it holds or `limit` passes. A bound, not a speed assertion.
bool WaitFor(const std::function<bool()>& ok, std::chrono::seconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (ok()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return ok();
}

class TwoInstallations : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (PodmanService::SkipRequested()) return;
    auto e = StartTestEngine({"berth-e2e-inst:1"});
    ASSERT_TRUE(e) << e.error().message;
    engine_ = e->release();
    podman_ = engine_->podman.get();
    registry_ = engine_->registry.get();
    image_ = engine_->images[0];
  }
  static void TearDownTestSuite() {
    delete engine_;
    engine_ = nullptr;
    podman_ = nullptr;
    registry_ = nullptr;
  }
  void SetUp() override {
    if (PodmanService::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_PODMAN=1";
    ASSERT_NE(podman_, nullptr);
  }

  // A server on the shared engine; separate port ranges so the two never contend for a port
  // (that is item 6's subject), one volume root so their volumes meet.
  std::unique_ptr<BerthServer> Serve(int port_min) {
    BerthServerOptions o;
    o.docker_host = podman_->docker_host();
    o.default_image = image_;
    o.port_min = port_min;
    o.port_max = port_min + 999;
    o.extra_toml = "[volumes]\nroot = \"" + volumes_.path() + "\"\n";
    auto s = BerthServer::Start(o);
    EXPECT_TRUE(s) << s.error().message;
    return s ? std::move(*s) : nullptr;
  }

  static json Json(const util::CommandResult& r, const BerthServer& srv) {
    EXPECT_EQ(r.exit_code, 0) << r.err << "\n" << srv.LogTail();
    return json::parse(r.out, nullptr, false);
  }

  static std::string InstallationOf(BerthServer& srv) {
    auto st = Json(srv.Cli({"status", "-o", "json"}), srv);
    if (!st.is_object() || !st.contains("components")) return "";
    return st["components"].value("installation", "");
  }

  // "<id> <state>" of a container, "" if it does not exist.
  std::string Container(const std::string& name) {
    auto r = podman_->Podman(
        {"inspect", "--type", "container", "--format", "{{.Id}} {{.State.Status}}", name});
    if (!r || r->exit_code != 0) return "";
    std::string out = r->out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  // A stopped container labelled as Berth's, as `labels` says (never started: no ports).
  void Plant(const std::string& name, const std::vector<std::string>& labels) {
    std::vector<std::string> args{"create", "--name", name};
    for (const auto& l : labels) args.insert(args.end(), {"--label", l});
    args.push_back(image_);
    auto r = podman_->PodmanOk(args);
    ASSERT_TRUE(r) << r.error().message;
  }

  // Plants an orphan carrying `installation`'s id and waits (bounded) until that installation
  // collected it: proof that a whole garbage collection ran after this call.
  void WaitForCollection(BerthServer& srv, const std::string& installation,
                         const std::string& tag) {
    std::string ghost = "berth-default.ghost" + tag;
    std::vector<std::string> labels{"app.kubernetes.io/managed-by=berth",
                                    "berth.dev/namespace=default", "berth.dev/name=ghost" + tag,
                                    "berth.dev/generation=1"};
    // (Without an id — a release before them — any managed orphan is collected.)
    if (!installation.empty()) labels.push_back("berth.dev/installation=" + installation);
    Plant(ghost, labels);
    EXPECT_TRUE(WaitFor([&] { return Container(ghost).empty(); }, std::chrono::seconds(90)))
        << "the orphan of installation " << installation << " was never collected\n"
        << srv.LogTail();
  }

  static TestEngine* engine_;
  static PodmanService* podman_;
  static Registry* registry_;
  static std::string image_;
  util::TempDir volumes_{"berth-e2e-vols"};
};

TestEngine* TwoInstallations::engine_ = nullptr;
PodmanService* TwoInstallations::podman_ = nullptr;
Registry* TwoInstallations::registry_ = nullptr;
std::string TwoInstallations::image_;

TEST_F(TwoInstallations, SecondInstallationNeverTouchesTheFirstsThings) {
  auto a = Serve(41000);
  ASSERT_NE(a, nullptr);
  auto v = Json(a->Cli({"create", "demo", "--wait", "-o", "json"}), *a);
  ASSERT_EQ(v["status"]["phase"], "Running") << v.dump();
  std::string a_id = InstallationOf(*a);
  EXPECT_EQ(a_id.size(), 16u) << a_id;
  const std::string before = Container("berth-default.demo");
  ASSERT_NE(before.find("running"), std::string::npos) << before;
  ASSERT_TRUE(util::WriteFileAtomic(volumes_.path() + "/default/demo/keep.txt", "A's data"));
  // A workload of a release before installation ids, whose store is neither of these.
  Plant("berth-default.stray", {"app.kubernetes.io/managed-by=berth", "berth.dev/namespace=default",
                                "berth.dev/name=stray", "berth.dev/generation=1"});

  auto b = Serve(42000);
  ASSERT_NE(b, nullptr);
  std::string b_id = InstallationOf(*b);
  EXPECT_EQ(b_id.size(), 16u) << b_id;
  EXPECT_NE(a_id, b_id);
  // B's own environment runs beside A's.
  auto w = Json(b->Cli({"create", "web", "--wait", "-o", "json"}), *b);
  EXPECT_EQ(w["status"]["phase"], "Running") << w.dump() << b->LogTail();
  // B's garbage collection has run over the engine (it collected its own orphan)...
  WaitForCollection(*b, b_id, "b1");
  // ...and left A's container as it was, and the stray unadopted one.
  ASSERT_EQ(Container("berth-default.demo"), before) << b->LogTail();
  EXPECT_FALSE(Container("berth-default.stray").empty()) << b->LogTail();
  EXPECT_NE(b->LogTail(20000).find("leaving workload"), std::string::npos);

  // The same name in B: refused, naming A — by the volume (the two share a volume root here),
  // else by the container name; A's container, route and volume stay.
  auto c = b->Cli({"create", "demo", "-o", "json"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  json bv;
  EXPECT_TRUE(WaitFor(
      [&] {
        bv = json::parse(b->Cli({"view", "demo", "-o", "json"}).out, nullptr, false);
        return bv.is_object() && bv.contains("status") && bv["status"].is_object() &&
               (bv["status"].value("reason", "") == "ApplyError" ||
                bv["status"].value("reason", "") == "VolumeFailed");
      },
      std::chrono::seconds(60)))
      << bv.dump() << b->LogTail();
  std::string err = bv["status"].value("last_error", "");
  EXPECT_NE(err.find(a_id), std::string::npos) << err;
  EXPECT_EQ(Container("berth-default.demo"), before);

  // B deletes its demo with --purge: nothing of A's goes (not the container, not the volume).
  auto d = b->Cli({"delete", "demo", "--purge", "--wait"});
  EXPECT_EQ(d.exit_code, 0) << d.err << b->LogTail();
  WaitForCollection(*b, b_id, "b2");
  EXPECT_EQ(Container("berth-default.demo"), before) << b->LogTail();
  EXPECT_EQ(util::ReadFile(volumes_.path() + "/default/demo/keep.txt").value_or(""), "A's data");
  auto av = Json(a->Cli({"view", "demo", "-o", "json"}), *a);
  EXPECT_EQ(av["status"]["phase"], "Running") << av.dump();

  // A in turn leaves B's environment alone, and deletes its own.
  WaitForCollection(*a, a_id, "a1");
  EXPECT_FALSE(Container("berth-default.web").empty()) << a->LogTail();
  EXPECT_EQ(a->Cli({"delete", "demo", "--purge", "--wait"}).exit_code, 0) << a->LogTail();
  EXPECT_TRUE(Container("berth-default.demo").empty());
  EXPECT_EQ(b->Cli({"delete", "web", "--purge", "--wait"}).exit_code, 0) << b->LogTail();
  podman_->Podman({"rm", "-f", "berth-default.stray"});
}

// A store and a container as a release before installation ids left them: at the first start
// with ids, the container is adopted (same container, still running, not collected), and an
// unlabelled container this store has no spec for is left alone.
TEST_F(TwoInstallations, EarlierReleasesWorkloadsAreAdoptedNotCollected) {
  auto a = Serve(41000);
  ASSERT_NE(a, nullptr);
  auto v = Json(a->Cli({"create", "old", "--wait", "-o", "json"}), *a);
  ASSERT_EQ(v["status"]["phase"], "Running") << v.dump();
  a->Stop();

  // Make it the earlier release's state: no installation record, an unlabelled container.
  {
    auto st = store::OpenStore("sqlite://" + a->state_dir() + "/berth.db");
    ASSERT_TRUE(st) << st.error().message;
    EXPECT_TRUE((*st)->Delete(std::string(store::keys::kInstallation)));
    auto kv = (*st)->Get(store::keys::Spec("default", "old"));
    ASSERT_TRUE(kv && *kv);
    auto spec = ParseSpec((*kv)->value);
    ASSERT_TRUE(spec) << spec.error().message;
    ASSERT_TRUE(podman_->PodmanOk({"rm", "-f", "berth-default.old"}));
    // Nor did that release record volume owners.
    ::unlink((volumes_.path() + "/default/.old.installation").c_str());
    auto ep = runtime::docker::ResolveDockerHost(podman_->docker_host());
    ASSERT_TRUE(ep);
    runtime::docker::DockerClient client(*ep);
    VolumeMount vol{VolumeMount::Kind::kBind, volumes_.path() + "/default/old", "/apps"};
    auto body = runtime::docker::BuildCreateBody(*spec, vol, {"127.0.0.1", "", ""});
    ASSERT_TRUE(body) << body.error().message;
    ASSERT_FALSE((*body)["Labels"].contains("berth.dev/installation"));
    auto id = client.CreateContainer("berth-default.old", *body);
    ASSERT_TRUE(id) << id.error().message;
    ASSERT_TRUE(client.StartContainer(*id));
  }
  const std::string legacy = Container("berth-default.old");
  ASSERT_NE(legacy.find("running"), std::string::npos) << legacy;
  Plant("berth-default.unknown",
        {"app.kubernetes.io/managed-by=berth", "berth.dev/namespace=default",
         "berth.dev/name=unknown", "berth.dev/generation=1"});

  ASSERT_TRUE(a->Run());
  std::string id = InstallationOf(*a);
  EXPECT_EQ(id.size(), 16u);
  WaitForCollection(*a, id, "m1");
  EXPECT_EQ(Container("berth-default.old"), legacy) << a->LogTail();
  EXPECT_FALSE(Container("berth-default.unknown").empty()) << a->LogTail();
  auto av = Json(a->Cli({"view", "old", "-o", "json"}), *a);
  EXPECT_EQ(av["status"]["phase"], "Running") << av.dump();
  EXPECT_NE(a->LogTail(20000).find("adopting workload"), std::string::npos);

  // Adopted means its own: delete removes it; the unknown one stays.
  EXPECT_EQ(a->Cli({"delete", "old", "--purge", "--wait"}).exit_code, 0) << a->LogTail();
  EXPECT_TRUE(Container("berth-default.old").empty());
  EXPECT_FALSE(Container("berth-default.unknown").empty());
  podman_->Podman({"rm", "-f", "berth-default.unknown"});
}

}  // namespace
}  // namespace berth::testing
