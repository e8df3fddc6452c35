// Controller logic against a real SQLite store and an in-memory runtime (pure logic; the real
// runtimes are proven in tests/integration and tests/e2e).
#include "controller/controller.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "api/environment_service.h"
#include "berth/route.h"
#include "core/duration.h"
#include "util/fs.h"

namespace berth::controller {
namespace {

class MemRuntime : public runtime::Runtime {
 public:
  std::string Name() const override { return "memory"; }
  Status Apply(const EnvironmentSpec& spec, const VolumeMount&,
               const runtime::ProgressFn&) override {
    std::lock_guard<std::mutex> lk(mu);
    if (missing_images.count(spec.image))
      return Fail(ErrorCode::kFailed, "image not found: " + spec.image);
    if (timeouts > 0) {  // what the engine client says when a call passes its deadline
      --timeouts;
      return Fail(ErrorCode::kTimeout, "POST http://docker/containers/x/start: timed out");
    }
    for (const auto& p : spec.ports)  // what the docker runtime says after its short wait
      if (held.count(p.host_port))
        return Fail(ErrorCode::kUnavailable, "host port " + std::to_string(p.host_port) + " (" +
                                                 p.name + ") is in use by another process");
    auto& w = workloads[spec.Key()];
    w.exists = true;
    w.phase = Phase::kRunning;
    w.generation = spec.generation;
    w.host_ip = "127.0.0.1";
    w.id = "id-" + spec.Key() + "-" + std::to_string(spec.generation);
    w.ports.clear();
    for (const auto& p : spec.ports) w.ports[p.name] = p.host_port;
    applies++;
    return {};
  }
  Result<runtime::WorkloadStatus> Inspect(const EnvironmentSpec& spec) override {
    std::lock_guard<std::mutex> lk(mu);
    auto it = workloads.find(spec.Key());
    if (it == workloads.end()) return runtime::WorkloadStatus{};
    runtime::WorkloadStatus w = it->second;
    if (w.phase == Phase::kSleeping && !spec.sleeping) {
      // What Docker shows of a stopped container once nobody asked for it to be stopped.
      w.phase = Phase::kFailed;
      w.reason = "Exited(0)";
    }
    return w;
  }
  Status Sleep(const EnvironmentSpec& spec, const VolumeMount&) override {
    std::lock_guard<std::mutex> lk(mu);
    auto it = workloads.find(spec.Key());
    if (it == workloads.end()) return {};
    it->second.phase = Phase::kSleeping;
    it->second.reason = "Sleeping";
    sleeps++;
    return {};
  }
  Status Remove(std::string_view ns, std::string_view name) override {
    std::lock_guard<std::mutex> lk(mu);
    workloads.erase(std::string(ns) + "/" + std::string(name));
    return {};
  }
  // As a cluster does: the first `remove_passes` asks find the workload still going.
  Result<bool> SubmitRemove(std::string_view ns, std::string_view name) override {
    {
      std::lock_guard<std::mutex> lk(mu);
      if (remove_passes > 0) {
        --remove_passes;
        return false;
      }
    }
    if (auto s = Remove(ns, name); !s) return Fail(s.error());
    return true;
  }
  Status Logs(const EnvironmentSpec&, const runtime::LogOptions&,
              const runtime::LogSink&) override {
    return {};
  }
  Result<std::vector<runtime::OwnedWorkload>> ListManaged() override {
    std::lock_guard<std::mutex> lk(mu);
    std::vector<runtime::OwnedWorkload> out;
    for (const auto& [k, w] : workloads) {
      auto slash = k.find('/');
      // What Apply made carries this runtime's installation; `labelled` says otherwise.
      auto l = labelled.find(k);
      out.push_back({k.substr(0, slash), k.substr(slash + 1), w.id, w.generation,
                     l != labelled.end() ? l->second : ownership().installation});
    }
    return out;
  }
  std::map<std::string, std::string> labelled;  // key -> installation label of foreign ones
  std::mutex mu;
  std::map<std::string, runtime::WorkloadStatus> workloads;
  std::set<std::string> missing_images;
  std::set<int> held;  // host ports "another process" holds
  int timeouts = 0;    // the next Apply calls that time out
  int applies = 0;
  int sleeps = 0;
  int remove_passes = 0;
};

class MemVolumes : public VolumeProvider {
 public:
  std::string Name() const override { return "memory"; }
  Result<VolumeMount> Ensure(const EnvironmentSpec& s) override {
    volumes.insert(s.Key());
    return VolumeMount{VolumeMount::Kind::kBind, "/vol/" + s.Key(), s.volume_mount};
  }
  Status Remove(const EnvironmentSpec& s) override {
    volumes.erase(s.Key());
    return {};
  }
  std::set<std::string> volumes;
};

class ControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::OpenStore("sqlite://" + dir.path() + "/berth.db");
    ASSERT_TRUE(s) << s.error().message;
    st = std::move(*s);
    cfg = DefaultConfig();
    cfg.base_domains = {"ctest.a.com", "ctest.b.com"};
    cfg.port_min = 31000;
    cfg.port_max = 31999;
    service = std::make_unique<api::EnvironmentService>(*st, cfg);
    ctl = std::make_unique<Controller>(*st, rt, vols, ControllerOptions{});
  }
  EnvironmentSpec Spec(const std::string& name, const std::string& image = "localhost/app:1") {
    EnvironmentSpec s;
    s.name = name;
    s.image = image;
    return s;
  }
  util::TempDir dir{"berth-ctl"};
  std::unique_ptr<store::Store> st;
  Config cfg;
  MemRuntime rt;
  MemVolumes vols;
  std::unique_ptr<api::EnvironmentService> service;
  std::unique_ptr<Controller> ctl;
};

TEST_F(ControllerTest, CreateConvergesToRunningWithOriginalRouteRecord) {
  auto v = service->Create(Spec("test-txcc"));
  ASSERT_TRUE(v) << v.error().message;
  ASSERT_TRUE(ctl->Reconcile("default/test-txcc"));
  auto got = service->Get("default", "test-txcc");
  ASSERT_TRUE(got);
  ASSERT_TRUE(got->status);
  EXPECT_EQ(got->status->phase, Phase::kRunning);
  EXPECT_EQ(got->status->host_ip, "127.0.0.1");
  EXPECT_EQ(got->status->observed_generation, 1);
  // Kept (the user's), but a Running status makes later failures keep the environment.
  EXPECT_TRUE(got->spec.rollback_on_failure);
  int http = got->spec.PortFor("http");
  EXPECT_GE(http, 31000);
  auto route = st->Get("/devnginx/default/test-txcc");
  ASSERT_TRUE(route && *route);
  EXPECT_EQ((*route)->value,
            "{\"name\": \"test-txcc\", \"http_port\": " + std::to_string(http) +
                ", \"https_port\": " + std::to_string(got->spec.PortFor("https")) +
                ", \"domain\": \"test-txcc.ctest.a.com test-txcc.ctest.b.com\", \"host_ip\": "
                "\"127.0.0.1\"}");
  EXPECT_EQ(vols.volumes.count("default/test-txcc"), 1u);
}

