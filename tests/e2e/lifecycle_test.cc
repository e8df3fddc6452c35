// An environment's life in a pipeline, through the real binary: `berth serve` on Podman's
// Docker API and the CLI. An environment past its TTL is deleted by the controller (its volume
// kept unless it asked for a purge), `berth extend` moves or removes the expiry, a namespace's
// default TTL applies when a create names none, and a CI branch maps to one stable name.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <functional>
#include <thread>

#include "core/duration.h"
#include "support/berth_server.h"
#include "support/podman_suite.h"
#include "util/fs.h"

namespace berth::testing {
namespace {

using nlohmann::json;

class Lifecycle : public PodmanSuite {
 protected:
  static void SetUpTestSuite() { StartPodman("berth-life:1"); }
  static void TearDownTestSuite() { StopPodman(); }
  void SetUp() override { RequirePodman(); }
  void TearDown() override {
    if (!server_) return;
    auto ls = server_->Cli({"list", "-A", "-o", "json"});
    if (ls.exit_code == 0)
      for (const auto& v : json::parse(ls.out))
        server_->Cli({"delete", v["spec"]["name"], "-n", v["spec"]["namespace"], "--purge",
                      "--wait", "--timeout", "60"});
    server_.reset();
  }

  void StartServer(std::string environments_toml = "", std::string tail_toml = "") {
    BerthServerOptions o = ServerOptions();
    o.environments_toml = std::move(environments_toml);
    o.extra_toml = std::move(tail_toml);
    auto s = BerthServer::Start(o);
    ASSERT_TRUE(s) << s.error().message;
    server_ = std::move(*s);
  }

