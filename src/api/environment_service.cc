#include "api/environment_service.h"

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <random>
#include <set>
#include <thread>

#include "berth/validate.h"
#include "core/branch_name.h"
#include "core/domains.h"
#include "core/duration.h"
#include "core/ports.h"
#include "store/claims.h"
#include "store/spec_records.h"

namespace berth::api {

using store::Compare;
using store::Op;
using store::Txn;

std::string SerializeView(const EnvView& v) {
  return store::EnvJson(v.spec, v.status, v.revision);
}

namespace {
EnvView ViewOf(const store::CachedEnv& c) {
  return EnvView{c.Spec(), c.Status(), c.revision};
}
}  // namespace

EnvironmentService::EnvironmentService(store::Store& store, const Config& config,
                                       core::PortBusyFn port_busy, runtime::Capabilities runtime)
    : store_(store), config_(config), port_busy_(std::move(port_busy)), runtime_(runtime) {}

Status EnvironmentService::CheckDomains(EnvironmentSpec& spec) const {
  std::vector<std::string> out;
  for (const auto& d : spec.domains) {
    std::string n = core::NormalizeDomain(d);
    if (auto s = ValidateDomain(n); !s) return s;
    if (auto s = core::CheckDomainAllowed(n, config_.base_domains, config_.allowed_domains); !s)
      return s;
    if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(std::move(n));
  }
  spec.domains = std::move(out);
  return {};
}

Result<std::vector<int>> EnvironmentService::PickFreePorts(const std::set<int>& used,
                                                           size_t count) const {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return core::PickPorts({config_.port_min, config_.port_max}, used, count, rng(), port_busy_);
}

Status EnvironmentService::AllocatePorts(EnvironmentSpec& spec, Txn& txn) {
  // A cluster assigns NodePorts itself; only explicitly requested ports are reserved there.
  const bool allocate = runtime_.allocates_host_ports;
  auto reserved = store::ReservedPorts(store_);
  if (!reserved) return Fail(reserved.error());
  std::set<int>& used = *reserved;
  size_t need = 0;
  for (const auto& p : spec.ports) {
    if (p.host_port != 0) {
      if (used.count(p.host_port))
        return Fail(ErrorCode::kAlreadyExists,
                    "host port " + std::to_string(p.host_port) + " is already in use");
      used.insert(p.host_port);
    } else if (allocate) {
      ++need;
    }
  }
  auto picked = PickFreePorts(used, need);
  if (!picked) return Fail(picked.error());
  size_t i = 0;
  for (auto& p : spec.ports)
    if (p.host_port == 0 && allocate) p.host_port = (*picked)[i++];
  for (const auto& p : spec.ports) {
    if (p.host_port == 0) continue;
    txn.compares.push_back(Compare{store::keys::Port(p.host_port), 0});
    txn.ops.push_back(Op::Put(store::keys::Port(p.host_port), spec.Key()));
  }
  return {};
}

namespace {

// CPU (nano-CPUs) and memory (bytes) an environment may use: its limits times its replicas.
struct Usage {
  int64_t environments = 0;
  int64_t cpu_nanos = 0;
  int64_t memory_bytes = 0;
};

Usage UsageOf(const EnvironmentSpec& s) {
  Usage u;
  u.environments = 1;
  const int64_t replicas = s.replicas;
  // Limits are validated and bounded (4096 CPUs, 1Pi), replicas at most 100: no overflow.
  if (auto c = CpuToNanoCpus(s.resources.cpu_limit)) u.cpu_nanos = *c * replicas;
  if (auto m = MemoryToBytes(s.resources.memory_limit)) u.memory_bytes = *m * replicas;
  return u;
}

std::string ShowCpu(int64_t nanos) {
  if (nanos % 1000000000 == 0) return std::to_string(nanos / 1000000000);
  return std::to_string(nanos / 1000000) + "m";
}

std::string ShowMemory(int64_t bytes) {
  static constexpr std::pair<int64_t, const char*> kUnits[] = {
      {int64_t{1} << 40, "Ti"}, {int64_t{1} << 30, "Gi"}, {int64_t{1} << 20, "Mi"}, {1024, "Ki"}};
  for (auto [size, suffix] : kUnits)
    if (bytes >= size && bytes % size == 0) return std::to_string(bytes / size) + suffix;
  return std::to_string(bytes);
}

}  // namespace

Status EnvironmentService::CheckQuota(const EnvironmentSpec& spec, Txn& txn) {
  const Quota q = config_.QuotaFor(spec.ns);
  if (!q.Any()) return {};
  // The lock first, then the listing: a create that commits after this read rewrites the lock,
  // so our transaction fails its compare and counts again.
  const std::string lock_key = store::keys::Quota(spec.ns);
  auto lock = store_.Get(lock_key);
  if (!lock) return Fail(lock.error());
  auto specs = store_.List(std::string(store::keys::kSpecs) + spec.ns + "/");
  if (!specs) return Fail(specs.error());
  Usage used;
  for (const auto& kv : specs->kvs) {
    auto other = ParseSpec(kv.value);
    if (!other || other->deleting) continue;  // one being deleted is on its way out
    Usage u = UsageOf(*other);
    used.environments += u.environments;
    used.cpu_nanos += u.cpu_nanos;
    used.memory_bytes += u.memory_bytes;
  }
  const Usage need = UsageOf(spec);
  auto refuse = [&](const std::string& what, const std::string& used_s, const std::string& max_s,
                    const std::string& key) {
    const bool own = config_.namespaces.count(spec.ns) > 0;
    return Fail(ErrorCode::kPermissionDenied,
                "namespace " + spec.ns + " is over its quota: " + what + " would be " + used_s +
                    " of at most " + max_s + " (" +
                    (own ? "namespaces." + spec.ns + "." : std::string("environments.")) + key +
                    "); delete an environment or ask an admin to raise it");
  };
  if (q.max_environments > 0 && used.environments + 1 > q.max_environments)
    return refuse("environments", std::to_string(used.environments + 1),
                  std::to_string(q.max_environments), "max_environments");
  if (!q.max_cpu.empty())
    if (auto max = CpuToNanoCpus(q.max_cpu); max && used.cpu_nanos + need.cpu_nanos > *max)
      return refuse("CPU limits", ShowCpu(used.cpu_nanos) + " in use + " + ShowCpu(need.cpu_nanos),
                    q.max_cpu, "max_cpu");
  if (!q.max_memory.empty())
    if (auto max = MemoryToBytes(q.max_memory); max && used.memory_bytes + need.memory_bytes > *max)
      return refuse("memory limits",
                    ShowMemory(used.memory_bytes) + " in use + " + ShowMemory(need.memory_bytes),
                    q.max_memory, "max_memory");
  nlohmann::json seen = {{"environments", used.environments + 1},
                         {"cpu", ShowCpu(used.cpu_nanos + need.cpu_nanos)},
                         {"memory", ShowMemory(used.memory_bytes + need.memory_bytes)}};
  txn.compares.push_back(Compare{lock_key, *lock ? (*lock)->mod_revision : 0});
  txn.ops.push_back(Op::Put(lock_key, seen.dump()));
  return {};
}

Result<EnvView> EnvironmentService::Create(EnvironmentSpec spec, const CreateOptions& opts) {
  if (spec.ns.empty()) spec.ns = config_.default_namespace;
  if (spec.image.empty()) spec.image = config_.default_image;
  if (spec.image.empty())
    return Fail(ErrorCode::kInvalidArgument, "no image given and no default_image configured");
  if (!opts.pull_policy_given)
    if (auto pp = ParsePullPolicy(config_.pull_policy)) spec.pull_policy = *pp;
  ApplyDefaults(spec, config_.base_domains);
  spec.generation = 1;
  spec.uid = NewUid();
  spec.deleting = false;
  spec.deletion_timestamp.clear();
  spec.purge = false;
  spec.rollback_on_failure = opts.rollback_on_failure;
  if (!opts.ttl_given) spec.ttl_seconds = config_.DefaultTtlFor(spec.ns);
  // created_at is set by ApplyDefaults; the expiry is counted from it.
  spec.expires_at.clear();
  if (spec.ttl_seconds > 0) {
    auto created = core::ParseRfc3339Utc(spec.created_at);
    spec.expires_at =
        core::FormatRfc3339Utc((created ? *created : core::NowEpochSeconds()) + spec.ttl_seconds);
  }
  // The name first: the default domains are made from it, and a bad name must be reported as
  // the name, not as the domain derived from it.
  if (auto s = ValidateNamespace(spec.ns); !s) return Fail(s.error());
  if (auto s = ValidateName(spec.name); !s) return Fail(s.error());
  if (!spec.branch.empty()) {
    // The branch's name is the environment's: a pipeline finds it again by the branch alone.
    auto derived = core::NameForBranch(spec.branch);
    if (!derived) return Fail(derived.error());
    if (*derived != spec.name)
      return Fail(ErrorCode::kInvalidArgument, "name " + spec.name + " is not branch \"" +
                                                   spec.branch + "\"'s name " + *derived +
                                                   " (berth name-for)");
    spec.labels[std::string(core::kBranchLabel)] = *derived;
  }
  if (auto s = CheckDomains(spec); !s) return Fail(s.error());
  if (auto s = ValidateSpec(spec); !s) return Fail(s.error());
  for (auto& p : spec.ports) {
    // Which ports Berth chose is the server's record, never the client's word.
    p.auto_assigned = p.host_port == 0;
    if (p.host_port != 0)
      if (auto s = core::CheckExplicitHostPort({config_.port_min, config_.port_max},
                                               config_.extra_host_ports, p.name, p.host_port);
          !s)
        return Fail(s.error());
  }
  const std::string skey = store::keys::Spec(spec.ns, spec.name);
  const std::vector<PortSpec> requested = spec.ports;

  // Creates in one namespace with a quota all rewrite its lock, so a burst of them settles
  // one per round: enough rounds for a CI burst, each after a short jittered pause.
  static thread_local std::mt19937 jitter{std::random_device{}()};
  for (int attempt = 0; attempt < 64; ++attempt) {
    spec.ports = requested;
    Txn txn;
    txn.compares.push_back(Compare{skey, 0});
    if (auto s = CheckQuota(spec, txn); !s) return Fail(s.error());
    if (auto s = AllocatePorts(spec, txn); !s) return Fail(s.error());
    if (auto s = store::ClaimDomains(store_, spec.Key(), spec.domains, txn); !s)
      return Fail(s.error());
    // The spec only: the status record is the controller's (readers show AcceptedStatus
    // until it writes one).
    txn.ops.push_back(Op::Put(skey, SerializeSpec(spec)));
    auto r = store_.Commit(txn);
    if (r) return EnvView{spec, AcceptedStatus(spec), *r};
    if (r.error().code != ErrorCode::kConflict) return Fail(r.error());
    auto existing = store_.Get(skey);
    if (existing && *existing) {
      // Two branches that normalize alike ("a_b", "a-b") meet here: say whose it is.
      std::string owner;
      if (auto other = ParseSpec((*existing)->value); other && !other->branch.empty())
        owner = " (for branch \"" + other->branch + "\")";
      return Fail(ErrorCode::kAlreadyExists,
                  "environment " + spec.Key() + " already exists" + owner);
    }
    // A port or domain was taken by a concurrent create, or another create in the namespace
    // moved its quota lock: pick and count again (a domain is then refused).
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::min(attempt, 20) + static_cast<int>(jitter() % 8)));
  }
  return Fail(ErrorCode::kUnavailable,
              "could not reserve host ports and domains (too much contention)");
}