TEST_F(ControllerTest, ReconcileIsIdempotent) {
  ASSERT_TRUE(service->Create(Spec("idem")));
  ASSERT_TRUE(ctl->Reconcile("default/idem"));
  auto rev = st->Revision();
  ASSERT_TRUE(ctl->Reconcile("default/idem"));
  ASSERT_TRUE(ctl->Reconcile("default/idem"));
  EXPECT_EQ(rt.applies, 1);
  EXPECT_EQ(*st->Revision(), *rev);  // no write storm
}

TEST_F(ControllerTest, RebuildReplacesWorkloadKeepingPortsAndVolume) {
  auto v = service->Create(Spec("rb"));
  ASSERT_TRUE(v);
  ASSERT_TRUE(ctl->Reconcile("default/rb"));
  auto before = service->Get("default", "rb");
  auto r = service->Rebuild("default", "rb", "localhost/app:2");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->spec.generation, 2);
  ASSERT_TRUE(ctl->Reconcile("default/rb"));
  auto after = service->Get("default", "rb");
  EXPECT_EQ(after->status->observed_generation, 2);
  EXPECT_EQ(after->spec.image, "localhost/app:2");
  EXPECT_EQ(after->spec.ports, before->spec.ports);
  EXPECT_NE(after->status->workload_id, before->status->workload_id);
  EXPECT_EQ(rt.applies, 2);
}

TEST_F(ControllerTest, DeleteRemovesEverythingButTheVolume) {
  ASSERT_TRUE(service->Create(Spec("del")));
  ASSERT_TRUE(ctl->Reconcile("default/del"));
  ASSERT_TRUE(service->Delete("default", "del", false));
  ASSERT_TRUE(ctl->Reconcile("default/del"));
  EXPECT_EQ(service->Get("default", "del").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(rt.workloads.empty());
  EXPECT_FALSE(*st->Get("/devnginx/default/del"));
  EXPECT_TRUE(st->List("/berth/ports/")->kvs.empty());
  EXPECT_TRUE(st->List("/berth/status/")->kvs.empty());
  EXPECT_EQ(vols.volumes.count("default/del"), 1u);  // kept without --purge
}

TEST_F(ControllerTest, PurgeRemovesTheVolume) {
  ASSERT_TRUE(service->Create(Spec("purge")));
  ASSERT_TRUE(ctl->Reconcile("default/purge"));
  ASSERT_TRUE(service->Delete("default", "purge", true));
  ASSERT_TRUE(ctl->Reconcile("default/purge"));
  EXPECT_TRUE(vols.volumes.empty());
}

// The status records written for `key` since revision `from` (what watchers saw).
std::vector<EnvStatus> StatusesSince(store::Store& st, const std::string& ns,
                                     const std::string& name, int64_t from) {
  std::vector<EnvStatus> out;
  auto w = st.WatchPrefix(store::keys::Status(ns, name), from);  // events after `from`
  if (!w) return out;
  for (;;) {
    auto evs = (*w)->Next(std::chrono::milliseconds(100));
    if (!evs || evs->empty()) break;
    for (const auto& e : *evs)
      if (e.type == store::WatchEvent::Type::kPut)
        if (auto p = ParseStatus(e.kv.value)) out.push_back(*p);
  }
  return out;
}

TEST_F(ControllerTest, FailedCreateRollsBackLeavingNothing) {
  rt.missing_images.insert("localhost/nope:1");
  ASSERT_TRUE(service->Create(Spec("bad", "localhost/nope:1")));
  const int64_t from = *st->Revision();
  // Records the failure and the rollback in the status, then removes everything.
  ASSERT_TRUE(ctl->Reconcile("default/bad"));
  EXPECT_EQ(service->Get("default", "bad").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(st->List("/berth/")->kvs.empty());
  EXPECT_TRUE(vols.volumes.empty());
  auto seen = StatusesSince(*st, "default", "bad", from);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().phase, Phase::kFailed) << "what create --wait reports until it is gone";
  EXPECT_TRUE(seen.back().rolling_back);
  EXPECT_NE(seen.back().last_error.find("image not found"), std::string::npos);
  EXPECT_EQ(seen.back().events.back().reason, "RollingBack");
}

// A rollback that cannot finish in one pass (the workload still going) goes on from the
// status record: the spec is never written by the controller.
TEST_F(ControllerTest, ARollbackGoesOnFromTheStatusWithoutTouchingTheSpec) {
  rt.missing_images.insert("localhost/nope:1");
  rt.remove_passes = 2;  // SubmitRemove says "still going" twice
  ASSERT_TRUE(service->Create(Spec("slow", "localhost/nope:1")));
  const int64_t spec_rev = (*st->Get(store::keys::Spec("default", "slow")))->mod_revision;
  ASSERT_TRUE(ctl->Reconcile("default/slow"));
  auto mid = service->Get("default", "slow");
  ASSERT_TRUE(mid);
  EXPECT_FALSE(mid->spec.deleting) << "the spec is the user's";
  EXPECT_TRUE(mid->status->rolling_back);
  EXPECT_EQ(mid->revision, spec_rev);
  // It is going away: a rebuild is refused as for a deleting one; a delete is taken.
  auto rebuild = service->Rebuild("default", "slow", "localhost/app:1");
  ASSERT_FALSE(rebuild);
  EXPECT_EQ(rebuild.error().code, ErrorCode::kConflict);
  EXPECT_NE(rebuild.error().message.find("first rollout failed"), std::string::npos);
  ASSERT_TRUE(service->Delete("default", "slow", false));
  for (int i = 0; i < 3 && service->Get("default", "slow"); ++i)
    ASSERT_TRUE(ctl->Reconcile("default/slow"));
  EXPECT_EQ(service->Get("default", "slow").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(vols.volumes.empty());
}

// One writer per part: the API writes the spec record (never a status), the controller the
// status record (never the spec) until it removes both to finish a deletion.
TEST_F(ControllerTest, TheApiWritesSpecsAndTheControllerStatusesOnly) {
  auto v = service->Create(Spec("owned"));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->status->reason, "Accepted") << "shown, not stored";
  EXPECT_FALSE(*st->Get(store::keys::Status("default", "owned"))) << "the API wrote no status";
  auto spec_rev = [&] { return (*st->Get(store::keys::Spec("default", "owned")))->mod_revision; };
  auto status_rev = [&] {
    auto kv = st->Get(store::keys::Status("default", "owned"));
    return kv && *kv ? (*kv)->mod_revision : 0;
  };
  int64_t spec_at = spec_rev();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(ctl->Reconcile("default/owned"));
  EXPECT_EQ(service->Get("default", "owned")->status->phase, Phase::kRunning);
  EXPECT_EQ(spec_rev(), spec_at) << "the controller never writes the spec";
  EXPECT_NE(status_rev(), 0);
  // The API's writes leave the status record alone.
  int64_t status_at = status_rev();
  ASSERT_TRUE(service->Rebuild("default", "owned", ""));
  ASSERT_TRUE(service->Extend("default", "owned", 600));
  EXPECT_EQ(status_rev(), status_at) << "the API never writes the status";
  spec_at = spec_rev();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(ctl->Reconcile("default/owned"));
  EXPECT_EQ(spec_rev(), spec_at);
  ASSERT_TRUE(service->Delete("default", "owned", false));
  auto marked = st->Get(store::keys::Spec("default", "owned"));
  ASSERT_TRUE(marked && *marked);
  EXPECT_NE((*marked)->value.find("\"deletionTimestamp\""), std::string::npos);
  ASSERT_TRUE(ctl->Reconcile("default/owned"));
  EXPECT_FALSE(*st->Get(store::keys::Spec("default", "owned"))) << "removed to finish";
  EXPECT_FALSE(*st->Get(store::keys::Status("default", "owned")));
}

// An engine call that passes its deadline (a loaded host) is not the environment's failure: no
// Failed phase for `create --wait` to give up on, no rollback of the first rollout; the next
// pass (the queue's backoff) starts it.
TEST_F(ControllerTest, AnEngineTimeOutIsRetriedNotAFailure) {
  rt.timeouts = 2;
  ASSERT_TRUE(service->Create(Spec("slow")));
  EXPECT_FALSE(ctl->Reconcile("default/slow"));
  auto v = service->Get("default", "slow");
  ASSERT_TRUE(v) << "a time-out rolled the first rollout back";
  ASSERT_TRUE(v->status);
  EXPECT_EQ(v->status->phase, Phase::kPending);
  EXPECT_EQ(v->status->reason, "ApplyTimeout");
  EXPECT_FALSE(v->status->rolling_back);
  EXPECT_EQ(v->status->events.back().reason, "ApplyTimeout");
  EXPECT_FALSE(ctl->Reconcile("default/slow"));
  ASSERT_TRUE(ctl->Reconcile("default/slow"));
  v = service->Get("default", "slow");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->status->phase, Phase::kRunning);
  EXPECT_TRUE(v->status->last_error.empty()) << v->status->last_error;
}

