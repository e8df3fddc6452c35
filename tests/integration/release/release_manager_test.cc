// The release manager against real stores — SQLite and a real etcd — and a real "dir" volume,
// with a scripted runtime standing in for the engine: records, the deploy lock, rollback,
// recovery of a lock a dead server left, and the refusals that need no engine (a PVC this
// server cannot write, an image-mode environment, a deleted one).
#include "release/release_manager.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <thread>

#include "berth/store.h"
#include "storage/dir_volumes.h"
#include "store/release_records.h"
#include "support/etcd.h"
#include "support/tar_builder.h"
#include "util/fs.h"

namespace berth::release {
namespace {

using testing::BuildTar;
using testing::TarFile;

// Restarts and execs succeed (or fail as told) and are counted; no ports are probed.
class ScriptedRuntime : public runtime::Runtime {
 public:
  std::string Name() const override { return "scripted"; }
  runtime::Capabilities capabilities() const override {
    runtime::Capabilities c;
    c.restart_in_place = true;
    return c;
  }
  Status Apply(const EnvironmentSpec&, const VolumeMount&, const runtime::ProgressFn&) override {
    return {};
  }
  Result<runtime::WorkloadStatus> Inspect(const EnvironmentSpec&) override {
    return runtime::WorkloadStatus{};
  }
  Status Remove(std::string_view, std::string_view) override { return {}; }
  Status Logs(const EnvironmentSpec&, const runtime::LogOptions&,
              const runtime::LogSink&) override {
    return {};
  }
  Result<std::vector<runtime::OwnedWorkload>> ListManaged() override {
    return std::vector<runtime::OwnedWorkload>{};
  }
  Status Restart(const EnvironmentSpec&) override {
    ++restarts;
    if (hold_restart) std::this_thread::sleep_for(std::chrono::milliseconds(800));
    return {};
  }
  Result<int> Exec(const EnvironmentSpec&, const std::vector<std::string>& argv,
                   std::chrono::milliseconds, std::string* output) override {
    execs.push_back(argv.back());
    if (exec_error) return Fail(*exec_error);
    if (output) *output = "line one\nwhy it failed\n";
    return exit_code;
  }
  std::atomic<int> restarts{0};
  std::vector<std::string> execs;
  int exit_code = 0;
  std::optional<Error> exec_error;  // set: Exec fails so
  bool hold_restart = false;
};

// A volume provider that says the volume is a claim (a Kubernetes PVC).
class ClaimVolumes : public VolumeProvider {
 public:
  std::string Name() const override { return "claim"; }
  Result<VolumeMount> Ensure(const EnvironmentSpec& spec) override {
    return VolumeMount{VolumeMount::Kind::kClaim, "berth-" + spec.name, spec.volume_mount};
  }
  Status Remove(const EnvironmentSpec&) override { return {}; }
};

enum class Backend { kSqlite, kEtcd };

class ReleaseManagerTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kEtcd) {
      if (testing::EtcdServer::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_ETCD=1";
      auto e = testing::EtcdServer::Start();
      ASSERT_TRUE(e) << e.error().message;
      etcd_ = std::move(*e);
      auto s = store::OpenStore(etcd_->url());
      ASSERT_TRUE(s) << s.error().message;
      store_ = std::move(*s);
    } else {
      auto s = store::OpenStore("sqlite://" + dir_.path() + "/berth.db");
      ASSERT_TRUE(s) << s.error().message;
      store_ = std::move(*s);
    }
    storage::DirVolumesOptions vo;
    vo.root = dir_.path() + "/volumes";
    volumes_ = std::make_unique<storage::DirVolumes>(vo);
  }

  std::unique_ptr<ReleaseManager> Manager(VolumeProvider* volumes = nullptr,
                                          std::string holder = "") {
    ReleaseOptions o;
    o.keep = 2;
    o.probe_http = false;
    o.holder = std::move(holder);
    return std::make_unique<ReleaseManager>(
        *store_, runtime_, volumes ? *volumes : *volumes_,
        [this](const std::string&, const std::string&,
               const std::string& image) -> Result<int64_t> {
          rebuilt_.push_back(image);
          return Fail(ErrorCode::kUnavailable, "no controller here");
        },
        o);
  }

