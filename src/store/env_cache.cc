#include "store/env_cache.h"

#include <nlohmann/json.hpp>

#include "berth/store.h"

namespace berth::store {

std::string EnvJson(const EnvironmentSpec& spec, const std::optional<EnvStatus>& status,
                    int64_t revision) {
  nlohmann::json j;
  j["spec"] = spec;
  j["status"] = status ? nlohmann::json(*status) : nlohmann::json(nullptr);
  j["revision"] = revision;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string EnvSummaryJson(const EnvironmentSpec& spec, const std::optional<EnvStatus>& status,
                           int64_t revision) {
  const nlohmann::json full_spec = spec;
  nlohmann::json sp = nlohmann::json::object();
  for (const char* k : {"namespace", "name", "image", "domains", "ports", "created_at",
                        "expires_at", "sleeping", "deleting", "release_mode", "branch"})
    if (auto it = full_spec.find(k); it != full_spec.end()) sp[k] = *it;
  nlohmann::json st = nullptr;
  if (status) {
    const nlohmann::json full_status = *status;
    st = nlohmann::json::object();
    for (const char* k : {"phase", "reason", "routed", "host_ip", "ports", "observed_generation"})
      if (auto it = full_status.find(k); it != full_status.end()) st[k] = *it;
  }
  nlohmann::json j{{"spec", std::move(sp)}, {"status", std::move(st)}, {"revision", revision}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

InformerHandlers EnvCache::Handlers() {
  return {[this](const Snapshot& s) { Replace(s); }, [this](const WatchEvent& e) { Change(e); }};
}

void EnvCache::Rebuild(Record& r) {
  if (!r.spec) {
    r.view.reset();
    return;
  }
  auto v = std::make_shared<CachedEnv>();
  v->spec = *r.spec;
  // No status record yet: what the controller starts from (the record is its alone).
  v->status = r.status ? r.status : std::optional<EnvStatus>(AcceptedStatus(*r.spec));
  v->revision = r.spec_revision;
  v->json = EnvJson(v->spec, v->status, v->revision);
  v->summary = EnvSummaryJson(v->spec, v->status, v->revision);
  r.view = std::move(v);
}

namespace {

// The environment ("ns/name") a record belongs to, and whether it is its spec (else its
// status); nullopt for any other key.
std::optional<std::pair<std::string, bool>> RecordOf(const std::string& key) {
  if (auto id = EnvKey::FromRecordKey(key, keys::kSpecs)) return std::make_pair(id->String(), true);
  if (auto id = EnvKey::FromRecordKey(key, keys::kStatus))
    return std::make_pair(id->String(), false);
  return std::nullopt;
}

}  // namespace

bool EnvCache::Decode(Record& r, const KeyValue& kv, bool is_spec, bool deleted) {
  if (is_spec) {
    if (deleted) {
      r.spec.reset();
    } else if (auto s = ParseSpec(kv.value)) {
      r.spec = std::move(*s);
      r.spec_revision = kv.mod_revision;
    } else {
      return false;  // the API never writes an unreadable spec; keep what we had
    }
  } else if (deleted) {
    r.status.reset();
  } else if (auto s = ParseStatus(kv.value)) {
    r.status = std::move(*s);
  } else {
    r.status.reset();  // unreadable: shown as none
  }
  return true;
}

bool EnvCache::ApplyLocked(const KeyValue& kv, bool deleted) {
  auto of = RecordOf(kv.key);
  if (!of) return false;
  auto it = records_.find(of->first);
  if (it == records_.end()) {
    if (deleted) return false;
    it = records_.emplace(of->first, Record{}).first;
  }
  Record& r = it->second;
  if (!Decode(r, kv, of->second, deleted)) return false;
  if (!r.spec && !r.status) {
    records_.erase(it);
    return true;
  }
  Rebuild(r);
  return true;
}

void EnvCache::Replace(const Snapshot& snap) {
  std::lock_guard<std::mutex> l(mu_);
  records_.clear();
  // Decoded first, views built after: a spec and its status arrive as separate records.
  for (const auto& kv : snap.kvs)
    if (auto of = RecordOf(kv.key)) Decode(records_[of->first], kv, of->second, false);
  for (auto& [id, r] : records_) Rebuild(r);
  cv_.notify_all();
}

void EnvCache::Change(const WatchEvent& ev) {
  std::lock_guard<std::mutex> l(mu_);
  if (ApplyLocked(ev.kv, ev.type == WatchEvent::Type::kDelete)) cv_.notify_all();
}

std::vector<std::shared_ptr<const CachedEnv>> EnvCache::List(std::string_view ns) const {
  std::vector<std::shared_ptr<const CachedEnv>> out;
  std::lock_guard<std::mutex> l(mu_);
  std::string prefix = ns.empty() ? "" : std::string(ns) + "/";
  for (auto it = records_.lower_bound(prefix);
       it != records_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it)
    if (it->second.view) out.push_back(it->second.view);
  return out;
}

std::shared_ptr<const CachedEnv> EnvCache::Get(std::string_view ns, std::string_view name) const {
  std::string id = std::string(ns) + "/" + std::string(name);
  std::lock_guard<std::mutex> l(mu_);
  auto it = records_.find(id);
  return it == records_.end() ? nullptr : it->second.view;
}

std::shared_ptr<const CachedEnv> EnvCache::WaitChange(std::string_view ns, std::string_view name,
                                                      const std::shared_ptr<const CachedEnv>& seen,
                                                      std::chrono::milliseconds timeout) const {
  std::string id = std::string(ns) + "/" + std::string(name);
  std::unique_lock<std::mutex> l(mu_);
  auto current = [&]() -> std::shared_ptr<const CachedEnv> {
    auto it = records_.find(id);
    return it == records_.end() ? nullptr : it->second.view;
  };
  cv_.wait_for(l, timeout, [&] { return current() != seen; });
  return current();
}

size_t EnvCache::size() const {
  std::lock_guard<std::mutex> l(mu_);
  return records_.size();
}

}  // namespace berth::store
