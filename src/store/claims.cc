#include "store/claims.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <tuple>

#include "berth/environment.h"
#include "util/strings.h"

namespace berth::store {
namespace {

// "<ns>/<name>" -> the spec key, or "" for a value that is not an owner.
std::string SpecKeyOf(const std::string& owner) {
  auto id = EnvKey::Parse(owner);
  return id ? keys::Spec(*id) : "";
}

std::string TakenMessage(const std::string& domain, const std::string& owner) {
  return "domain " + domain + " is taken by " + owner;
}

// Records on the loser that a domain went to an earlier environment (once per owner/domain).
void ReportTaken(Store& store, const KeyValue& spec_kv, const EnvironmentSpec& spec,
                 const std::string& domain, const std::string& owner) {
  const std::string message =
      TakenMessage(domain, owner) + " (claimed first); it is not routed to " + spec.Key();
  const std::string skey = keys::Status(spec.ns, spec.name);
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto kv = store.Get(skey);
    if (!kv) return;
    EnvStatus status = AcceptedStatus(spec);
    int64_t rev = 0;
    if (*kv) {
      if (auto st = ParseStatus((*kv)->value)) status = *st;
      rev = (*kv)->mod_revision;
    }
    for (const auto& e : status.events)
      if (e.reason == "DomainTaken" && e.message == message) return;
    status.routed = false;
    status.AddEvent("Warning", "DomainTaken", message);
    status.updated_at = NowRfc3339();
    auto r = store.Commit(Txn{{Compare{spec_kv.key, spec_kv.mod_revision}, Compare{skey, rev}},
                              {Op::Put(skey, SerializeStatus(status))}});
    if (r || r.error().code != ErrorCode::kConflict) return;
  }
}

}  // namespace

Result<std::set<int>> ReservedPorts(Store& store) {
  auto snap = store.List(keys::kPorts);
  if (!snap) return Fail(snap.error());
  std::set<int> used;
  for (const auto& kv : snap->kvs) {
    std::string_view tail = std::string_view(kv.key).substr(keys::kPorts.size());
    if (tail.empty() || tail.size() > 5 || tail.find_first_not_of("0123456789") != tail.npos)
      continue;
    used.insert(std::stoi(std::string(tail)));
  }
  return used;
}

Status ClaimDomains(Store& store, const std::string& owner, const std::vector<std::string>& domains,
                    Txn& txn) {
  for (const auto& d : domains) {
    const std::string key = keys::Domain(d);
    auto kv = store.Get(key);
    if (!kv) return Fail(kv.error());
    if (!*kv) {
      txn.compares.push_back(Compare{key, 0});
      txn.ops.push_back(Op::Put(key, owner));
    } else if ((*kv)->value == owner) {
      txn.compares.push_back(Compare{key, (*kv)->mod_revision});
    } else {
      return Fail(ErrorCode::kAlreadyExists, TakenMessage(d, (*kv)->value));
    }
  }
  return {};
}

Status ReleaseClaims(Store& store, const std::string& owner, Txn& txn) {
  for (auto prefix : {keys::kPorts, keys::kDomains}) {
    auto snap = store.List(prefix);
    if (!snap) return Fail(snap.error());
    for (const auto& kv : snap->kvs)
      if (kv.value == owner) txn.ops.push_back(Op::Delete(kv.key));
  }
  return {};
}

Result<std::vector<std::string>> OwnedDomains(Store& store, const std::string& owner,
                                              const std::vector<std::string>& domains) {
  std::vector<std::string> out;
  for (const auto& d : domains) {
    auto kv = store.Get(keys::Domain(d));
    if (!kv) return Fail(kv.error());
    if (*kv && (*kv)->value == owner) out.push_back(d);
  }
  return out;
}

void CollectOrphanClaims(Store& store, const std::set<std::string>& live) {
  for (auto prefix : {keys::kPorts, keys::kDomains}) {
    auto snap = store.List(prefix);
    if (!snap) continue;
    for (const auto& kv : snap->kvs) {
      if (live.count(kv.value)) continue;
      const std::string spec_key = SpecKeyOf(kv.value);
      if (spec_key.empty()) continue;
      auto r = store.Commit(
          Txn{{Compare{spec_key, 0}, Compare{kv.key, kv.mod_revision}}, {Op::Delete(kv.key)}});
      if (r) spdlog::info("collected {} of the deleted environment {}", kv.key, kv.value);
    }
  }
}

Result<ClaimMigration> ClaimUnclaimedDomains(Store& store) {
  auto snap = store.List(keys::kSpecs);
  if (!snap) return Fail(snap.error());
  struct Entry {
    KeyValue kv;
    EnvironmentSpec spec;
  };
  std::vector<Entry> specs;
  for (const auto& kv : snap->kvs)
    if (auto s = ParseSpec(kv.value)) specs.push_back({kv, std::move(*s)});
  std::sort(specs.begin(), specs.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.spec.created_at, a.kv.create_revision) <
           std::tie(b.spec.created_at, b.kv.create_revision);
  });
  ClaimMigration out;
  for (auto& e : specs) {
    const std::string owner = e.spec.Key();
    bool lost = false;
    for (const auto& d : e.spec.domains) {
      const std::string key = keys::Domain(d);
      for (int attempt = 0; attempt < 3; ++attempt) {
        auto kv = store.Get(key);
        if (!kv) return Fail(kv.error());
        if (*kv && (*kv)->value == owner) break;
        if (*kv) {
          spdlog::warn("environment {}: {}", owner, TakenMessage(d, (*kv)->value));
          ReportTaken(store, e.kv, e.spec, d, (*kv)->value);
          lost = true;
          break;
        }
        // Only while the spec is unchanged: a deleted environment claims nothing.
        auto r = store.Commit(
            Txn{{Compare{e.kv.key, e.kv.mod_revision}, Compare{key, 0}}, {Op::Put(key, owner)}});
        if (r) {
          ++out.claimed;
          break;
        }
        if (r.error().code != ErrorCode::kConflict) return Fail(r.error());
        // The claim appeared or the spec changed (a rebuild): look again; gone = nothing to do.
        auto again = store.Get(e.kv.key);
        if (!again) return Fail(again.error());
        if (!*again) break;
        e.kv = **again;
      }
    }
    if (lost) ++out.conflicts;
  }
  return out;
}

}  // namespace berth::store
