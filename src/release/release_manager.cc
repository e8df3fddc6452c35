#include "release/release_manager.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <optional>

#include "berth/validate.h"
#include "net/http_client.h"
#include "release/code_tree.h"
#include "store/spec_records.h"
#include "util/strings.h"

namespace berth::release {

using store::Compare;
using store::Op;
using store::Release;
using store::ReleaseHead;
using store::Txn;

namespace {

constexpr char kRollbackLock[] = "rollback";

int64_t Now() {
  return static_cast<int64_t>(std::time(nullptr));
}

// Any HTTP answer at all: the server is up (a 404 or a 500 is the application's business).
bool HttpAnswers(const std::string& ip, int port) {
  net::ClientOptions o;
  o.base_url = "http://" + ip + ":" + std::to_string(port);
  o.connect_timeout = std::chrono::milliseconds(1000);
  o.timeout = std::chrono::milliseconds(2000);
  net::HttpClient c(o);
  net::HttpRequest req;
  req.path = "/";
  auto r = c.Send(req);
  return r && r->status > 0;
}

std::string Seconds(std::chrono::seconds s) {
  return std::to_string(s.count()) + " s";
}

}  // namespace

struct ReleaseManager::Env {
  EnvironmentSpec spec;
  int64_t spec_revision = 0;
};

ReleaseManager::ReleaseManager(store::Store& store, runtime::Runtime& runtime,
                               VolumeProvider& volumes, RebuildFn rebuild, ReleaseOptions opts)
    : store_(store),
      runtime_(runtime),
      volumes_(volumes),
      rebuild_(std::move(rebuild)),
      opts_(std::move(opts)) {
  if (opts_.holder.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    opts_.holder = std::string(host) + "/" + std::to_string(::getpid());
  }
}

ReleaseManager::~ReleaseManager() {
  Stop();
}

void ReleaseManager::Stop() {
  stopping_ = true;
  std::vector<Worker> ts;
  {
    std::lock_guard<std::mutex> l(mu_);
    ts.swap(threads_);
  }
  for (auto& w : ts)
    if (w.thread.joinable()) w.thread.join();
}

void ReleaseManager::Spawn(std::function<void()> fn) {
  std::lock_guard<std::mutex> l(mu_);
  // A long-running server deploys many times: finished threads are joined, not kept.
  std::erase_if(threads_, [](Worker& w) {
    if (!*w.done) return false;
    w.thread.join();
    return true;
  });
  auto done = std::make_shared<std::atomic<bool>>(false);
  threads_.push_back(Worker{std::thread([fn = std::move(fn), done] {
                              fn();
                              *done = true;
                            }),
                            done});
}

Result<ReleaseManager::Env> ReleaseManager::Load(const std::string& ns, const std::string& name) {
  auto stored = store::LoadSpec(store_, ns, name);
  if (!stored) return Fail(stored.error());
  return Env{std::move(stored->spec), stored->revision};
}

bool ReleaseManager::Stale(const ReleaseHead& head) const {
  if (head.locked_by.empty()) return false;
  if (head.lock_until < Now()) return true;
  if (head.lock_holder == opts_.holder) return false;
  // A holder on this host whose process is gone (kill -9) holds nothing any more.
  auto slash = head.lock_holder.rfind('/');
  if (slash == std::string::npos) return false;
  const std::string host = head.lock_holder.substr(0, slash);
  const std::string mine = opts_.holder.substr(0, opts_.holder.rfind('/'));
  if (host != mine) return false;
  pid_t pid = 0;
  try {
    pid = static_cast<pid_t>(std::stol(head.lock_holder.substr(slash + 1)));
  } catch (...) {
    return false;
  }
  return pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH;
}

Result<Release> ReleaseManager::Lock(const std::string& ns, const std::string& name,
                                     const std::string& what, Release* record) {
  const std::string hkey = store::ReleaseHeadKey(ns, name);
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto env = Load(ns, name);
    if (!env) return Fail(env.error());
    if (env->spec.deleting)
      return Fail(ErrorCode::kConflict, "environment " + ns + "/" + name + " is being deleted");
    auto head = store::GetReleaseHead(store_, ns, name);
    if (!head) return Fail(head.error());
    auto [h, rev] = *head;
    if (!h.locked_by.empty()) {
      if (!Stale(h))
        return Fail(ErrorCode::kConflict, "a deploy of " + ns + "/" + name + " is in progress (" +
                                              h.locked_by + "); try again when it is done");
      RecoverOne(ns, name, h);
      continue;
    }
    ReleaseHead next = h;
    next.locked_by = what;
    next.lock_holder = opts_.holder;
    // Bounded: a holder that dies elsewhere (another host) frees it at the latest then.
    next.lock_until = Now() + 3 * opts_.ready_timeout.count() + 600;
    Txn txn{{Compare{hkey, rev}, Compare{store::keys::Spec(ns, name), env->spec_revision}}, {}};
    Release r;
    if (record) {
      r = *record;
      r.seq = h.next_seq;
      r.id = "r" + std::to_string(r.seq);
      r.previous = h.current;
      r.phase = "Pending";
      r.created_at = NowRfc3339();
      next.locked_by = r.id;
      next.next_seq = h.next_seq + 1;
      txn.ops.push_back(Op::Put(store::ReleaseKey(ns, name, r.id), store::SerializeRelease(r)));
    }
    txn.ops.push_back(Op::Put(hkey, store::SerializeReleaseHead(next)));
    auto c = store_.Commit(txn);
    if (c) return r;
    if (c.error().code != ErrorCode::kConflict) return Fail(c.error());
  }
  return Fail(ErrorCode::kConflict, "environment " + ns + "/" + name + " kept changing; try again");
}