  // Polls `view NAME` until it exits 3 (not found); false after `seconds`.
  bool GoneWithin(const std::string& name, const std::vector<std::string>& ns_args, int seconds) {
    for (int i = 0; i < seconds * 10; ++i) {
      std::vector<std::string> args{"view", name};
      args.insert(args.end(), ns_args.begin(), ns_args.end());
      if (server_->Cli(args).exit_code == 3) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  std::string Container(const std::string& name) {
    auto r =
        podman_->Podman({"inspect", "--type", "container", "--format", "{{.State.Status}}", name});
    if (!r || r->exit_code != 0) return "";
    return r->out;
  }

  std::string Volume(const std::string& ns, const std::string& name) {
    return server_->state_dir() + "/volumes/" + ns + "/" + name;
  }

  std::unique_ptr<BerthServer> server_;
};

TEST_F(Lifecycle, AnEnvironmentPastItsTtlIsDeletedAndItsVolumeKept) {
  StartServer();
  auto v = Json(server_->Cli({"create", "brief", "--ttl", "6s", "--wait", "-o", "json"}));
  ASSERT_EQ(v["status"]["phase"], "Running") << v.dump();
  EXPECT_EQ(v["spec"]["ttl_seconds"], 6);
  auto created = core::ParseRfc3339Utc(v["spec"].value("created_at", ""));
  auto expires = core::ParseRfc3339Utc(v["spec"].value("expires_at", ""));
  ASSERT_TRUE(created && expires) << v.dump();
  EXPECT_EQ(*expires - *created, 6);
  ASSERT_FALSE(Container("berth-default.brief").empty());
  ASSERT_TRUE(util::WriteFileAtomic(Volume("default", "brief") + "/keep.txt", "data"));
  // The table shows when it goes.
  auto ls = server_->Cli({"list"});
  EXPECT_NE(ls.out.find("EXPIRES"), std::string::npos) << ls.out;

  ASSERT_TRUE(GoneWithin("brief", {}, 60)) << server_->LogTail();
  EXPECT_TRUE(Container("berth-default.brief").empty());
  EXPECT_EQ(util::ReadFile(Volume("default", "brief") + "/keep.txt").value_or(""), "data");
  EXPECT_NE(server_->LogTail(20000).find("default/brief: expired at"), std::string::npos);

  // Asked for, the volume goes with it.
  auto p = Json(server_->Cli(
      {"create", "purged", "--ttl", "4", "--purge-on-expiry", "--wait", "-o", "json"}));
  EXPECT_EQ(p["spec"]["purge_on_expiry"], true);
  ASSERT_TRUE(util::PathExists(Volume("default", "purged")));
  ASSERT_TRUE(GoneWithin("purged", {}, 60)) << server_->LogTail();
  EXPECT_FALSE(util::PathExists(Volume("default", "purged")));
}

TEST_F(Lifecycle, ExtendMovesTheExpiryAndZeroMeansNever) {
  StartServer();
  auto v = Json(server_->Cli({"create", "keeper", "--ttl", "8s", "--no-wait", "-o", "json"}));
  ASSERT_FALSE(v["spec"].value("expires_at", "").empty()) << v.dump();
  auto never = server_->Cli({"extend", "keeper", "--ttl", "0"});
  ASSERT_EQ(never.exit_code, 0) << never.err;
  EXPECT_NE(never.out.find("never expires"), std::string::npos) << never.out;
  std::this_thread::sleep_for(std::chrono::seconds(12));
  auto still = Json(server_->Cli({"view", "keeper", "-o", "json"}));
  EXPECT_EQ(still["spec"].value("expires_at", "x"), "");
  EXPECT_FALSE(still["spec"].value("deleting", true));
  EXPECT_NE(server_->Cli({"view", "keeper"}).out.find("Expires:     never"), std::string::npos);

  auto later = Json(server_->Cli({"extend", "keeper", "--ttl", "1h30m", "-o", "json"}));
  auto at = core::ParseRfc3339Utc(later["spec"].value("expires_at", ""));
  ASSERT_TRUE(at) << later.dump();
  const int64_t left = *at - core::NowEpochSeconds();
  EXPECT_GT(left, 5300);
  EXPECT_LE(left, 5400);
  EXPECT_EQ(later["spec"]["ttl_seconds"], 5400);

  // Bad durations are the caller's error, and change nothing.
  for (const std::string bad : {"soon", "5x", "-1", "1h5", "99999999999d", ""}) {
    auto r = server_->Cli({"extend", "keeper", "--ttl", bad});
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.out << r.err;
  }
  auto r = server_->Cli({"create", "typo", "--ttl", "3 days", "--no-wait"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--ttl"), std::string::npos) << r.err;
  EXPECT_EQ(server_->Cli({"view", "typo"}).exit_code, 3);
  EXPECT_EQ(Json(server_->Cli({"view", "keeper", "-o", "json"}))["spec"]["expires_at"],
            later["spec"]["expires_at"]);
  EXPECT_EQ(server_->Cli({"extend", "nobody", "--ttl", "1h"}).exit_code, 3);
}

TEST_F(Lifecycle, ANamespacesDefaultTtlAppliesWhenACreateNamesNone) {
  StartServer("default_ttl = \"2h\"\n", "\n[namespaces.ci]\ndefault_ttl = \"5s\"\n");
  auto d = Json(server_->Cli({"create", "dflt", "--no-wait", "-o", "json"}));
  EXPECT_EQ(d["spec"]["ttl_seconds"], 7200);
  auto pinned = Json(server_->Cli({"create", "forever", "--ttl", "0", "--no-wait", "-o", "json"}));
  EXPECT_EQ(pinned["spec"]["ttl_seconds"], 0);
  EXPECT_EQ(pinned["spec"]["expires_at"], "");

  auto ci = Json(server_->Cli({"create", "job-1", "-n", "ci", "--wait", "-o", "json"}));
  EXPECT_EQ(ci["spec"]["ttl_seconds"], 5);
  ASSERT_TRUE(GoneWithin("job-1", {"-n", "ci"}, 60)) << server_->LogTail();
  EXPECT_EQ(server_->Cli({"view", "dflt"}).exit_code, 0);
  EXPECT_EQ(server_->Cli({"view", "forever"}).exit_code, 0);
}

TEST_F(Lifecycle, ABranchAlwaysMapsToTheSameEnvironment) {
  StartServer();
  const std::string branch = "feature/JIRA-123_Add stuff";
  auto n = server_->Cli({"name-for", branch});
  ASSERT_EQ(n.exit_code, 0) << n.err;
  EXPECT_EQ(n.out, "feature-jira-123-add-stuff\n");
  EXPECT_EQ(Json(server_->Cli({"name-for", branch, "-o", "json"}))["name"],
            "feature-jira-123-add-stuff");

  auto v = Json(server_->Cli({"create", "--from-branch", branch, "--wait", "-o", "json"}));
  EXPECT_EQ(v["spec"]["name"], "feature-jira-123-add-stuff");
  EXPECT_EQ(v["spec"]["branch"], branch);
  EXPECT_EQ(v["spec"]["labels"]["berth.dev/branch"], "feature-jira-123-add-stuff");
  ASSERT_EQ(v["status"]["phase"], "Running") << v.dump();
  EXPECT_NE(server_->Cli({"view", "feature-jira-123-add-stuff"}).out.find("Branch:      " + branch),
            std::string::npos);

  // The pipeline's next run: the same environment, untouched; without --reuse, exit 4.
  auto again =
      Json(server_->Cli({"create", "--from-branch", branch, "--reuse", "--wait", "-o", "json"}));
  EXPECT_EQ(again["status"]["workload_id"], v["status"]["workload_id"]);
  EXPECT_EQ(again["spec"]["created_at"], v["spec"]["created_at"]);
  EXPECT_EQ(server_->Cli({"create", "--from-branch", branch, "--no-wait"}).exit_code, 4);
  // Another branch that normalizes alike does not get it, even with --reuse.
  auto clash = server_->Cli(
      {"create", "--from-branch", "Feature/jira-123 add_stuff", "--reuse", "--no-wait"});
  EXPECT_EQ(clash.exit_code, 4) << clash.err;
  EXPECT_NE(clash.err.find("for branch \"" + branch + "\""), std::string::npos) << clash.err;

  // A long branch is cut with a hash; the same one gives the same name.
  const std::string long_branch =
      "bugfix/PROJ-4711-make-the-checkout-page-survive-a-very-slow-payment-provider";
  auto ln = server_->Cli({"name-for", long_branch});
  ASSERT_EQ(ln.exit_code, 0);
  std::string lname = ln.out.substr(0, ln.out.size() - 1);
  EXPECT_EQ(lname.size(), 40u);
  EXPECT_EQ(server_->Cli({"name-for", long_branch}).out, ln.out);
  auto lv = Json(server_->Cli({"create", "--from-branch", long_branch, "--no-wait", "-o", "json"}));
  EXPECT_EQ(lv["spec"]["name"], lname);

  // Bad input: exit 2, nothing stored.
  EXPECT_EQ(server_->Cli({"create", "other", "--from-branch", branch, "--no-wait"}).exit_code, 2);
  EXPECT_EQ(server_->Cli({"create", "--from-branch", "bad\nbranch", "--no-wait"}).exit_code, 2);
  EXPECT_EQ(server_->Cli({"name-for", std::string(300, 'a')}).exit_code, 2);
  EXPECT_EQ(server_->Cli({"create", "--no-wait"}).exit_code, 2);
  EXPECT_EQ(server_->Cli({"view", "other"}).exit_code, 3);
  auto all = Json(server_->Cli({"list", "-o", "json"}));
  EXPECT_EQ(all.size(), 2u) << all.dump();
}

TEST_F(Lifecycle, ACreateOverTheNamespacesQuotaIsRefusedNamingIt) {
  StartServer("max_environments = 2\n",
              "\n[namespaces.team]\nmax_environments = 0\nmax_memory = \"3000Mi\"\n");
  ASSERT_EQ(server_->Cli({"create", "one", "--no-wait"}).exit_code, 0);
  ASSERT_EQ(server_->Cli({"create", "two", "--no-wait"}).exit_code, 0);
  auto third = server_->Cli({"create", "three", "--no-wait"});
  EXPECT_EQ(third.exit_code, 5) << third.err;
  EXPECT_NE(third.err.find("namespace default is over its quota: environments would be 3 of at "
                           "most 2 (environments.max_environments)"),
            std::string::npos)
      << third.err;
  EXPECT_EQ(server_->Cli({"view", "three"}).exit_code, 3);
  // A deleted one frees its place.
  ASSERT_EQ(server_->Cli({"delete", "one", "--wait"}).exit_code, 0);
  EXPECT_EQ(server_->Cli({"create", "three", "--no-wait"}).exit_code, 0);

  // Another namespace, its own quota: memory limits (2000Mi each by default).
  ASSERT_EQ(server_->Cli({"create", "a", "-n", "team", "--no-wait"}).exit_code, 0);
  auto big = server_->Cli({"create", "b", "-n", "team", "--no-wait"});
  EXPECT_EQ(big.exit_code, 5);
  EXPECT_NE(big.err.find("memory limits would be 2000Mi in use + 2000Mi of at most 3000Mi "
                         "(namespaces.team.max_memory)"),
            std::string::npos)
      << big.err;
  EXPECT_EQ(server_->Cli({"create", "b", "-n", "team", "--memory-limit", "1000Mi", "--no-wait"})
                .exit_code,
            0);
  // `config view` shows the namespace tables.
  auto cfg = server_->Cli({"config", "view", "-o", "json"});
  EXPECT_NE(cfg.out.find("max_memory = \\\"3000Mi\\\""), std::string::npos) << cfg.out;
}

}  // namespace
}  // namespace berth::testing