  void PutSpec(const std::string& name, ReleaseMode mode, bool sleeping = false,
               std::string reload = "") {
    EnvironmentSpec s;
    s.name = name;
    s.reload_command = std::move(reload);
    s.image = "localhost/app:1";
    s.release_mode = mode;
    s.sleeping = sleeping;
    ASSERT_TRUE(store_->Put(store::keys::Spec("default", name), SerializeSpec(s)));
  }

  util::UniqueFd Archive(const std::string& content) {
    util::UniqueFd fd(::open(dir_.path().c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    std::string tar = BuildTar({TarFile("index.html", content)});
    EXPECT_EQ(::write(fd.get(), tar.data(), tar.size()), static_cast<ssize_t>(tar.size()));
    return fd;
  }

  Result<store::Release> Deploy(ReleaseManager& m, const std::string& content,
                                std::string name = "app") {
    auto fd = Archive(content);
    DeployRequest r;
    r.ns = "default";
    r.name = std::move(name);
    r.archive_fd = fd.get();
    r.message = "m-" + content;
    r.created_by = "tester";
    return m.Deploy(r);
  }

  // Polls until the release is no longer Pending.
  store::Release Settled(ReleaseManager& m, const std::string& id) {
    for (int i = 0; i < 200; ++i) {
      auto r = m.Get("default", "app", id);
      if (r && r->phase != "Pending") return *r;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    ADD_FAILURE() << id << " still Pending";
    return {};
  }

  std::string Volume() { return dir_.path() + "/volumes/default/app"; }
  std::string Current() {
    std::error_code ec;
    auto t = std::filesystem::read_symlink(Volume() + "/current", ec);
    return ec ? "" : t.string();
  }

  util::TempDir dir_{"berth-releases"};
  std::unique_ptr<testing::EtcdServer> etcd_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<storage::DirVolumes> volumes_;
  ScriptedRuntime runtime_;
  std::vector<std::string> rebuilt_;
};

TEST_P(ReleaseManagerTest, RecordsCurrentKeepAndRollback) {
  PutSpec("app", ReleaseMode::kCode);
  auto m = Manager();
  for (int i = 1; i <= 3; ++i) {
    auto r = Deploy(*m, "v" + std::to_string(i));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->id, "r" + std::to_string(i));
    EXPECT_EQ(Settled(*m, r->id).phase, "Running");
  }
  EXPECT_EQ(runtime_.restarts, 3);
  auto list = m->List("default", "app");
  ASSERT_TRUE(list);
  ASSERT_EQ(list->releases.size(), 3u);
  EXPECT_EQ(list->current, "r3");
  EXPECT_EQ(list->releases[2].previous, "r2");
  EXPECT_EQ(list->releases[0].message, "m-v1");
  EXPECT_EQ(list->releases[0].created_by, "tester");
  EXPECT_EQ(list->releases[0].files, 1);
  EXPECT_EQ(list->releases[0].bytes, 2);
  EXPECT_EQ(Current(), "releases/r3");
  // keep = 2: r1 is gone from disk, its record stays.
  EXPECT_FALSE(util::PathExists(Volume() + "/releases/r1"));
  EXPECT_TRUE(util::PathExists(Volume() + "/releases/r2"));

  auto back = m->Rollback("default", "app", "");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->current, "r2");
  EXPECT_EQ(Current(), "releases/r2");
  EXPECT_EQ(util::ReadFile(Volume() + "/current/index.html").value_or(""), "v2");
  auto pruned = m->Rollback("default", "app", "r1");
  ASSERT_FALSE(pruned);
  EXPECT_EQ(pruned.error().code, ErrorCode::kNotFound) << pruned.error().message;
  EXPECT_FALSE(m->Rollback("default", "app", "../r1"));

  // A failing reload command: Failed, rolled back to r2 (restarted there).
  runtime_.exit_code = 5;
  auto fd = Archive("v4");
  DeployRequest bad{"default", "app", fd.get(), "", "", "", "reload-me", false};
  auto r4 = m->Deploy(bad);
  ASSERT_TRUE(r4) << r4.error().message;
  auto f = Settled(*m, r4->id);
  EXPECT_EQ(f.phase, "Failed");
  EXPECT_TRUE(f.rolled_back);
  EXPECT_NE(f.reason.find("reload command exited with 5: line one why it failed"),
            std::string::npos)
      << f.reason;
  EXPECT_EQ(Current(), "releases/r2");
  EXPECT_EQ(m->List("default", "app")->current, "r2");
  EXPECT_EQ(runtime_.execs, (std::vector<std::string>{"reload-me"}));
}

TEST_P(ReleaseManagerTest, TheSpecsReloadCommandIsTheDefaultAndASleepingOneIsNotWoken) {
  PutSpec("app", ReleaseMode::kCode, false, "kill -HUP 1");
  auto m = Manager();
  auto r = Deploy(*m, "v1");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->reload_command, "kill -HUP 1");
  EXPECT_EQ(Settled(*m, "r1").phase, "Running");
  EXPECT_EQ(runtime_.execs, (std::vector<std::string>{"kill -HUP 1"}));
  EXPECT_EQ(runtime_.restarts, 0);