Status ReleaseManager::Save(const std::string& ns, const std::string& name, const Release& r) {
  return store_.Put(store::ReleaseKey(ns, name, r.id), store::SerializeRelease(r)).map([](int64_t) {
  });
}

Status ReleaseManager::Unlock(const std::string& ns, const std::string& name, const Release* r,
                              const std::optional<std::string>& current) {
  const std::string hkey = store::ReleaseHeadKey(ns, name);
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto spec = store_.Get(store::keys::Spec(ns, name));
    if (!spec) return Fail(spec.error());
    if (!*spec) return {};  // deleted meanwhile: its records went with it
    auto head = store::GetReleaseHead(store_, ns, name);
    if (!head) return Fail(head.error());
    auto [h, rev] = *head;
    h.locked_by.clear();
    h.lock_holder.clear();
    h.lock_until = 0;
    if (current) h.current = *current;
    Txn txn{{Compare{hkey, rev}, Compare{(*spec)->key, (*spec)->mod_revision}},
            {Op::Put(hkey, store::SerializeReleaseHead(h))}};
    if (r)
      txn.ops.push_back(Op::Put(store::ReleaseKey(ns, name, r->id), store::SerializeRelease(*r)));
    auto c = store_.Commit(txn);
    if (c) return {};
    if (c.error().code != ErrorCode::kConflict) return Fail(c.error());
  }
  return Fail(ErrorCode::kConflict, "could not release the deploy lock of " + ns + "/" + name);
}