void EnvironmentService::ReadFrom(store::Informer* informer, const store::EnvCache* cache) {
  informer_ = informer;
  cache_ = cache;
}

bool EnvironmentService::CacheFresh() {
  if (!informer_ || !cache_) return false;
  auto s = informer_->WaitFresh(std::chrono::milliseconds(1000));
  if (!s) spdlog::debug("reading the store directly: {}", s.error().message);
  return bool(s);
}

Result<EnvView> EnvironmentService::Get(const std::string& ns, const std::string& name) {
  if (auto s = ValidateNamespace(ns); !s) return Fail(s.error());
  if (auto s = ValidateName(name); !s) return Fail(s.error());
  if (CacheFresh()) {
    auto c = cache_->Get(ns, name);
    if (!c) return Fail(ErrorCode::kNotFound, "environment " + ns + "/" + name + " not found");
    return ViewOf(*c);
  }
  auto stored = store::LoadSpec(store_, ns, name);
  if (!stored) return Fail(stored.error());
  EnvView v{std::move(stored->spec), std::nullopt, stored->revision};
  auto st = store_.Get(store::keys::Status(ns, name));
  if (st && *st)
    if (auto p = ParseStatus((*st)->value)) v.status = *p;
  if (!v.status) v.status = AcceptedStatus(v.spec);
  return v;
}

