#include "controller/leader_election.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "berth/environment.h"

namespace berth::controller {
namespace {

using nlohmann::json;

std::string Encode(const LeaderRecord& r) {
  return json{{"holder", r.holder},
              {"lease_ms", r.lease_ms},
              {"acquired_at", r.acquired_at},
              {"renewed_at", r.renewed_at},
              {"transitions", r.transitions}}
      .dump();
}

// A record that does not parse is treated as held by nobody we know: it is taken over like an
// expired one, after a whole lease unchanged.
LeaderRecord Decode(const std::string& s) {
  LeaderRecord r;
  auto j = json::parse(s, nullptr, false);
  if (!j.is_object()) return r;
  r.holder = j.value("holder", "");
  r.lease_ms = j.value("lease_ms", int64_t{0});
  r.acquired_at = j.value("acquired_at", "");
  r.renewed_at = j.value("renewed_at", "");
  r.transitions = j.value("transitions", int64_t{0});
  return r;
}

}  // namespace

LeaderElector::LeaderElector(store::Store& store, LeaderElectionOptions opts, Callback on_started,
                             Callback on_stopped)
    : store_(store),
      opts_(std::move(opts)),
      on_started_(std::move(on_started)),
      on_stopped_(std::move(on_stopped)) {
  if (opts_.identity.empty()) opts_.identity = DefaultIdentity();
}

LeaderElector::~LeaderElector() {
  Stop();
}

std::string LeaderElector::DefaultIdentity() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string(host[0] ? host : "berth") + "-" + std::to_string(getpid());
}

Result<bool> LeaderElector::TryAcquireOrRenew() {
  const auto now = Clock::now();
  auto cur = store_.Get(opts_.key);
  if (!cur) return tl::unexpected(cur.error());

  LeaderRecord mine;
  mine.holder = opts_.identity;
  mine.lease_ms = opts_.lease.count();
  mine.renewed_at = NowRfc3339();

  auto write = [&](int64_t expect_rev) -> Result<bool> {
    auto rev = store_.Commit(
        store::Txn{{{opts_.key, expect_rev}}, {store::Op::Put(opts_.key, Encode(mine))}});
    if (!rev) {
      if (rev.error().code == ErrorCode::kConflict) return false;  // someone else moved first
      return tl::unexpected(rev.error());
    }
    std::lock_guard<std::mutex> l(mu_);
    observed_rev_ = *rev;
    observed_at_ = now;
    holder_ = opts_.identity;
    transitions_ = mine.transitions;
    return true;
  };

  if (!*cur) {  // free (never held, or released)
    mine.acquired_at = mine.renewed_at;
    {
      std::lock_guard<std::mutex> l(mu_);
      mine.transitions = transitions_ + (holder_.empty() || holder_ == opts_.identity ? 0 : 1);
    }
    return write(0);
  }

  LeaderRecord rec = Decode((*cur)->value);
  if (rec.holder == opts_.identity) {
    mine.acquired_at = rec.acquired_at;
    mine.transitions = rec.transitions;
    return write((*cur)->mod_revision);
  }

  std::chrono::milliseconds lease =
      rec.lease_ms > 0 ? std::chrono::milliseconds(rec.lease_ms) : opts_.lease;
  {
    std::lock_guard<std::mutex> l(mu_);
    holder_ = rec.holder;
    transitions_ = rec.transitions;
    if ((*cur)->mod_revision != observed_rev_) {
      observed_rev_ = (*cur)->mod_revision;
      observed_at_ = now;
      return false;
    }
    if (now - observed_at_ < lease) return false;
  }
  // The holder has not renewed for a whole lease: take over from exactly that record.
  spdlog::warn("leader election: lease of {} expired; {} takes over", rec.holder, opts_.identity);
  mine.acquired_at = mine.renewed_at;
  mine.transitions = rec.transitions + 1;
  return write((*cur)->mod_revision);
}

Status LeaderElector::Release() {
  auto cur = store_.Get(opts_.key);
  if (!cur) return tl::unexpected(cur.error());
  if (!*cur || Decode((*cur)->value).holder != opts_.identity) return {};
  auto rev = store_.Commit(
      store::Txn{{{opts_.key, (*cur)->mod_revision}}, {store::Op::Delete(opts_.key)}});
  if (!rev && rev.error().code != ErrorCode::kConflict) return tl::unexpected(rev.error());
  std::lock_guard<std::mutex> l(mu_);
  holder_.clear();
  return {};
}

void LeaderElector::SetLeader(bool leader) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (leader_ == leader) return;
    leader_ = leader;
  }
  if (leader) {
    spdlog::info("leader election: {} is the leader; starting the controller", opts_.identity);
    if (on_started_) on_started_();
  } else {
    spdlog::warn("leader election: {} is no longer the leader; stopping the controller",
                 opts_.identity);
    if (on_stopped_) on_stopped_();
  }
}

void LeaderElector::Loop() {
  while (true) {
    auto r = TryAcquireOrRenew();
    const auto now = Clock::now();
    bool leader;
    {
      std::lock_guard<std::mutex> l(mu_);
      leader = leader_;
    }
    if (r && *r) {
      last_renew_ = now;
      SetLeader(true);
    } else if (leader) {
      if (r) {
        SetLeader(false);  // the record names someone else
      } else if (now - last_renew_ >= opts_.renew_deadline) {
        spdlog::error(
            "leader election: no renewal for {} ms ({})",
            std::chrono::duration_cast<std::chrono::milliseconds>(now - last_renew_).count(),
            r.error().message);
        SetLeader(false);
      }
    } else if (!r) {
      spdlog::warn("leader election: {}", r.error().message);
    }
    std::unique_lock<std::mutex> l(mu_);
    if (cv_.wait_for(l, opts_.retry, [this] { return stopping_; })) return;
  }
}

void LeaderElector::Start() {
  std::lock_guard<std::mutex> l(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void LeaderElector::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  bool was_leader;
  {
    std::lock_guard<std::mutex> l(mu_);
    was_leader = leader_;
  }
  if (!was_leader) return;
  SetLeader(false);  // the controller stops before the lease is given up: no overlap
  if (auto s = Release(); !s)
    spdlog::warn("leader election: releasing the lease: {}", s.error().message);
}

LeaderState LeaderElector::State() const {
  std::lock_guard<std::mutex> l(mu_);
  return LeaderState{leader_, opts_.identity, holder_, transitions_};
}

}  // namespace berth::controller