TEST_F(ControllerTest, FailedRebuildKeepsTheEnvironment) {
  ASSERT_TRUE(service->Create(Spec("keep")));
  ASSERT_TRUE(ctl->Reconcile("default/keep"));
  rt.missing_images.insert("localhost/nope:1");
  ASSERT_TRUE(service->Rebuild("default", "keep", "localhost/nope:1"));
  EXPECT_FALSE(ctl->Reconcile("default/keep"));
  auto v = service->Get("default", "keep");
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->spec.deleting);
  EXPECT_EQ(v->status->phase, Phase::kFailed);
}

TEST_F(ControllerTest, GarbageCollectsOrphans) {
  EnvironmentSpec orphan = Spec("orphan");
  orphan.ports = DefaultPorts();
  ASSERT_TRUE(rt.Apply(orphan, {}, nullptr));
  ASSERT_TRUE(st->Put("/berth/status/default/ghost", "{}"));
  ASSERT_TRUE(st->Put("/berth/ports/31555", "default/ghost"));
  ASSERT_TRUE(service->Create(Spec("alive")));
  ASSERT_TRUE(ctl->Reconcile("default/alive"));
  ASSERT_TRUE(ctl->CollectGarbage());
  EXPECT_EQ(rt.workloads.count("default/orphan"), 0u);
  EXPECT_EQ(rt.workloads.count("default/alive"), 1u);
  EXPECT_FALSE(*st->Get("/berth/status/default/ghost"));
  EXPECT_FALSE(*st->Get("/berth/ports/31555"));
}

// Orphan collection selects managed-by=berth AND this installation's id: another
// installation's workloads and route records, and an earlier release's unadopted ones, stay.
TEST_F(ControllerTest, GarbageCollectionTouchesOnlyThisInstallationsThings) {
  const std::string mine = "1111111111111111", theirs = "2222222222222222";
  rt.SetOwnership({mine, {}});
  ControllerOptions o;
  o.installation = mine;
  ctl = std::make_unique<Controller>(*st, rt, vols, o);
  for (const char* n : {"theirs", "old", "orphan"}) ASSERT_TRUE(rt.Apply(Spec(n), {}, nullptr));
  rt.labelled["default/theirs"] = theirs;
  rt.labelled["default/old"] = "";
  auto route = [&](const std::string& name, const std::string& inst) {
    Route r{"default", name, 31001, 0, {name + ".ctest.a.com"}, "127.0.0.1", inst};
    ASSERT_TRUE(st->Put(store::keys::Route("default", name), SerializeRoute(r)));
  };
  route("theirs", theirs);
  route("old", "");
  route("orphan", mine);
  ASSERT_TRUE(ctl->CollectGarbage());
  EXPECT_EQ(rt.workloads.count("default/theirs"), 1u);
  EXPECT_EQ(rt.workloads.count("default/old"), 1u);
  EXPECT_EQ(rt.workloads.count("default/orphan"), 0u);
  EXPECT_TRUE(*st->Get("/devnginx/default/theirs"));
  EXPECT_TRUE(*st->Get("/devnginx/default/old"));
  EXPECT_FALSE(*st->Get("/devnginx/default/orphan"));
  // A reconcile of a key with no spec here (a change event) leaves the other's route too.
  ASSERT_TRUE(ctl->Reconcile("default/theirs"));
  EXPECT_TRUE(*st->Get("/devnginx/default/theirs"));
}

// The route record carries the installation that wrote it.
TEST_F(ControllerTest, RouteRecordCarriesTheInstallation) {
  ControllerOptions o;
  o.installation = "1111111111111111";
  ctl = std::make_unique<Controller>(*st, rt, vols, o);
  ASSERT_TRUE(service->Create(Spec("routed")));
  ASSERT_TRUE(ctl->Reconcile("default/routed"));
  auto r = st->Get("/devnginx/default/routed");
  ASSERT_TRUE(r && *r);
  EXPECT_EQ(RouteInstallation((*r)->value), "1111111111111111") << (*r)->value;
}