Result<std::vector<EnvView>> EnvironmentService::List(const std::string& ns) {
  if (!ns.empty())
    if (auto s = ValidateNamespace(ns); !s) return Fail(s.error());
  if (CacheFresh()) {
    std::vector<EnvView> out;
    for (const auto& c : cache_->List(ns)) out.push_back(ViewOf(*c));
    return out;
  }
  std::string prefix = std::string(store::keys::kSpecs) + (ns.empty() ? "" : ns + "/");
  auto specs = store_.List(prefix);
  if (!specs) return Fail(specs.error());
  std::string sprefix = std::string(store::keys::kStatus) + (ns.empty() ? "" : ns + "/");
  auto statuses = store_.List(sprefix);
  if (!statuses) return Fail(statuses.error());
  std::map<std::string, EnvStatus> by_key;
  for (const auto& kv : statuses->kvs)
    if (auto id = EnvKey::FromRecordKey(kv.key, store::keys::kStatus))
      if (auto p = ParseStatus(kv.value)) by_key[id->String()] = *p;
  std::vector<EnvView> out;
  for (const auto& kv : specs->kvs) {
    auto spec = ParseSpec(kv.value);
    if (!spec) continue;
    EnvView v{*spec, std::nullopt, kv.mod_revision};
    if (auto it = by_key.find(spec->Key()); it != by_key.end()) v.status = it->second;
    if (!v.status) v.status = AcceptedStatus(v.spec);
    out.push_back(std::move(v));
  }
  return out;
}