  PutSpec("app", ReleaseMode::kCode, true);
  auto r2 = Deploy(*m, "v2");
  ASSERT_TRUE(r2);
  EXPECT_EQ(Settled(*m, "r2").phase, "Running");
  EXPECT_EQ(runtime_.restarts, 0);
  EXPECT_EQ(runtime_.execs.size(), 1u);
  EXPECT_EQ(Current(), "releases/r2");
}

// A reload command that could not run at all (a cluster refusing pods/exec, no pod running:
// kUnavailable) gives way to the restart; one that ran and failed is the release's failure.
TEST_P(ReleaseManagerTest, AReloadThatCannotRunRestartsInsteadAndOneThatFailsIsTheFailure) {
  PutSpec("app", ReleaseMode::kCode, false, "kill -HUP 1");
  auto m = Manager();
  runtime_.exec_error = Error{ErrorCode::kUnavailable, "exec in pod x was refused: forbidden"};
  ASSERT_TRUE(Deploy(*m, "v1"));
  EXPECT_EQ(Settled(*m, "r1").phase, "Running");
  EXPECT_EQ(runtime_.execs.size(), 1u);
  EXPECT_EQ(runtime_.restarts, 1) << "the code is picked up by a restart instead";
  EXPECT_EQ(Current(), "releases/r1");

  runtime_.exec_error = Error{ErrorCode::kFailed, "exec: container not found"};
  ASSERT_TRUE(Deploy(*m, "v2"));
  auto r2 = Settled(*m, "r2");
  EXPECT_EQ(r2.phase, "Failed");
  EXPECT_NE(r2.reason.find("reload command: exec: container not found"), std::string::npos)
      << r2.reason;
  EXPECT_EQ(Current(), "releases/r1") << "rolled back";
}

TEST_P(ReleaseManagerTest, TheDeployLockLetsOneWin) {
  PutSpec("app", ReleaseMode::kCode);
  runtime_.hold_restart = true;
  auto m = Manager();
  auto first = Deploy(*m, "a");
  ASSERT_TRUE(first) << first.error().message;
  auto second = Deploy(*m, "b");
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kConflict) << second.error().message;
  EXPECT_FALSE(m->Rollback("default", "app", ""));
  EXPECT_EQ(Settled(*m, first->id).phase, "Running");
  EXPECT_TRUE(Deploy(*m, "c"));
  m->Stop();
  // Only the winner's and the later deploy's records exist.
  EXPECT_EQ(m->List("default", "app")->releases.size(), 2u);
}