TEST_F(ControllerTest, DuplicateCreateIsRefusedAndChangesNothing) {
  ASSERT_TRUE(service->Create(Spec("dup")));
  auto rev = st->Revision();
  auto again = service->Create(Spec("dup"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(*st->Revision(), *rev);
}

TEST_F(ControllerTest, InvalidInputNeverReachesTheStore) {
  for (const char* bad : {"Bad", "a;b", "x y", "-x", ""}) {
    auto r = service->Create(Spec(bad));
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
  auto r = service->Create(Spec("okname", "not a ref"));
  ASSERT_FALSE(r);
  EXPECT_TRUE(st->List("/")->kvs.empty());
}

TEST_F(ControllerTest, FiftyConcurrentCreatesGetDistinctPorts) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 50; ++i)
    threads.emplace_back([&, i] {
      if (service->Create(Spec("env" + std::to_string(i)))) ok++;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 50);
  auto ports = st->List("/berth/ports/");
  EXPECT_EQ(ports->kvs.size(), 150u);
  std::set<int> seen;
  auto listed = service->List("default");
  ASSERT_TRUE(listed);
  for (auto& v : *listed)
    for (auto& p : v.spec.ports) EXPECT_TRUE(seen.insert(p.host_port).second) << p.host_port;
  EXPECT_EQ(seen.size(), 150u);
}

TEST_F(ControllerTest, RunningLoopConvergesFromTheWatch) {
  ctl->Start();
  ASSERT_TRUE(service->Create(Spec("looped")));
  for (int i = 0; i < 200; ++i) {
    auto v = service->Get("default", "looped");
    if (v && v->status && v->status->phase == Phase::kRunning) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto v = service->Get("default", "looped");
  ctl->Stop();
  ASSERT_TRUE(v && v->status);
  EXPECT_EQ(v->status->phase, Phase::kRunning);
}

// A port another process took after allocation: the API moves an auto-assigned one in one
// transaction (new reservation, old one released, the spec), the controller records it in the
// status (it never writes the spec), and the route follows.
TEST_F(ControllerTest, AHeldAutoAssignedPortMovesAndTheRouteFollows) {
  ControllerOptions o;
  o.host_port_busy = [this](int port) { return rt.held.count(port) > 0; };
  service = std::make_unique<api::EnvironmentService>(*st, cfg, o.host_port_busy);
  o.move_held_ports = [this](const std::string& ns, const std::string& name,
                             const std::string& uid) {
    return service->MoveHeldPorts(ns, name, uid);
  };
  ctl = std::make_unique<Controller>(*st, rt, vols, o);
  auto v = service->Create(Spec("mover"));
  ASSERT_TRUE(v) << v.error().message;
  const int http = v->spec.PortFor("http"), ssh = v->spec.PortFor("ssh");
  rt.held.insert(http);
  ASSERT_TRUE(ctl->Reconcile("default/mover"));
  auto moved = service->Get("default", "mover");
  ASSERT_TRUE(moved && moved->status);
  const int now = moved->spec.PortFor("http");
  EXPECT_NE(now, http);
  EXPECT_GE(now, cfg.port_min);
  EXPECT_LE(now, cfg.port_max);
  EXPECT_EQ(moved->spec.PortFor("ssh"), ssh);  // only the held port moves
  EXPECT_EQ(moved->status->reason, "PortReallocated");
  ASSERT_FALSE(moved->status->events.empty());
  EXPECT_EQ(moved->status->events.back().message, "host port held by another process; moved " +
                                                      std::to_string(http) + " (http) -> " +
                                                      std::to_string(now));
  EXPECT_FALSE(*st->Get(store::keys::Port(http)));
  auto reservation = st->Get(store::keys::Port(now));
  ASSERT_TRUE(reservation && *reservation);
  EXPECT_EQ((*reservation)->value, "default/mover");

  ASSERT_TRUE(ctl->Reconcile("default/mover"));
  auto up = service->Get("default", "mover");
  EXPECT_EQ(up->status->phase, Phase::kRunning);
  EXPECT_EQ(up->status->ports.at("http"), now);
  auto route = st->Get("/devnginx/default/mover");
  ASSERT_TRUE(route && *route);
  EXPECT_NE((*route)->value.find("\"http_port\": " + std::to_string(now)), std::string::npos);
}

TEST_F(ControllerTest, AHeldPinnedPortIsNotMovedButNamed) {
  ControllerOptions o;
  o.host_port_busy = [this](int port) { return rt.held.count(port) > 0; };
  service = std::make_unique<api::EnvironmentService>(*st, cfg, o.host_port_busy);
  o.move_held_ports = [this](const std::string& ns, const std::string& name,
                             const std::string& uid) {
    return service->MoveHeldPorts(ns, name, uid);
  };
  ctl = std::make_unique<Controller>(*st, rt, vols, o);
  EnvironmentSpec s = Spec("pinned");
  s.ports = {PortSpec{"http", 80, 31500, false}};
  ASSERT_TRUE(service->Create(s));
  rt.held.insert(31500);
  EXPECT_FALSE(ctl->Reconcile("default/pinned"));
  auto v = service->Get("default", "pinned");
  ASSERT_TRUE(v && v->status);
  EXPECT_EQ(v->spec.PortFor("http"), 31500);
  EXPECT_EQ(v->status->reason, "HostPortInUse");
  EXPECT_NE(v->status->last_error.find("host port 31500 (http) was pinned"), std::string::npos)
      << v->status->last_error;
}

TEST_F(ControllerTest, ADomainIsRoutedOnlyToItsClaimOwner) {
  std::vector<std::string> served;  // what the router gives the environment
  ControllerOptions o;
  o.routed_domains = [&](const std::string&, const std::string&) { return served; };
  ctl = std::make_unique<Controller>(*st, rt, vols, o, [](int64_t) { return true; });
  ASSERT_TRUE(service->Create(Spec("web")));
  // The claim of one of its domains belongs to someone else (a store from before claims).
  ASSERT_TRUE(st->Put(store::keys::Domain("web.ctest.b.com"), "default/first"));
  ASSERT_TRUE(ctl->Reconcile("default/web"));
  auto route = st->Get("/devnginx/default/web");
  ASSERT_TRUE(route && *route);
  EXPECT_NE((*route)->value.find("\"domain\": \"web.ctest.a.com\""), std::string::npos)
      << (*route)->value;
  auto v = service->Get("default", "web");
  EXPECT_FALSE(v->status->routed);  // a domain of its spec is not its own

  ASSERT_TRUE(st->Delete(store::keys::Domain("web.ctest.b.com")));
  ASSERT_TRUE(st->Put(store::keys::Domain("web.ctest.b.com"), "default/web"));
  served = {"web.ctest.a.com"};  // the router still gives b to another record
  ASSERT_TRUE(service->Rebuild("default", "web", ""));
  ASSERT_TRUE(ctl->Reconcile("default/web"));
  EXPECT_FALSE(service->Get("default", "web")->status->routed);
  served = {"web.ctest.a.com", "web.ctest.b.com"};
  ASSERT_TRUE(service->Rebuild("default", "web", ""));
  ASSERT_TRUE(ctl->Reconcile("default/web"));
  EXPECT_TRUE(service->Get("default", "web")->status->routed);
}

// The router is looked at, never waited for: a reconcile whose route the router has not
// applied yet ends with Running and routed=false (and the workload of a deleted environment
// stays until the route's removal is applied); RoutesApplied brings the key back.
TEST_F(ControllerTest, TheRouterIsNeverWaitedFor) {
  std::atomic<int64_t> applied{0};
  ControllerOptions o;
  o.workers = 1;
  ctl = std::make_unique<Controller>(*st, rt, vols, o,
                                     [&](int64_t rev) { return applied.load() >= rev; });
  ASSERT_TRUE(service->Create(Spec("web")));
  ASSERT_TRUE(ctl->Reconcile("default/web"));
  auto v = service->Get("default", "web");
  ASSERT_TRUE(v && v->status);
  EXPECT_EQ(v->status->phase, Phase::kRunning);
  EXPECT_FALSE(v->status->routed) << "the router has not applied the route yet";
  auto route = st->Get("/devnginx/default/web");
  ASSERT_TRUE(route && *route);

  // The router gets there: the key comes back (through the running controller's queue).
  ctl->Start();
  applied = *st->Revision();
  ctl->RoutesApplied(applied);
  bool routed = false;
  for (int i = 0; i < 200 && !routed; ++i) {
    auto w = service->Get("default", "web");
    routed = w && w->status && w->status->routed;
    if (!routed) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(routed);
  ctl->Stop();

  // Deleted: the route goes first, and the workload only once the router has applied that.
  ASSERT_TRUE(service->Delete("default", "web", false));
  ASSERT_TRUE(ctl->Reconcile("default/web"));
  auto gone = st->Get("/devnginx/default/web");
  ASSERT_TRUE(gone);
  EXPECT_FALSE(*gone) << "the route record is deleted first";
  {
    std::lock_guard<std::mutex> lk(rt.mu);
    EXPECT_TRUE(rt.workloads.count("default/web")) << "removed before the router stopped traffic";
  }
  applied = *st->Revision();
  ASSERT_TRUE(ctl->Reconcile("default/web"));
  {
    std::lock_guard<std::mutex> lk(rt.mu);
    EXPECT_FALSE(rt.workloads.count("default/web"));
  }
  EXPECT_EQ(service->Get("default", "web").error().code, ErrorCode::kNotFound);
}

TEST_F(ControllerTest, DomainClaimsLiveAndDieWithTheEnvironment) {
  auto a = service->Create(Spec("alpha"));
  ASSERT_TRUE(a);
  auto claim = st->Get(store::keys::Domain("alpha.ctest.a.com"));
  ASSERT_TRUE(claim && *claim);
  EXPECT_EQ((*claim)->value, "default/alpha");
  // Same domain, any spelling, any namespace: refused naming the owner; nothing stored.
  auto rev = st->Revision();
  for (const char* d : {"alpha.ctest.a.com", "ALPHA.ctest.A.com.", "Alpha.Ctest.a.com"}) {
    EnvironmentSpec s = Spec("beta");
    s.ns = "other";
    s.domains = {d};
    auto r = service->Create(s);
    ASSERT_FALSE(r) << d;
    EXPECT_EQ(r.error().code, ErrorCode::kAlreadyExists);
    EXPECT_EQ(r.error().message, "domain alpha.ctest.a.com is taken by default/alpha");
  }
  EXPECT_EQ(*st->Revision(), *rev);
  ASSERT_TRUE(ctl->Reconcile("default/alpha"));
  ASSERT_TRUE(service->Delete("default", "alpha", false));
  ASSERT_TRUE(ctl->Reconcile("default/alpha"));
  EXPECT_TRUE(st->List(store::keys::kDomains)->kvs.empty());
  EnvironmentSpec s = Spec("beta");
  s.domains = {"Alpha.ctest.a.com."};
  auto b = service->Create(s);
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(b->spec.domains, std::vector<std::string>{"alpha.ctest.a.com"});
  // A claim whose environment is gone (a crash between releases) is collected.
  ASSERT_TRUE(st->Put(store::keys::Domain("ghost.ctest.a.com"), "default/ghost"));
  ASSERT_TRUE(ctl->CollectGarbage());
  EXPECT_FALSE(*st->Get(store::keys::Domain("ghost.ctest.a.com")));
  EXPECT_TRUE(*st->Get(store::keys::Domain("alpha.ctest.a.com")));
}

TEST_F(ControllerTest, DomainsOutsideTheBaseDomainsNeedTheAdminsList) {
  auto create = [&](const std::string& name, const std::string& domain) {
    EnvironmentSpec s = Spec(name);
    s.domains = {domain};
    return service->Create(s);
  };
  for (const char* d : {"www.example.com", "ctest.a.com", "x.ctest.a.com.evil.net", "10.0.0.1",
                        "127.1", "1.2.3.4."}) {
    auto r = create("nope", d);
    ASSERT_FALSE(r) << d;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << d;
  }
  cfg.allowed_domains = {"example.com"};
  service = std::make_unique<api::EnvironmentService>(*st, cfg);
  EXPECT_TRUE(create("shop", "www.example.com"));
  EXPECT_TRUE(create("apex", "example.com"));
  EXPECT_FALSE(create("lookalike", "notexample.com"));
  EXPECT_FALSE(create("ip", "10.0.0.1"));  // never, whatever the list says
}

TEST_F(ControllerTest, ExplicitHostPortsStayInTheRange) {
  for (int port : {5, 8880, 30999, 32000, 40000}) {
    EnvironmentSpec s = Spec("pin");
    s.ports = {PortSpec{"http", 80, port, true}};
    auto r = service->Create(s);
    ASSERT_FALSE(r) << port;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find("host port " + std::to_string(port) +
                                     " is outside the host port range 31000-31999"),
              std::string::npos)
        << r.error().message;
  }
  EXPECT_TRUE(st->List("/")->kvs.empty());
  cfg.extra_host_ports = {8880};
  service = std::make_unique<api::EnvironmentService>(*st, cfg);
  EnvironmentSpec s = Spec("pin");
  s.ports = {PortSpec{"http", 80, 8880, true}, PortSpec{"ssh", 22, 0, false}};
  auto r = service->Create(s);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->spec.ports[0].auto_assigned);  // the request's word is not taken
  EXPECT_TRUE(r->spec.ports[1].auto_assigned);
}

TEST_F(ControllerTest, AllocationSkipsHeldPorts) {
  cfg.port_min = 31000;
  cfg.port_max = 31005;
  std::set<int> held = {31000, 31002, 31004};
  service = std::make_unique<api::EnvironmentService>(
      *st, cfg, [&](int port) { return held.count(port) > 0; });
  auto v = service->Create(Spec("skip"));
  ASSERT_TRUE(v) << v.error().message;
  std::set<int> got;
  for (const auto& p : v->spec.ports) got.insert(p.host_port);
  EXPECT_EQ(got, (std::set<int>{31001, 31003, 31005}));
  auto full = service->Create(Spec("full"));
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(full.error().message.find("3 held by other processes"), std::string::npos);
}

// Moves an environment's expiry to `seconds_from_now` straight in the store (a test cannot wait
// for a real TTL in a unit test).
void SetExpiry(store::Store& st, const std::string& name, int64_t seconds_from_now) {
  auto kv = st.Get(store::keys::Spec("default", name));
  ASSERT_TRUE(kv && *kv);
  auto spec = ParseSpec((*kv)->value);
  ASSERT_TRUE(spec);
  spec->expires_at = core::FormatRfc3339Utc(core::NowEpochSeconds() + seconds_from_now);
  ASSERT_TRUE(st.Put((*kv)->key, SerializeSpec(*spec)));
}

TEST_F(ControllerTest, AnExpiredEnvironmentGetsAnEventThenIsDeletedKeepingItsVolume) {
  auto spec = Spec("ttl");
  spec.ttl_seconds = 60;
  api::CreateOptions o;
  o.ttl_given = true;
  auto v = service->Create(spec, o);
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_FALSE(v->spec.expires_at.empty());
  ASSERT_TRUE(ctl->Reconcile("default/ttl"));
  ASSERT_EQ(service->Get("default", "ttl")->status->phase, Phase::kRunning);

  SetExpiry(*st, "ttl", -1);
  const int64_t from = *st->Revision();
  ASSERT_TRUE(ctl->Reconcile("default/ttl"));  // the event, then the deletion
  EXPECT_EQ(service->Get("default", "ttl").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(rt.workloads.empty());
  EXPECT_EQ(vols.volumes.count("default/ttl"), 1u);
  auto seen = StatusesSince(*st, "default", "ttl", from);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().phase, Phase::kDeleting);
  EXPECT_EQ(seen.back().reason, "Expired");
  EXPECT_EQ(seen.back().events.back().reason, "Expired");
  EXPECT_NE(seen.back().events.back().message.find("volume kept"), std::string::npos);
}

// An extend that lands while an expiry is being carried out wins: the records stay and the
// environment runs again.
TEST_F(ControllerTest, AnExtendDuringTheExpiryKeepsTheEnvironment) {
  auto spec = Spec("late");
  spec.ttl_seconds = 60;
  api::CreateOptions o;
  o.ttl_given = true;
  ASSERT_TRUE(service->Create(spec, o));
  ASSERT_TRUE(ctl->Reconcile("default/late"));
  rt.remove_passes = 1;  // the workload takes a pass to go
  SetExpiry(*st, "late", -1);
  ASSERT_TRUE(ctl->Reconcile("default/late"));
  ASSERT_TRUE(service->Get("default", "late"));
  ASSERT_TRUE(service->Extend("default", "late", 3600));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(ctl->Reconcile("default/late"));
  auto v = service->Get("default", "late");
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->status->phase, Phase::kRunning);
}

TEST_F(ControllerTest, PurgeOnExpiryTakesTheVolumeAndAFutureExpiryChangesNothing) {
  auto spec = Spec("soon");
  spec.ttl_seconds = 3600;
  spec.purge_on_expiry = true;
  api::CreateOptions o;
  o.ttl_given = true;
  ASSERT_TRUE(service->Create(spec, o));
  ASSERT_TRUE(ctl->Reconcile("default/soon"));
  auto rev = st->Revision();
  ASSERT_TRUE(ctl->Reconcile("default/soon"));  // not yet: nothing written
  EXPECT_EQ(*st->Revision(), *rev);
  EXPECT_FALSE(service->Get("default", "soon")->spec.deleting);
  SetExpiry(*st, "soon", 0);
  ASSERT_TRUE(ctl->Reconcile("default/soon"));
  ASSERT_TRUE(ctl->Reconcile("default/soon"));
  EXPECT_EQ(service->Get("default", "soon").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(vols.volumes.empty());
}

TEST_F(ControllerTest, ExtendMovesTheExpiryAndZeroClearsIt) {
  auto spec = Spec("ext");
  spec.ttl_seconds = 60;
  api::CreateOptions o;
  o.ttl_given = true;
  ASSERT_TRUE(service->Create(spec, o));
  auto e = service->Extend("default", "ext", 7200);
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->spec.ttl_seconds, 7200);
  auto at = core::ParseRfc3339Utc(e->spec.expires_at);
  ASSERT_TRUE(at);
  EXPECT_NEAR(static_cast<double>(*at - core::NowEpochSeconds()), 7200.0, 5.0);
  auto never = service->Extend("default", "ext", 0);
  ASSERT_TRUE(never);
  EXPECT_EQ(never->spec.expires_at, "");
  EXPECT_EQ(service->Extend("default", "ext", -1).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(service->Extend("default", "nope", 60).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(service->Delete("default", "ext", false));
  EXPECT_EQ(service->Extend("default", "ext", 60).error().code, ErrorCode::kConflict);
}

TEST_F(ControllerTest, TheNamespacesDefaultTtlAppliesOnlyWhenNoneIsGiven) {
  cfg.default_ttl_seconds = 600;
  cfg.namespaces["ci"].default_ttl_seconds = 30;
  service = std::make_unique<api::EnvironmentService>(*st, cfg);
  auto a = service->Create(Spec("a"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->spec.ttl_seconds, 600);
  auto ci = Spec("b");
  ci.ns = "ci";
  auto b = service->Create(ci);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->spec.ttl_seconds, 30);
  auto c = Spec("c");
  c.ttl_seconds = 0;
  api::CreateOptions o;
  o.ttl_given = true;  // an explicit 0: never
  auto never = service->Create(c, o);
  ASSERT_TRUE(never);
  EXPECT_EQ(never->spec.ttl_seconds, 0);
  EXPECT_EQ(never->spec.expires_at, "");
}

TEST_F(ControllerTest, SleepStopsTheWorkloadAndKeepsPortsVolumeAndRoute) {
  ASSERT_TRUE(service->Create(Spec("dozy")));
  ASSERT_TRUE(ctl->Reconcile("default/dozy"));
  auto running = service->Get("default", "dozy");
  ASSERT_TRUE(running && running->status);
  ASSERT_EQ(running->status->phase, Phase::kRunning);
  const std::string id = running->status->workload_id;
  const auto ports = running->status->ports;

  auto slept = service->Sleep("default", "dozy");
  ASSERT_TRUE(slept) << slept.error().message;
  EXPECT_TRUE(slept->spec.sleeping);
  ASSERT_TRUE(ctl->Reconcile("default/dozy"));
  auto v = service->Get("default", "dozy");
  ASSERT_TRUE(v && v->status);
  EXPECT_EQ(v->status->phase, Phase::kSleeping);
  EXPECT_EQ(v->status->reason, "Sleeping");
  EXPECT_EQ(v->status->ports, ports);
  EXPECT_EQ(rt.sleeps, 1);
  EXPECT_EQ(rt.workloads.at("default/dozy").id, id);  // stopped, not removed
  EXPECT_EQ(vols.volumes.count("default/dozy"), 1u);
  for (const auto& [name, port] : ports) {
    auto reservation = st->Get(store::keys::Port(port));
    ASSERT_TRUE(reservation && *reservation) << name;
    EXPECT_EQ((*reservation)->value, "default/dozy");
  }
  auto route = st->Get("/devnginx/default/dozy");
  ASSERT_TRUE(route && *route);
  auto parsed = ParseRoute("/devnginx/default/dozy", (*route)->value);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_TRUE(parsed->sleeping);
  EXPECT_EQ(parsed->http_port, ports.at("http"));
  EXPECT_NE((*route)->value.find(", \"sleeping\": true}"), std::string::npos) << (*route)->value;

  // Level-triggered: another pass neither stops it again nor "repairs" it.
  ASSERT_TRUE(ctl->Reconcile("default/dozy"));
  EXPECT_EQ(rt.sleeps, 1);
  const int applies = rt.applies;
  EXPECT_EQ(service->Get("default", "dozy")->status->phase, Phase::kSleeping);

  // Sleep again: nothing changes (idempotent).
  auto again = service->Sleep("default", "dozy");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->revision, slept->revision);

  ASSERT_TRUE(service->Wake("default", "dozy"));
  ASSERT_TRUE(ctl->Reconcile("default/dozy"));
  v = service->Get("default", "dozy");
  ASSERT_TRUE(v && v->status);
  EXPECT_EQ(v->status->phase, Phase::kRunning);
  EXPECT_EQ(v->status->ports, ports);
  EXPECT_EQ(rt.applies, applies + 1);
  EXPECT_EQ(rt.workloads.at("default/dozy").id, id);  // the same workload, started again
  bool waking_event = false;
  for (const auto& e : v->status->events) waking_event = waking_event || e.reason == "Waking";
  EXPECT_TRUE(waking_event);
  route = st->Get("/devnginx/default/dozy");
  ASSERT_TRUE(route && *route);
  EXPECT_EQ((*route)->value.find("sleeping"), std::string::npos) << (*route)->value;
}

TEST_F(ControllerTest, SleepingBeforeTheFirstStartCreatesNothingAndWakesIntoRunning) {
  ASSERT_TRUE(service->Create(Spec("early")));
  ASSERT_TRUE(service->Sleep("default", "early"));
  ASSERT_TRUE(ctl->Reconcile("default/early"));
  auto v = service->Get("default", "early");
  ASSERT_TRUE(v && v->status);
  EXPECT_EQ(v->status->phase, Phase::kSleeping);
  EXPECT_EQ(rt.applies, 0);
  ASSERT_TRUE(service->Wake("default", "early"));
  ASSERT_TRUE(ctl->Reconcile("default/early"));
  EXPECT_EQ(service->Get("default", "early")->status->phase, Phase::kRunning);
}

TEST_F(ControllerTest, SleepAndWakeRefuseADeletingOrMissingEnvironment) {
  ASSERT_TRUE(service->Create(Spec("going")));
  ASSERT_TRUE(service->Delete("default", "going", false));
  auto s = service->Sleep("default", "going");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kConflict);
  auto w = service->Wake("default", "nope");
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, ErrorCode::kNotFound);
}