Result<std::string> EnvironmentService::ListJson(const std::string& ns, bool summary) {
  if (!ns.empty())
    if (auto s = ValidateNamespace(ns); !s) return Fail(s.error());
  std::string out = "{\"items\":[";
  if (CacheFresh()) {
    bool first = true;
    for (const auto& c : cache_->List(ns)) {
      if (!first) out += ',';
      first = false;
      if (summary)
        out += store::EnvSummaryJson(c->Spec(), c->Status(), c->revision);
      else
        c->AppendJson(out);
    }
  } else {
    auto list = List(ns);
    if (!list) return Fail(list.error());
    for (size_t i = 0; i < list->size(); ++i) {
      if (i) out += ',';
      const auto& v = (*list)[i];
      out += summary ? store::EnvSummaryJson(v.spec, v.status, v.revision) : SerializeView(v);
    }
  }
  return out + "]}";
}

Result<std::vector<EnvView>> EnvironmentService::ListBrief(const std::string& ns) {
  if (!CacheFresh()) return List(ns);  // the whole views: a superset
  std::vector<EnvView> out;
  for (const auto& c : cache_->List(ns)) {
    EnvView v;
    v.spec.ns = c->ns;
    v.spec.name = c->name;
    v.spec.replicas = c->replicas;
    v.spec.resources.memory_limit = c->memory_limit;
    v.spec.idle_sleep_seconds = c->idle_sleep_seconds;
    v.spec.sleeping = c->sleeping;
    v.spec.deleting = c->deleting;
    EnvStatus st;
    st.phase = c->phase;
    st.routed = c->routed;
    v.status = std::move(st);
    v.revision = c->revision;
    out.push_back(std::move(v));
  }
  return out;
}

Result<std::string> EnvironmentService::ListTableJson(const std::string& ns) {
  if (!ns.empty())
    if (auto s = ValidateNamespace(ns); !s) return Fail(s.error());
  std::string out = "{\"columns\":[";
  for (size_t i = 0; i < std::size(store::kEnvTableColumns); ++i)
    out += std::string(i ? "," : "") + "\"" + store::kEnvTableColumns[i] + "\"";
  out += "],\"rows\":[";
  const int64_t now = core::NowEpochSeconds();
  bool first = true;
  auto append = [&](const store::CachedEnv& c) {
    if (!first) out += ',';
    first = false;
    store::AppendEnvTableRow(out, c, now);
  };
  if (CacheFresh()) {
    auto list = cache_->List(ns);
    out.reserve(out.size() + list.size() * 192);
    for (const auto& c : list) append(*c);
  } else {
    auto list = List(ns);
    if (!list) return Fail(list.error());
    for (auto& v : *list) append(store::CachedEnvOf(std::move(v.spec), v.status, v.revision));
  }
  return out + "]}";
}