std::string ReleaseManager::RollOut(const EnvironmentSpec& spec, const std::string& image) {
  // Only a status written after the rollout began can say it failed.
  auto before = store_.Revision();
  if (!before) return "rolling out: " + before.error().message;
  auto gen = rebuild_(spec.ns, spec.name, image);
  if (!gen) return "rolling out: " + gen.error().message;
  // A pull may take a while: at least five minutes.
  const auto timeout =
      std::max<std::chrono::seconds>(opts_.ready_timeout, std::chrono::seconds(300));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!stopping_) {
    auto st = store_.Get(store::keys::Status(spec.ns, spec.name));
    if (st && *st) {
      if (auto s = ParseStatus((*st)->value)) {
        if (s->observed_generation >= *gen && s->phase == Phase::kRunning) return "";
        if (s->phase == Phase::kFailed && !s->last_error.empty() && (*st)->mod_revision > *before)
          return "generation " + std::to_string(*gen) + " failed: " + s->last_error;
      }
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return "generation " + std::to_string(*gen) + " did not run within " + Seconds(timeout);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return "the server is shutting down";
}

std::string ReleaseManager::Activate(const EnvironmentSpec& spec,
                                     const std::string& reload_command) {
  if (spec.sleeping) return "";  // it starts on the new code when it wakes
  bool reloaded = false;
  if (!reload_command.empty()) {
    std::string output;
    auto code =
        runtime_.Exec(spec, {"/bin/sh", "-c", reload_command}, opts_.ready_timeout, &output);
    // kUnavailable: the command did not run (a cluster that refuses exec, no pod running), so
    // the restart below picks the code up instead, as it would without a reload command.
    if (!code && code.error().code != ErrorCode::kUnavailable)
      return "reload command: " + code.error().message;
    if (!code)
      spdlog::warn("{}: reload command not run ({}); restarting instead", spec.Key(),
                   code.error().message);
    reloaded = code.has_value();
    if (code && *code != 0) {
      // Its last words say why: the tail of its output, on one line.
      while (!output.empty() && (output.back() == '\n' || output.back() == ' ')) output.pop_back();
      if (output.size() > 300) output = "..." + output.substr(output.size() - 300);
      for (char& c : output)
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
      return "reload command exited with " + std::to_string(*code) +
             (output.empty() ? "" : ": " + output);
    }
  }
  if (!reloaded) {
    if (!runtime_.capabilities().restart_in_place)
      return RollOut(spec, "");  // waits for the new generation, readiness included
    if (auto s = runtime_.Restart(spec); !s) return "restart: " + s.error().message;
  }
  const int port = spec.PortFor("http");
  if (!opts_.probe_http || port <= 0) return "";
  const auto deadline = std::chrono::steady_clock::now() + opts_.ready_timeout;
  while (!stopping_) {
    if (HttpAnswers(opts_.host_ip, port)) return "";
    if (std::chrono::steady_clock::now() >= deadline)
      return "the http port " + std::to_string(port) + " did not answer within " +
             Seconds(opts_.ready_timeout);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return "the server is shutting down";
}

Result<Release> ReleaseManager::Deploy(const DeployRequest& req) {
  auto env = Load(req.ns, req.name);
  if (!env) return Fail(env.error());
  const EnvironmentSpec& spec = env->spec;
  if (spec.deleting)
    return Fail(ErrorCode::kConflict, "environment " + spec.Key() + " is being deleted");
  Release rec;
  rec.message = req.message;
  rec.created_by = req.created_by.empty() ? "cli" : req.created_by;

  if (req.archive_fd < 0) {  // image mode
    if (auto s = ValidateImageRef(req.image); !s) return Fail(s.error());
    rec.mode = "image";
    rec.image = req.image;
    rec.previous_image = spec.image;
    auto r = Lock(req.ns, req.name, "", &rec);
    if (!r) return r;
    Spawn([this, spec, rel = *r, no_rollback = req.no_rollback] {
      ActivateImage(spec, rel, no_rollback);
    });
    return r;
  }

  if (spec.release_mode != ReleaseMode::kCode)
    return Fail(ErrorCode::kInvalidArgument,
                "environment " + spec.Key() +
                    " is in image release mode: deploy an image (--image), or create it with "
                    "--release-mode code to deploy code");
  if (spec.volume_mount.empty())
    return Fail(ErrorCode::kInvalidArgument,
                "environment " + spec.Key() + " has no volume to deploy code into");
  auto mount = volumes_.Ensure(spec);
  if (!mount) return Fail(Wrap(mount.error(), "volume"));
  if (mount->kind == VolumeMount::Kind::kClaim || mount->kind == VolumeMount::Kind::kNone)
    return Fail(ErrorCode::kUnavailable,
                "environment " + spec.Key() +
                    "'s volume is a PersistentVolumeClaim (or none) that this server cannot "
                    "write: code releases need the dir or gluster volume driver; deploy an image "
                    "instead");
  // The driver writes its own volume (a local directory, or gluster through libgfapi).
  auto volume_dir = volumes_.OpenDir(spec);
  if (!volume_dir) return Fail(volume_dir.error());
  // Every entry is checked before the lock is taken and anything is written.
  auto summary = CheckArchive(req.archive_fd, opts_.limits);
  if (!summary) return Fail(summary.error());
  rec.mode = "code";
  rec.digest = summary->digest;
  rec.files = summary->files;
  rec.bytes = summary->bytes;
  // The deploy's own command, else the environment's (spec.reload_command), else a restart.
  rec.reload_command = req.reload_command.empty() ? spec.reload_command : req.reload_command;
  auto r = Lock(req.ns, req.name, "", &rec);
  if (!r) return r;
  Release rel = *r;
  auto fail = [&](const Error& e) -> Result<Release> {
    rel.phase = "Failed";
    rel.reason = e.message;
    rel.finished_at = NowRfc3339();
    if (auto t = OpenTree(spec)) t->Collect(opts_.keep + 1, {rel.previous});
    Unlock(req.ns, req.name, &rel, std::nullopt);
    return Fail(e);
  };
  auto tree = CodeTree::Open(std::move(*volume_dir));
  if (!tree) return fail(tree.error());
  if (auto s = tree->Extract(req.archive_fd, rel.id, opts_.limits); !s) return fail(s.error());
  if (auto s = tree->Switch(rel.id); !s) return fail(s.error());
  rel.reason = spec.sleeping ? "" : (rel.reload_command.empty() ? "Restarting" : "Reloading");
  Save(req.ns, req.name, rel);
  Spawn([this, spec, rel, no_rollback = req.no_rollback] { ActivateCode(spec, rel, no_rollback); });
  return rel;
}

Result<CodeTree> ReleaseManager::OpenTree(const EnvironmentSpec& spec) {
  auto dir = volumes_.OpenDir(spec);
  if (!dir) return Fail(dir.error());
  return CodeTree::Open(std::move(*dir));
}

void ReleaseManager::ActivateCode(EnvironmentSpec spec, Release r, bool no_rollback) {
  if (auto env = Load(spec.ns, spec.name)) spec = env->spec;  // the generation running now
  std::string why = Activate(spec, r.reload_command);
  r.finished_at = NowRfc3339();
  if (why.empty()) {
    r.phase = "Running";
    r.reason.clear();
    if (auto s = Unlock(spec.ns, spec.name, &r, r.id); !s)
      spdlog::warn("{}: release {}: {}", spec.Key(), r.id, s.error().message);
    if (auto t = OpenTree(spec)) {
      auto removed = t->Collect(opts_.keep, {r.id, r.previous});
      if (removed && !removed->empty())
        spdlog::info("{}: removed old releases {}", spec.Key(), util::Join(*removed, ", "));
    }
    spdlog::info("{}: release {} running", spec.Key(), r.id);
    return;
  }
  r.phase = "Failed";
  r.reason = why;
  spdlog::warn("{}: release {} failed: {}", spec.Key(), r.id, why);
  std::optional<std::string> current = r.id;
  if (!no_rollback) {
    r.rolled_back = true;
    current = r.previous;
    auto tree = OpenTree(spec);
    std::string reload;
    if (!r.previous.empty())
      if (auto p = Get(spec.ns, spec.name, r.previous)) reload = p->reload_command;
    Status s = !tree                                            ? Status(Fail(tree.error()))
               : (!r.previous.empty() && tree->Has(r.previous)) ? tree->Switch(r.previous)
                                                                : tree->RemoveCurrent();
    if (!s) {
      r.reason += "; rolling back: " + s.error().message;
    } else {
      std::string again = Activate(spec, reload);
      if (!again.empty()) r.reason += "; after rolling back: " + again;
    }
  }
  if (auto s = Unlock(spec.ns, spec.name, &r, current); !s)
    spdlog::warn("{}: release {}: {}", spec.Key(), r.id, s.error().message);
}

void ReleaseManager::ActivateImage(EnvironmentSpec spec, Release r, bool no_rollback) {
  std::string why = RollOut(spec, r.image);
  r.finished_at = NowRfc3339();
  if (why.empty()) {
    r.phase = "Running";
    r.reason.clear();
    Unlock(spec.ns, spec.name, &r, r.id);
    return;
  }
  r.phase = "Failed";
  r.reason = why;
  std::optional<std::string> current = r.id;
  if (!no_rollback && !r.previous_image.empty() && r.previous_image != r.image) {
    r.rolled_back = true;
    current = r.previous;
    std::string again = RollOut(spec, r.previous_image);
    if (!again.empty()) r.reason += "; after rolling back: " + again;
  }
  Unlock(spec.ns, spec.name, &r, current);
}

Result<ReleaseList> ReleaseManager::List(const std::string& ns, const std::string& name) {
  auto env = Load(ns, name);
  if (!env) return Fail(env.error());
  auto rs = store::ListReleases(store_, ns, name);
  if (!rs) return Fail(rs.error());
  auto head = store::GetReleaseHead(store_, ns, name);
  if (!head) return Fail(head.error());
  return ReleaseList{std::move(*rs), head->first.current, head->first.locked_by};
}

Result<Release> ReleaseManager::Get(const std::string& ns, const std::string& name,
                                    const std::string& id) {
  if (ReleaseNumber(id) <= 0)
    return Fail(ErrorCode::kInvalidArgument,
                "release id must be r<number>, not \"" + id.substr(0, 64) + "\"");
  auto kv = store_.Get(store::ReleaseKey(ns, name, id));
  if (!kv) return Fail(kv.error());
  if (!*kv)
    return Fail(ErrorCode::kNotFound, "release " + id + " of " + ns + "/" + name + " not found");
  return store::ParseRelease((*kv)->value);
}

Result<ReleaseList> ReleaseManager::Rollback(const std::string& ns, const std::string& name,
                                             const std::string& to) {
  auto list = List(ns, name);
  if (!list) return list;
  const Release* target = nullptr;
  int64_t cur_seq = ReleaseNumber(list->current);
  if (!to.empty()) {
    if (ReleaseNumber(to) <= 0)
      return Fail(ErrorCode::kInvalidArgument,
                  "release id must be r<number>, not \"" + to.substr(0, 64) + "\"");
    for (const auto& r : list->releases)
      if (r.id == to) target = &r;
    if (!target)
      return Fail(ErrorCode::kNotFound, "release " + to + " of " + ns + "/" + name + " not found");
    if (target->phase == "Pending")
      return Fail(ErrorCode::kConflict, "release " + to + " is still being deployed");
  } else {
    for (const auto& r : list->releases)
      if (r.phase == "Running" && (cur_seq == 0 || r.seq < cur_seq)) target = &r;
    if (!target)
      return Fail(ErrorCode::kNotFound,
                  "no earlier release of " + ns + "/" + name + " to roll back to");
  }
  if (target->id == list->current) return list;
  const Release t = *target;
  std::string current_reload;
  for (const auto& r : list->releases)
    if (r.id == list->current) current_reload = r.reload_command;
  auto locked = Lock(ns, name, kRollbackLock, nullptr);
  if (!locked) return Fail(locked.error());
  auto env = Load(ns, name);
  if (!env) {
    Unlock(ns, name, nullptr, std::nullopt);
    return Fail(env.error());
  }
  std::string why;
  if (t.mode == "code") {
    auto tree = OpenTree(env->spec);
    if (!tree) {
      why = tree.error().message;
    } else if (!tree->Has(t.id)) {
      Unlock(ns, name, nullptr, std::nullopt);
      return Fail(ErrorCode::kNotFound,
                  "release " + t.id + "'s files were removed (only the last " +
                      std::to_string(opts_.keep) + " are kept: releases.keep)");
    } else if (auto s = tree->Switch(t.id); !s) {
      why = s.error().message;
    } else {
      why = Activate(env->spec, t.reload_command);
      if (!why.empty() && !list->current.empty() && tree->Has(list->current)) {
        // Back to what ran before the rollback was asked for.
        if (tree->Switch(list->current)) Activate(env->spec, current_reload);
      }
    }
  } else {
    why = RollOut(env->spec, t.image);
  }
  if (!why.empty()) {
    Unlock(ns, name, nullptr, std::nullopt);
    return Fail(ErrorCode::kFailed, "rolling back to " + t.id + ": " + why);
  }
  if (auto s = Unlock(ns, name, nullptr, t.id); !s) return Fail(s.error());
  spdlog::info("{}/{}: rolled back to release {}", ns, name, t.id);
  return List(ns, name);
}

void ReleaseManager::RecoverOne(const std::string& ns, const std::string& name, ReleaseHead head) {
  spdlog::warn("{}/{}: the deploy {} of {} was interrupted; recovering", ns, name, head.locked_by,
               head.lock_holder);
  auto env = Load(ns, name);
  std::optional<Release> rec;
  if (ReleaseNumber(head.locked_by) > 0)
    if (auto r = Get(ns, name, head.locked_by)) rec = *r;
  if (rec && rec->phase == "Pending") {
    rec->phase = "Failed";
    rec->reason = "interrupted: the server stopped during the deploy";
    rec->finished_at = NowRfc3339();
  }
  if (env) {
    const bool code = rec ? rec->mode == "code" : env->spec.release_mode == ReleaseMode::kCode;
    if (code && !env->spec.volume_mount.empty()) {
      auto tree = OpenTree(env->spec);
      if (tree) {
        auto on_disk = tree->Current();
        if (on_disk && *on_disk != head.current) {
          Status s = !head.current.empty() && tree->Has(head.current) ? tree->Switch(head.current)
                                                                      : tree->RemoveCurrent();
          if (s) {
            std::string reload;
            if (!head.current.empty())
              if (auto p = Get(ns, name, head.current)) reload = p->reload_command;
            std::string why = Activate(env->spec, reload);
            if (!why.empty()) spdlog::warn("{}/{}: after recovering: {}", ns, name, why);
          }
        }
        std::vector<std::string> keep{head.current};
        tree->Collect(opts_.keep, keep);
      }
    } else if (rec && rec->mode == "image" && env->spec.image == rec->image &&
               !rec->previous_image.empty() && rec->previous_image != rec->image) {
      if (auto g = rebuild_(ns, name, rec->previous_image); !g)
        spdlog::warn("{}/{}: rolling the image back: {}", ns, name, g.error().message);
    }
  }
  Unlock(ns, name, rec ? &*rec : nullptr, std::nullopt);
}

void ReleaseManager::Recover() {
  // In the background: recovering may restart workloads and wait for them.
  Spawn([this] { RecoverNow(); });
}

void ReleaseManager::RecoverNow() {
  auto snap = store_.List(store::kReleaseHeads);
  if (!snap) {
    spdlog::warn("releases: listing deploy locks: {}", snap.error().message);
    return;
  }
  for (const auto& kv : snap->kvs) {
    auto h = store::ParseReleaseHead(kv.value);
    if (!h || !Stale(*h)) continue;
    auto id = EnvKey::FromRecordKey(kv.key, store::kReleaseHeads);
    if (!id) continue;
    RecoverOne(id->ns, id->name, *h);
  }
}

}  // namespace berth::release
