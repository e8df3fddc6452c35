// `berth serve` with the Kubernetes runtime against a real control plane (kube-apiserver,
// controller-manager, scheduler, kwok nodes with InternalIP 127.0.0.1), driven by the CLI:
// create → Deployment + NodePort Service → pods Running → `berth view` / `re_view` show the
// host IP and the three NodePorts; rebuild rolls out; delete cascades until nothing is left.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <thread>

#include "support/berth_server.h"
#include "support/k8s/control_plane.h"
#include "util/fs.h"

namespace berth::testing {
namespace {

using nlohmann::json;

// A server on the control plane's cluster, as the admin, with no router; kwok never pulls.
BerthServerOptions KubeServer(ControlPlane& cp) {
  BerthServerOptions o;
  o.runtime = "kubernetes";
  o.kubeconfig = cp.admin_kubeconfig();
  o.default_image = "registry.invalid/berth/app:1";
  o.router_mode = "off";
  return o;
}

TEST(KubernetesFlow, CreateViewRebuildDeleteThroughBerthServe) {
  if (ControlPlane::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_KUBERNETES=1";
  auto cp = ControlPlane::Start();
  ASSERT_TRUE(cp) << cp.error().message;
  BerthServerOptions o = KubeServer(**cp);
  // An hour: whatever happens behind Berth's back must arrive through the pod watch.
  o.env = {{"BERTH_RESYNC_SECONDS", "3600"}};
  auto s = BerthServer::Start(o);
  ASSERT_TRUE(s) << s.error().message;
  auto& server = **s;

  auto c = server.Cli({"create", "kube-web", "--wait", "--timeout", "180", "-o", "json"});
  ASSERT_EQ(c.exit_code, 0) << c.err << server.LogTail();
  auto v = json::parse(c.out);
  EXPECT_EQ(v["status"]["phase"], "Running");
  EXPECT_EQ(v["status"]["host_ip"], "127.0.0.1");
  for (const char* p : {"ssh", "http", "https"}) {
    int port = v["status"]["ports"][p];
    EXPECT_GE(port, 30000) << p;
    EXPECT_LE(port, 32767) << p;
  }
  auto rv = server.Cli({"re_view", "--name=kube-web"});
  EXPECT_EQ(rv.exit_code, 0) << rv.err;
  EXPECT_EQ(rv.out.rfind("{\"status\": \"sucess\", \"http_port\": " +
                             std::to_string(v["status"]["ports"]["http"].get<int>()),
                         0),
            0u)
      << rv.out;
  EXPECT_NE(rv.out.find("\"host_ip\": \"127.0.0.1\", \"phase\": \"Running\"}"), std::string::npos);

  // What the API server holds, read back with kubectl.
  auto dep = (*cp)->Kubectl({"get", "deployments,services", "-A", "-l",
                             "app.kubernetes.io/managed-by=berth", "-o", "json"});
  ASSERT_TRUE(dep);
  ASSERT_EQ(dep->exit_code, 0) << dep->err;
  auto items = json::parse(dep->out)["items"];
  ASSERT_EQ(items.size(), 2u) << dep->out;

  auto r = server.Cli({"rebuild", "kube-web", "--wait", "--timeout", "180", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err << server.LogTail();
  EXPECT_EQ(json::parse(r.out)["status"]["observed_generation"], 2);

  // Deleted behind Berth's back: the pod watch sees the pods go and the controller re-applies
  // the Deployment at once (a new uid), long before the hour-long resync.
  auto deployment = [&]() -> json {
    auto g =
        (*cp)->Kubectl({"get", "deployments", "-A", "-l", "berth.dev/name=kube-web", "-o", "json"});
    if (!g || g->exit_code != 0) return json();
    auto items = json::parse(g->out)["items"];
    return items.size() == 1 ? items[0] : json();
  };
  auto before = deployment();
  ASSERT_TRUE(before.is_object());
  std::string uid = before["metadata"]["uid"];
  auto del = (*cp)->Kubectl({"delete", "deployment", "-n", before["metadata"]["namespace"],
                             before["metadata"]["name"], "--wait=false"});
  ASSERT_TRUE(del && del->exit_code == 0);
  bool recreated = false;
  for (int i = 0; i < 240 && !recreated; ++i) {
    auto now = deployment();
    recreated = now.is_object() && now["metadata"]["uid"] != uid;
    if (!recreated) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_TRUE(recreated) << server.LogTail();
  auto w = server.Cli({"wait", "kube-web", "--timeout", "120"});
  EXPECT_EQ(w.exit_code, 0) << w.err;

  auto d = server.Cli({"delete", "kube-web", "--wait", "--timeout", "180"});
  ASSERT_EQ(d.exit_code, 0) << d.err << server.LogTail();
  auto left = (*cp)->Kubectl({"get", "deployments,services,pods", "-A", "-l",
                              "app.kubernetes.io/managed-by=berth", "-o", "name"});
  ASSERT_TRUE(left);
  EXPECT_EQ(left->out, "") << left->out;
}

// Two installations — two `berth serve` with their own stores — on one cluster: the second's
// orphan collection and its delete of the same name leave the first's objects as they are, and
// the name the first holds is refused naming it (issue 11, item 3).
TEST(KubernetesFlow, SecondInstallationNeverTouchesTheFirstsObjects) {
  if (ControlPlane::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_KUBERNETES=1";
  auto cp = ControlPlane::Start();
  ASSERT_TRUE(cp) << cp.error().message;
  auto serve = [&]() {
    auto s = BerthServer::Start(KubeServer(**cp));
    EXPECT_TRUE(s) << s.error().message;
    return s ? std::move(*s) : nullptr;
  };
  auto installation = [](BerthServer& srv) -> std::string {
    auto r = srv.Cli({"status", "-o", "json"});
    auto j = json::parse(r.out, nullptr, false);
    return j.is_object() && j.contains("components") ? j["components"].value("installation", "")
                                                     : "";
  };
  auto deployment_uid = [&](const std::string& name) -> std::string {
    auto g = (*cp)->Kubectl({"get", "deployment", "-n", "default", name, "-o", "json"});
    if (!g || g->exit_code != 0) return "";
    return json::parse(g->out)["metadata"].value("uid", "");
  };
  auto a = serve();
  ASSERT_NE(a, nullptr);
  auto c = a->Cli({"create", "demo", "--wait", "--timeout", "180", "-o", "json"});
  ASSERT_EQ(c.exit_code, 0) << c.err << a->LogTail();
  const std::string a_id = installation(*a);
  EXPECT_EQ(a_id.size(), 16u);
  const std::string uid = deployment_uid("demo");
  ASSERT_FALSE(uid.empty());

  auto b = serve();
  ASSERT_NE(b, nullptr);
  const std::string b_id = installation(*b);
  EXPECT_EQ(b_id.size(), 16u);
  EXPECT_NE(a_id, b_id);
  // An orphan of B's own: once it is gone, B's collection has run over the whole cluster.
  ASSERT_TRUE((*cp)->ApplyManifest(R"(apiVersion: v1
kind: Service
metadata:
  name: ghost
  namespace: default
  labels: {app.kubernetes.io/managed-by: berth, berth.dev/namespace: default, berth.dev/name: ghost, berth.dev/installation: ")" +
                                   b_id + R"("}
spec:
  ports: [{name: http, port: 80}]
)"));
  bool collected = false;
  for (int i = 0; i < 360 && !collected; ++i) {
    auto g = (*cp)->Kubectl({"get", "service", "-n", "default", "ghost", "-o", "name"});
    collected = g && g->exit_code != 0;
    if (!collected) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_TRUE(collected) << b->LogTail();
  EXPECT_EQ(deployment_uid("demo"), uid) << b->LogTail();

  // The same name in B: an ApplyError naming A; B's delete leaves A's Deployment.
  ASSERT_EQ(b->Cli({"create", "demo", "-o", "json"}).exit_code, 0);
  json bv;
  for (int i = 0; i < 240; ++i) {
    bv = json::parse(b->Cli({"view", "demo", "-o", "json"}).out, nullptr, false);
    if (bv.is_object() && bv["status"].is_object() &&
        bv["status"].value("reason", "") == "ApplyError")
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ASSERT_TRUE(bv.is_object() && bv["status"].is_object()) << bv.dump();
  EXPECT_EQ(bv["status"].value("reason", ""), "ApplyError") << bv.dump();
  EXPECT_NE(bv["status"].value("last_error", "").find(a_id), std::string::npos) << bv.dump();
  auto d = b->Cli({"delete", "demo", "--wait", "--timeout", "180"});
  EXPECT_EQ(d.exit_code, 0) << d.err << b->LogTail();
  EXPECT_EQ(deployment_uid("demo"), uid) << b->LogTail();
  auto av = json::parse(a->Cli({"view", "demo", "-o", "json"}).out, nullptr, false);
  EXPECT_EQ(av["status"]["phase"], "Running") << av.dump();
  EXPECT_EQ(a->Cli({"delete", "demo", "--wait", "--timeout", "180"}).exit_code, 0);
  EXPECT_TRUE(deployment_uid("demo").empty());
}

// No reconcile worker waits on a pod: with two workers and three environments whose pods can
// never be scheduled (a CPU request no node has), a fourth environment still reaches Running at
// once. When Apply waited for pods, each stuck one held a worker for apply_wait (180 s).
TEST(KubernetesFlow, StuckEnvironmentsDoNotHoldUpANewOne) {
  if (ControlPlane::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_KUBERNETES=1";
  auto cp = ControlPlane::Start();
  ASSERT_TRUE(cp) << cp.error().message;
  BerthServerOptions o = KubeServer(**cp);
  o.env = {{"BERTH_WORKERS", "2"}};
  auto s = BerthServer::Start(o);
  ASSERT_TRUE(s) << s.error().message;
  auto& server = **s;
  for (int i = 0; i < 3; ++i) {
    auto c = server.Cli({"create", "stuck-" + std::to_string(i), "--cpu-request", "2000",
                         "--cpu-limit", "2000", "--no-wait"});
    ASSERT_EQ(c.exit_code, 0) << c.err;
  }
  // Every stuck one has been handed to the cluster (a worker picked it up) before the new one.
  bool all_pending = false;
  for (int i = 0; i < 120 && !all_pending; ++i) {
    auto l = server.Cli({"list", "-o", "json"});
    ASSERT_EQ(l.exit_code, 0) << l.err;
    int unschedulable = 0;
    for (const auto& v : json::parse(l.out))
      if (v["status"].is_object() && v["status"]["reason"] == "Unschedulable") ++unschedulable;
    all_pending = unschedulable == 3;
    if (!all_pending) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  ASSERT_TRUE(all_pending) << server.LogTail();

  auto fresh = server.Cli({"create", "fresh", "--wait", "--timeout", "60", "-o", "json"});
  ASSERT_EQ(fresh.exit_code, 0) << fresh.err << server.LogTail();
  EXPECT_EQ(json::parse(fresh.out)["status"]["phase"], "Running");
  // The stuck ones are still reported, not failed.
  auto v = server.Cli({"view", "stuck-0", "-o", "json"});
  ASSERT_EQ(v.exit_code, 0);
  EXPECT_EQ(json::parse(v.out)["status"]["phase"], "Pending");
  for (const char* n : {"stuck-0", "stuck-1", "stuck-2", "fresh"})
    EXPECT_EQ(server.Cli({"delete", n, "--wait", "--timeout", "180"}).exit_code, 0) << n;
}

}  // namespace
}  // namespace berth::testing

namespace berth::testing {
namespace {

// Code releases on Kubernetes through `berth serve` and the CLI: a reload command runs in every
// pod through pods/exec (kwok runs it on this host, in the control plane's pod-exec dir) and the
// workload is not rolled out; a failing one fails the release and `current` goes back; without
// a reload command the release is picked up by a rollout (a new generation).
TEST(KubernetesFlow, CodeReleasesReloadThroughPodExecOrRollOut) {
  if (ControlPlane::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_KUBERNETES=1";
  auto cp = ControlPlane::Start();
  ASSERT_TRUE(cp) << cp.error().message;
  auto s = BerthServer::Start(KubeServer(**cp));
  ASSERT_TRUE(s) << s.error().message;
  auto& server = **s;
  util::TempDir src("berth-k8s-release");
  int trees = 0;
  auto tree = [&](const std::string& content) {
    std::string d = src.path() + "/" + std::to_string(++trees);
    EXPECT_TRUE(util::MakeDirs(d));
    EXPECT_TRUE(util::WriteFileAtomic(d + "/index.html", content));
    return d;
  };
  auto generation = [&]() -> std::string {
    auto g = (*cp)->Kubectl({"get", "deployments", "-A", "-l", "berth.dev/name=coded", "-o",
                             "jsonpath={.items[0].metadata.labels.berth\\.dev/generation}"});
    return g && g->exit_code == 0 ? g->out : "<" + (g ? g->err : g.error().message) + ">";
  };

  auto c = server.Cli({"create", "coded", "--release-mode", "code", "--replicas", "2", "--wait",
                       "--timeout", "180"});
  ASSERT_EQ(c.exit_code, 0) << c.err << server.LogTail();
  const std::string gen0 = generation();

  auto v1 = server.Cli({"deploy", "coded", "--from", tree("v1\n"), "--reload-cmd",
                        "echo reloaded >> reloads.log", "--wait", "-o", "json"});
  ASSERT_EQ(v1.exit_code, 0) << v1.out << v1.err << server.LogTail();
  EXPECT_EQ(json::parse(v1.out)["phase"], "Running") << v1.out;
  EXPECT_EQ(util::ReadFile((*cp)->pod_exec_dir() + "/reloads.log").value_or(""),
            "reloaded\nreloaded\n")
      << "once in each pod";
  EXPECT_EQ(generation(), gen0) << "a reload rolls nothing out";

  auto bad = server.Cli({"deploy", "coded", "--from", tree("v2\n"), "--reload-cmd",
                         "echo broken config; exit 4", "--wait", "-o", "json"});
  EXPECT_EQ(bad.exit_code, 8) << bad.out << bad.err;
  auto r2 = json::parse(bad.out);
  EXPECT_EQ(r2["phase"], "Failed");
  EXPECT_TRUE(r2["rolled_back"].get<bool>());
  // A kubelet reports "exited with 4"; kwok's local exec "exit status 4": either names it.
  EXPECT_NE(r2["reason"].get<std::string>().find(" 4"), std::string::npos) << r2.dump();
  auto rels = server.Cli({"releases", "coded", "-o", "json"});
  ASSERT_EQ(rels.exit_code, 0) << rels.err;
  EXPECT_EQ(json::parse(rels.out)["current"], "r1") << rels.out;
  // Going back to r1 ran r1's reload command again, in both pods.
  EXPECT_EQ(util::ReadFile((*cp)->pod_exec_dir() + "/reloads.log").value_or(""),
            "reloaded\nreloaded\nreloaded\nreloaded\n");
  EXPECT_EQ(generation(), gen0);

  auto v3 = server.Cli({"deploy", "coded", "--from", tree("v3\n"), "--wait", "-o", "json"});
  ASSERT_EQ(v3.exit_code, 0) << v3.out << v3.err << server.LogTail();
  EXPECT_NE(generation(), gen0) << "without a reload command the release rolls out";
  EXPECT_EQ(server.Cli({"delete", "coded", "--wait", "--timeout", "180"}).exit_code, 0);
}

}  // namespace
}  // namespace berth::testing