Result<EnvView> EnvironmentService::Update(
    const std::string& ns, const std::string& name,
    const std::function<Result<bool>(EnvironmentSpec&)>& mutate, bool even_while_rolling_back) {
  // Read, change, compare-and-swap; a concurrent writer makes us read again.
  for (int attempt = 0; attempt < 10; ++attempt) {
    auto v = Get(ns, name);
    if (!v) return v;
    // A create whose first rollout failed is going away (the controller is undoing it): only
    // a delete still applies, as to an environment being deleted.
    if (!even_while_rolling_back && v->status && v->status->rolling_back)
      return Fail(ErrorCode::kConflict,
                  "environment " + ns + "/" + name + " is being removed: its first rollout failed");
    auto changed = mutate(v->spec);
    if (!changed) return Fail(changed.error());
    if (!*changed) return v;
    const std::string skey = store::keys::Spec(ns, name);
    auto r =
        store_.Commit(Txn{{Compare{skey, v->revision}}, {Op::Put(skey, SerializeSpec(v->spec))}});
    if (r) {
      v->revision = *r;
      return v;
    }
    if (r.error().code != ErrorCode::kConflict) return Fail(r.error());
  }
  return Fail(ErrorCode::kConflict, "environment kept changing; try again");
}

Result<EnvView> EnvironmentService::Rebuild(const std::string& ns, const std::string& name,
                                            const std::string& new_image) {
  if (!new_image.empty())
    if (auto s = ValidateImageRef(new_image); !s) return Fail(s.error());
  return Update(ns, name, [&](EnvironmentSpec& spec) -> Result<bool> {
    if (spec.deleting)
      return Fail(ErrorCode::kConflict, "environment " + ns + "/" + name + " is being deleted");
    spec.generation++;
    if (!new_image.empty()) spec.image = new_image;
    return true;
  });
}

Result<EnvView> EnvironmentService::Delete(const std::string& ns, const std::string& name,
                                           bool purge) {
  return Update(
      ns, name,
      [&](EnvironmentSpec& spec) -> Result<bool> {
        if (spec.deleting && (spec.purge || !purge)) return false;  // already as asked
        if (!spec.deleting) spec.deletion_timestamp = NowRfc3339();
        spec.deleting = true;
        spec.purge = spec.purge || purge;
        return true;
      },
      true);
}

Result<EnvView> EnvironmentService::Extend(const std::string& ns, const std::string& name,
                                           int64_t ttl_seconds) {
  if (ttl_seconds < 0 || ttl_seconds > core::kMaxTtlSeconds)
    return Fail(ErrorCode::kInvalidArgument, "ttl must be between 0 and ten years");
  return Update(ns, name, [&](EnvironmentSpec& spec) -> Result<bool> {
    if (spec.deleting)
      return Fail(ErrorCode::kConflict, "environment " + ns + "/" + name + " is being deleted");
    spec.ttl_seconds = ttl_seconds;
    spec.expires_at =
        ttl_seconds == 0 ? "" : core::FormatRfc3339Utc(core::NowEpochSeconds() + ttl_seconds);
    return true;
  });
}

Result<EnvView> EnvironmentService::Sleep(const std::string& ns, const std::string& name) {
  return Update(ns, name, [&](EnvironmentSpec& spec) -> Result<bool> {
    if (spec.deleting)
      return Fail(ErrorCode::kConflict, "environment " + ns + "/" + name + " is being deleted");
    if (spec.sleeping) return false;
    spec.sleeping = true;
    return true;
  });
}

Result<EnvView> EnvironmentService::Wake(const std::string& ns, const std::string& name) {
  return Update(ns, name, [&](EnvironmentSpec& spec) -> Result<bool> {
    if (spec.deleting)
      return Fail(ErrorCode::kConflict, "environment " + ns + "/" + name + " is being deleted");
    if (!spec.sleeping) return false;
    spec.sleeping = false;
    return true;
  });
}