TEST_F(ControllerTest, ABranchNamesItsEnvironmentAndLabelsIt) {
  auto spec = Spec("feature-x-1");
  spec.branch = "Feature/X_1";
  auto v = service->Create(spec);
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->spec.labels.at("berth.dev/branch"), "feature-x-1");
  // The API does not take a name that is not the branch's.
  auto wrong = Spec("something-else");
  wrong.branch = "Feature/X_1";
  auto w = service->Create(wrong);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(w.error().message.find("feature-x-1"), std::string::npos) << w.error().message;
  // Two branches that normalize alike: the second is told whose the name is.
  auto clash = Spec("feature-x-1");
  clash.branch = "feature/x-1";
  auto c = service->Create(clash);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(c.error().message.find("Feature/X_1"), std::string::npos) << c.error().message;
  auto bad = Spec("b");
  bad.branch = std::string("a\x01", 2);
  EXPECT_EQ(service->Create(bad).error().code, ErrorCode::kInvalidArgument);
}

TEST_F(ControllerTest, ANamespaceQuotaRefusesTheCreateThatWouldPassIt) {
  cfg.quota.max_environments = 2;              // every namespace
  cfg.namespaces["big"].max_environments = 0;  // no limit here
  cfg.namespaces["small"].max_cpu = "1";
  cfg.namespaces["small"].max_environments = 0;
  cfg.namespaces["mem"].max_memory = "3Gi";
  cfg.namespaces["mem"].max_environments = 0;
  service = std::make_unique<api::EnvironmentService>(*st, cfg);
  ASSERT_TRUE(service->Create(Spec("a")));
  ASSERT_TRUE(service->Create(Spec("b")));
  auto c = service->Create(Spec("c"));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(c.error().message,
            "namespace default is over its quota: environments would be 3 of at most 2 "
            "(environments.max_environments); delete an environment or ask an admin to raise it");
  EXPECT_EQ(service->Get("default", "c").error().code, ErrorCode::kNotFound);
  // One being deleted no longer counts.
  ASSERT_TRUE(service->Delete("default", "a", false));
  EXPECT_TRUE(service->Create(Spec("c")));

  for (int i = 0; i < 3; ++i) {
    auto s = Spec("x" + std::to_string(i));
    s.ns = "big";
    EXPECT_TRUE(service->Create(s)) << i;
  }

  // CPU and memory: limits times replicas (defaults 500m and 2000Mi).
  auto s1 = Spec("s1");
  s1.ns = "small";
  ASSERT_TRUE(service->Create(s1));  // 500m, 2000Mi
  auto s2 = Spec("s2");
  s2.ns = "small";
  s2.resources.memory_limit = "512Mi";
  ASSERT_TRUE(service->Create(s2));  // 1 CPU, 2512Mi: at the CPU limit exactly
  auto s3 = Spec("s3");
  s3.ns = "small";
  s3.resources.cpu_limit = "10m";  // the smallest a request of 10m allows
  s3.resources.memory_limit = "100Mi";
  auto r3 = service->Create(s3);
  ASSERT_FALSE(r3);
  EXPECT_NE(r3.error().message.find("CPU limits would be 1 in use + 10m of at most 1 "
                                    "(namespaces.small.max_cpu)"),
            std::string::npos)
      << r3.error().message;
  ASSERT_TRUE(service->Delete("default", "b", false));  // another namespace frees nothing here
  EXPECT_FALSE(service->Create(s3));
  // Memory alone, in a namespace that limits only memory.
  auto m1 = Spec("m1");
  m1.ns = "mem";
  m1.replicas = 2;  // 2 x 1Gi
  m1.resources.memory_limit = "1Gi";
  ASSERT_TRUE(service->Create(m1));
  auto m2 = Spec("m2");
  m2.ns = "mem";
  m2.resources.memory_limit = "1025Mi";
  auto r = service->Create(m2);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("memory limits would be 2Gi in use + 1025Mi of at most 3Gi "
                                   "(namespaces.mem.max_memory)"),
            std::string::npos)
      << r.error().message;
  m2.resources.memory_limit = "1Gi";
  EXPECT_TRUE(service->Create(m2));
}