TEST_P(ReleaseManagerTest, ALockOfADeadServerIsRecovered) {
  PutSpec("app", ReleaseMode::kCode);
  auto m = Manager();
  auto r1 = Deploy(*m, "v1");
  ASSERT_TRUE(r1);
  Settled(*m, "r1");
  // A server that died after switching to r2: its lock, a Pending record, current switched.
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ::waitpid(dead, nullptr, 0);
  store::ReleaseHead h;
  h.next_seq = 3;
  h.current = "r1";
  h.locked_by = "r2";
  h.lock_holder = std::string(host) + "/" + std::to_string(dead);
  h.lock_until = std::time(nullptr) + 3600;
  store::Release r2;
  r2.id = "r2";
  r2.seq = 2;
  r2.mode = "code";
  r2.previous = "r1";
  ASSERT_TRUE(store_->Put(store::ReleaseHeadKey("default", "app"), store::SerializeReleaseHead(h)));
  ASSERT_TRUE(store_->Put(store::ReleaseKey("default", "app", "r2"), store::SerializeRelease(r2)));
  ASSERT_TRUE(util::MakeDirs(Volume() + "/releases/r2"));
  ASSERT_TRUE(util::MakeDirs(Volume() + "/releases/.partial-r3"));
  std::filesystem::remove(Volume() + "/current");
  std::filesystem::create_symlink("releases/r2", Volume() + "/current");

  auto fresh = Manager();
  fresh->RecoverNow();
  auto list = fresh->List("default", "app");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->current, "r1");
  EXPECT_EQ(list->deploying, "");
  EXPECT_EQ(list->releases[1].phase, "Failed");
  EXPECT_NE(list->releases[1].reason.find("interrupted"), std::string::npos);
  EXPECT_EQ(Current(), "releases/r1");
  EXPECT_FALSE(util::PathExists(Volume() + "/releases/.partial-r3"));
  // A live holder's lock (this process) is left alone.
  h.lock_holder = std::string(host) + "/" + std::to_string(::getpid());
  ASSERT_TRUE(store_->Put(store::ReleaseHeadKey("default", "app"), store::SerializeReleaseHead(h)));
  auto other = Manager(nullptr, std::string(host) + "/1");
  other->RecoverNow();
  EXPECT_EQ(other->List("default", "app")->deploying, "r2");
  auto refused = Deploy(*other, "x");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kConflict);
}

TEST_P(ReleaseManagerTest, RefusalsThatNeedNoEngine) {
  PutSpec("img", ReleaseMode::kImage);
  PutSpec("app", ReleaseMode::kCode);
  auto m = Manager();
  auto img = Deploy(*m, "x", "img");
  ASSERT_FALSE(img);
  EXPECT_EQ(img.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(img.error().message.find("image release mode"), std::string::npos);
  auto none = Deploy(*m, "x", "nobody");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kNotFound);

  ClaimVolumes claims;
  auto k8s = Manager(&claims);
  auto pvc = Deploy(*k8s, "x");
  ASSERT_FALSE(pvc);
  EXPECT_EQ(pvc.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(pvc.error().message.find("PersistentVolumeClaim"), std::string::npos)
      << pvc.error().message;
  EXPECT_TRUE(m->List("default", "app")->releases.empty());

  // Image mode goes through the rollout; one that cannot start fails with its reason.
  DeployRequest ir;
  ir.ns = "default";
  ir.name = "img";
  ir.image = "localhost/app:2";
  auto r = m->Deploy(ir);
  ASSERT_TRUE(r) << r.error().message;
  store::Release done;
  for (int i = 0; i < 200; ++i) {
    auto g = m->Get("default", "img", r->id);
    if (g && g->phase != "Pending") {
      done = *g;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_EQ(done.phase, "Failed");
  EXPECT_NE(done.reason.find("no controller here"), std::string::npos) << done.reason;
  EXPECT_EQ(rebuilt_, (std::vector<std::string>{"localhost/app:2", "localhost/app:1"}));
  ir.image = "not a ref";
  EXPECT_FALSE(m->Deploy(ir));
}

INSTANTIATE_TEST_SUITE_P(Stores, ReleaseManagerTest,
                         ::testing::Values(Backend::kSqlite, Backend::kEtcd), [](const auto& info) {
                           return info.param == Backend::kSqlite ? "Sqlite" : "Etcd";
                         });

}  // namespace
}  // namespace berth::release