Result<std::vector<core::PortMove>> EnvironmentService::MoveHeldPorts(const std::string& ns,
                                                                      const std::string& name,
                                                                      const std::string& uid) {
  std::vector<core::PortMove> none;
  if (!port_busy_ || !runtime_.allocates_host_ports) return none;
  for (int attempt = 0; attempt < 10; ++attempt) {
    // From the store, not the cache: the move compares this revision.
    auto kv = store_.Get(store::keys::Spec(ns, name));
    if (!kv) return Fail(kv.error());
    if (!*kv) return none;
    auto spec = ParseSpec((*kv)->value);
    if (!spec) return Fail(spec.error());
    if (spec->uid != uid || spec->deleting) return none;
    std::vector<size_t> held;
    for (size_t i = 0; i < spec->ports.size(); ++i) {
      const PortSpec& p = spec->ports[i];
      if (p.auto_assigned && p.host_port != 0 && port_busy_(p.host_port)) held.push_back(i);
    }
    if (held.empty()) return none;
    auto reserved = store::ReservedPorts(store_);
    if (!reserved) return Fail(reserved.error());
    auto picked = PickFreePorts(*reserved, held.size());
    if (!picked) return Fail(picked.error());

    Txn txn;
    txn.compares.push_back(Compare{(*kv)->key, (*kv)->mod_revision});
    std::vector<core::PortMove> moves;
    for (size_t k = 0; k < held.size(); ++k) {
      PortSpec& p = spec->ports[held[k]];
      const int to = (*picked)[k];
      txn.compares.push_back(Compare{store::keys::Port(to), 0});
      txn.ops.push_back(Op::Put(store::keys::Port(to), spec->Key()));
      // Release the old reservation only if it is still this environment's.
      auto old = store_.Get(store::keys::Port(p.host_port));
      if (!old) return Fail(old.error());
      if (*old && (*old)->value == spec->Key()) {
        txn.compares.push_back(Compare{(*old)->key, (*old)->mod_revision});
        txn.ops.push_back(Op::Delete((*old)->key));
      }
      moves.push_back(core::PortMove{p.name, p.host_port, to});
      p.host_port = to;
    }
    txn.ops.push_back(Op::Put((*kv)->key, SerializeSpec(*spec)));
    auto r = store_.Commit(txn);
    if (r) return moves;
    // The spec or a port changed under us: read and pick again.
    if (r.error().code != ErrorCode::kConflict) return Fail(r.error());
  }
  return Fail(ErrorCode::kConflict, "environment kept changing; try again");
}

Status EnvironmentService::Watch(const std::string& ns, const std::string& name,
                                 const std::function<bool(const std::optional<EnvView>&)>& fn,
                                 std::chrono::milliseconds timeout, const std::atomic<bool>& stop) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  if (auto s = ValidateNamespace(ns); !s) return Fail(s.error());
  if (auto s = ValidateName(name); !s) return Fail(s.error());
  if (CacheFresh()) {
    // From the cache: one store watch (the informer's) serves every waiting client.
    auto cur = cache_->Get(ns, name);
    if (!fn(cur ? std::optional<EnvView>(ViewOf(*cur)) : std::nullopt) || !cur) return {};
    for (;;) {
      if (stop) return Fail(ErrorCode::kUnavailable, "server is shutting down");
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline)
        return Fail(ErrorCode::kTimeout, "timed out waiting for " + ns + "/" + name);
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
      auto next = cache_->WaitChange(ns, name, cur, std::min(left, std::chrono::milliseconds(500)));
      if (next == cur) continue;
      cur = std::move(next);
      if (!fn(cur ? std::optional<EnvView>(ViewOf(*cur)) : std::nullopt) || !cur) return {};
    }
  }
  const std::string status_key = store::keys::Status(ns, name);
  const std::string spec_key = store::keys::Spec(ns, name);
  while (true) {
    auto rev = store_.Revision();
    if (!rev) return Fail(rev.error());
    auto v = Get(ns, name);
    if (!v && v.error().code != ErrorCode::kNotFound) return Fail(v.error());
    if (!fn(v ? std::optional<EnvView>(*v) : std::nullopt)) return {};
    if (!v) return {};
    // Both records: a spec deleted before any status was written ends the wait too.
    auto w = store_.WatchPrefix("/berth/", *rev);
    if (!w) return Fail(w.error());
    bool relist = false;
    while (!relist) {
      if (stop) return Fail(ErrorCode::kUnavailable, "server is shutting down");
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline)
        return Fail(ErrorCode::kTimeout, "timed out waiting for " + ns + "/" + name);
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
      auto evs = (*w)->Next(std::min(left, std::chrono::milliseconds(500)));
      if (!evs) {
        relist = true;
        break;
      }
      bool changed = false;
      for (const auto& ev : *evs)
        if (ev.kv.key == status_key || ev.kv.key == spec_key) changed = true;
      if (!changed) continue;
      auto cur = Get(ns, name);
      if (!cur && cur.error().code != ErrorCode::kNotFound) return Fail(cur.error());
      if (!fn(cur ? std::optional<EnvView>(*cur) : std::nullopt)) return {};
      if (!cur) return {};
    }
  }
}

}  // namespace berth::api