TEST_F(ControllerTest, ConcurrentCreatesNeverPassTheQuota) {
  cfg.quota.max_environments = 5;
  service = std::make_unique<api::EnvironmentService>(*st, cfg);
  std::atomic<int> ok{0}, refused{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i)
    threads.emplace_back([&, i] {
      auto r = service->Create(Spec("q" + std::to_string(i)));
      if (r)
        ok++;
      else if (r.error().code == ErrorCode::kPermissionDenied)
        refused++;
      else
        other++;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 5);
  EXPECT_EQ(refused, 11);
  EXPECT_EQ(other, 0);
  EXPECT_EQ(service->List("default")->size(), 5u);
}

// A cluster's runtime: Submit returns as soon as the objects are applied, before any pod runs.
class AsyncRuntime : public MemRuntime {
 public:
  runtime::Capabilities capabilities() const override { return {.async_submit = true}; }
  Status Apply(const EnvironmentSpec& spec, const VolumeMount& v,
               const runtime::ProgressFn& p) override {
    ADD_FAILURE() << "the controller waited in Apply for " << spec.Key();
    return MemRuntime::Apply(spec, v, p);
  }
  Status Submit(const EnvironmentSpec& spec, const VolumeMount&,
                const runtime::ProgressFn&) override {
    std::lock_guard<std::mutex> lk(mu);
    submits++;
    auto& w = workloads[spec.Key()];
    // The same objects again change nothing (server-side apply): the pods stay as they are.
    if (w.exists && w.generation == spec.generation) return {};
    w.exists = true;
    w.phase = Phase::kPending;
    w.reason = "ContainerCreating";
    w.generation = spec.generation;
    w.host_ip = "127.0.0.1";
    w.id = "id-" + spec.Key();
    w.ports.clear();
    for (const auto& p : spec.ports) w.ports[p.name] = p.host_port;
    return {};
  }
  // Pods still terminating until `gone` is set.
  Result<bool> SubmitRemove(std::string_view ns, std::string_view name) override {
    removes++;
    if (!gone) return false;
    return MemRuntime::SubmitRemove(ns, name);
  }
  bool gone = true;
  int removes = 0;
  void Set(const std::string& key, Phase phase, const std::string& reason) {
    std::lock_guard<std::mutex> lk(mu);
    workloads[key].phase = phase;
    workloads[key].reason = reason;
  }
  int submits = 0;
};

// No worker waits on a probe: while the (only) probe of the http port is held, reconciles
// return Pending/Starting at once (else this test hangs); its answer queues the key again.
TEST_F(ControllerTest, TheReadinessProbeIsNeverWaitedFor) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  ControllerOptions o;
  o.probe_http = true;
  o.readiness_probe = [&](const std::string&, int) {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return release; });
    return true;
  };
  auto c = std::make_unique<Controller>(*st, rt, vols, o);
  ASSERT_TRUE(service->Create(Spec("probed")));
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(c->Reconcile("default/probed"));
    auto v = service->Get("default", "probed");
    ASSERT_TRUE(v);
    EXPECT_EQ(v->status->phase, Phase::kPending);
    EXPECT_EQ(v->status->reason, "Starting");
  }
  {
    std::lock_guard<std::mutex> l(mu);
    release = true;
  }
  cv.notify_all();
  bool running = false;
  for (int i = 0; i < 500 && !running; ++i) {
    ASSERT_TRUE(c->Reconcile("default/probed"));
    running = service->Get("default", "probed")->status->phase == Phase::kRunning;
    if (!running) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(running);
}

// No worker waits on a pod: a pending rollout ends the reconcile (the pod watch or a later look
// brings it back), and a first rollout the cluster reports Failed is undone as a failed Apply.
TEST_F(ControllerTest, AnAsyncRuntimeIsSubmittedToAndNeverWaitedOn) {
  AsyncRuntime art;
  Controller c(*st, art, vols, ControllerOptions{});
  ASSERT_TRUE(service->Create(Spec("slow")));
  ASSERT_TRUE(c.Reconcile("default/slow"));
  EXPECT_EQ(art.submits, 1);
  auto v = service->Get("default", "slow");
  ASSERT_TRUE(v && v->status);
  EXPECT_EQ(v->status->phase, Phase::kPending);
  EXPECT_EQ(v->status->reason, "ContainerCreating");
  ASSERT_TRUE(c.Reconcile("default/slow"));  // still pending: nothing applied again
  EXPECT_EQ(art.submits, 1);
  art.Set("default/slow", Phase::kRunning, "Running");
  ASSERT_TRUE(c.Reconcile("default/slow"));
  v = service->Get("default", "slow");
  EXPECT_EQ(v->status->phase, Phase::kRunning);
  EXPECT_EQ(v->status->observed_generation, 1);

  ASSERT_TRUE(service->Create(Spec("unpullable")));
  ASSERT_TRUE(c.Reconcile("default/unpullable"));
  art.Set("default/unpullable", Phase::kFailed, "ErrImagePull");
  art.gone = false;  // the cluster takes its time to remove the pods
  ASSERT_TRUE(c.Reconcile("default/unpullable"));
  auto bad = service->Get("default", "unpullable");
  ASSERT_TRUE(bad);
  EXPECT_TRUE(bad->status->rolling_back) << "a first rollout that cannot start leaves nothing";
  EXPECT_FALSE(bad->spec.deleting) << "the spec is the user's";
  EXPECT_EQ(bad->status->phase, Phase::kFailed);
  art.gone = true;
  ASSERT_TRUE(c.Reconcile("default/unpullable"));
  EXPECT_EQ(service->Get("default", "unpullable").error().code, ErrorCode::kNotFound);

  // A delete asks and returns; the records stay until the workload is gone.
  ASSERT_TRUE(service->Create(Spec("going")));
  ASSERT_TRUE(c.Reconcile("default/going"));
  ASSERT_TRUE(service->Delete("default", "going", false));
  art.gone = false;
  const int removes = art.removes;
  ASSERT_TRUE(c.Reconcile("default/going"));
  EXPECT_EQ(art.removes, removes + 1);
  auto going = service->Get("default", "going");
  ASSERT_TRUE(going) << "deleted before its workload was gone";
  EXPECT_EQ(going->status->phase, Phase::kDeleting);
  art.gone = true;
  ASSERT_TRUE(c.Reconcile("default/going"));
  EXPECT_EQ(service->Get("default", "going").error().code, ErrorCode::kNotFound);

  // A later rollout that fails keeps the environment (only a first create is undone).
  art.Set("default/slow", Phase::kFailed, "ErrImagePull");
  ASSERT_TRUE(c.Reconcile("default/slow"));
  v = service->Get("default", "slow");
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->spec.deleting);
  EXPECT_EQ(v->status->phase, Phase::kFailed);
}

}  // namespace
}  // namespace berth::controller
