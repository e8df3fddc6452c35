#include "store/env_cache.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "berth/store.h"
#include "core/duration.h"

namespace berth::store {

namespace {

// The API's JSON text: UTF-8 always (a bad byte is replaced, never thrown on).
std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Our own text of a spec or status that decoded before: it decodes again.
template <typename T>
T Decode(const std::string& text) {
  return nlohmann::json::parse(text).get<T>();
}

}  // namespace

std::string EnvJson(const EnvironmentSpec& spec, const std::optional<EnvStatus>& status,
                    int64_t revision) {
  nlohmann::json j;
  j["spec"] = spec;
  j["status"] = status ? nlohmann::json(*status) : nlohmann::json(nullptr);
  j["revision"] = revision;
  return Dump(j);
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
  return Dump({{"spec", std::move(sp)}, {"status", std::move(st)}, {"revision", revision}});
}

const char* const kEnvTableColumns[11] = {"NAMESPACE", "NAME",   "PHASE", "HOST", "SSH",    "HTTP",
                                          "HTTPS",     "DOMAIN", "IMAGE", "AGE",  "EXPIRES"};

namespace {

void AppendCell(std::string& out, const std::string& text) {
  if (!out.empty()) out += ',';
  out += Dump(text);
}

// The published port, else the one the spec pins, else "-".
std::string PortCell(const EnvironmentSpec& spec, const std::optional<EnvStatus>& status,
                     const char* name) {
  if (status)
    if (auto it = status->ports.find(name); it != status->ports.end() && it->second > 0)
      return std::to_string(it->second);
  for (const auto& p : spec.ports)
    if (p.name == name && p.host_port > 0) return std::to_string(p.host_port);
  return "-";
}

std::string Age(int64_t secs) {
  secs = std::max<int64_t>(secs, 0);
  if (secs < 120) return std::to_string(secs) + "s";
  if (secs < 7200) return std::to_string(secs / 60) + "m";
  if (secs < 172800) return std::to_string(secs / 3600) + "h";
  return std::to_string(secs / 86400) + "d";
}

int64_t EpochOr0(const std::string& rfc3339) {
  if (rfc3339.empty()) return 0;
  auto t = core::ParseRfc3339Utc(rfc3339);
  return t ? *t : 0;
}

}  // namespace

std::string EnvTableCells(const EnvironmentSpec& spec, const std::optional<EnvStatus>& status) {
  std::string phase = status ? PhaseName(status->phase) : "Pending";
  if (status && status->routed) phase += "+routed";
  // A condition that does not change the phase (the engine does not answer) still shows.
  if (status && status->reason == "RuntimeUnavailable") phase += "(RuntimeUnavailable)";
  std::string out;
  AppendCell(out, spec.ns);
  AppendCell(out, spec.name);
  AppendCell(out, phase);
  AppendCell(out, status && !status->host_ip.empty() ? status->host_ip : "-");
  for (const char* port : {"ssh", "http", "https"}) AppendCell(out, PortCell(spec, status, port));
  AppendCell(out, spec.domains.empty() ? "-" : spec.domains.front());
  AppendCell(out, spec.image);
  return out;
}

void AppendEnvTableRow(std::string& out, const CachedEnv& env, int64_t now) {
  out += '[';
  out += env.row;
  out += ",\"";
  out += env.created ? Age(now - env.created) : "-";
  out += "\",\"";
  // "3h12m" until the time, "now" once passed, "-" for none.
  out += env.expires == 0     ? "-"
         : env.expires <= now ? "now"
                              : core::FormatDuration(env.expires - now);
  out += "\"]";
}

namespace {

// The view made of its parts: the texts (shared with the record) and the decoded spec and
// status the row is made from.
std::shared_ptr<const CachedEnv> MakeView(const EnvironmentSpec& spec, const EnvStatus& status,
                                          int64_t revision,
                                          std::shared_ptr<const util::PackedText> spec_json,
                                          std::shared_ptr<const util::PackedText> status_json) {
  auto v = std::make_shared<CachedEnv>();
  v->ns = spec.ns;
  v->name = spec.name;
  v->revision = revision;
  v->spec_json = std::move(spec_json);
  v->status_json = std::move(status_json);
  v->row = EnvTableCells(spec, status);
  v->created = EpochOr0(spec.created_at);
  v->expires = EpochOr0(spec.expires_at);
  v->sleeping = spec.sleeping;
  v->deleting = spec.deleting;
  v->replicas = spec.replicas;
  v->memory_limit = spec.resources.memory_limit;
  v->idle_sleep_seconds = spec.idle_sleep_seconds;
  v->phase = status.phase;
  v->routed = status.routed;
  return v;
}

}  // namespace

EnvironmentSpec CachedEnv::Spec() const {
  return spec_json ? Decode<EnvironmentSpec>(spec_json->str()) : EnvironmentSpec{};
}

EnvStatus CachedEnv::Status() const {
  return status_json ? Decode<EnvStatus>(status_json->str()) : EnvStatus{};
}

void CachedEnv::AppendJson(std::string& out) const {
  // The keys in nlohmann's (sorted) order, so the text is EnvJson's.
  out += "{\"revision\":";
  out += std::to_string(revision);
  out += ",\"spec\":";
  out += spec_json ? spec_json->str() : "null";
  out += ",\"status\":";
  out += status_json ? status_json->str() : "null";
  out += '}';
}

CachedEnv CachedEnvOf(EnvironmentSpec spec, std::optional<EnvStatus> status, int64_t revision) {
  EnvCache::Record r;
  r.spec_json = std::make_shared<const util::PackedText>(Dump(spec), nullptr);
  r.spec_revision = revision;
  if (status) r.status_json = std::make_shared<const util::PackedText>(Dump(*status), nullptr);
  EnvCache::Rebuild(r, &spec, status ? &*status : nullptr, spec.Key(), {});
  return r.view ? *r.view : CachedEnv{};
}

InformerHandlers EnvCache::Handlers() {
  return {[this](const Snapshot& s) { Replace(s); }, [this](const WatchEvent& e) { Change(e); }};
}

void EnvCache::Rebuild(Record& r, const EnvironmentSpec* spec, const EnvStatus* status,
                       std::string_view id, const Dictionaries& dicts) {
  r.view.reset();
  if (!r.spec_json) return;
  try {
    std::optional<EnvironmentSpec> decoded_spec;
    if (!spec) spec = &decoded_spec.emplace(Decode<EnvironmentSpec>(r.spec_json->str()));
    std::optional<EnvStatus> decoded_status;
    std::shared_ptr<const util::PackedText> status_json = r.status_json;
    if (!r.status_json) {
      // No status record yet: what the controller starts from (the record is its alone).
      status = &decoded_status.emplace(AcceptedStatus(*spec));
      status_json = std::make_shared<const util::PackedText>(Dump(*status), dicts.status);
    } else if (!status) {
      status = &decoded_status.emplace(Decode<EnvStatus>(r.status_json->str()));
    }
    r.view = MakeView(*spec, *status, r.spec_revision, r.spec_json, std::move(status_json));
  } catch (const std::exception& e) {  // our own text: only a bug gets here
    spdlog::error("env cache: {}: {}", id, e.what());
  }
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

bool EnvCache::ApplyLocked(const KeyValue& kv, bool deleted) {
  auto of = RecordOf(kv.key);
  if (!of) return false;
  auto it = records_.find(of->first);
  if (it == records_.end()) {
    if (deleted) return false;
    it = records_.emplace(of->first, Record{}).first;
  }
  Record& r = it->second;
  std::optional<EnvironmentSpec> spec;
  std::optional<EnvStatus> status;
  if (of->second) {
    if (deleted) {
      r.spec_json.reset();
    } else if (auto s = ParseSpec(kv.value)) {
      spec = std::move(*s);
      r.spec_json = std::make_shared<const util::PackedText>(Dump(*spec), dicts_.spec);
      r.spec_revision = kv.mod_revision;
    } else {
      return false;  // the API never writes an unreadable spec; keep what we had
    }
  } else if (!deleted) {
    if (auto s = ParseStatus(kv.value)) {
      status = std::move(*s);
      r.status_json = std::make_shared<const util::PackedText>(Dump(*status), dicts_.status);
    } else {
      r.status_json.reset();  // unreadable: shown as none
    }
  } else {
    r.status_json.reset();
  }
  if (!r.spec_json && !r.status_json) {
    records_.erase(it);
    return true;
  }
  Rebuild(r, spec ? &*spec : nullptr, status ? &*status : nullptr, of->first, dicts_);
  return true;
}

void EnvCache::Replace(const Snapshot& snap) {
  // Decoded first, views built after: a spec and its status arrive as separate records.
  struct Decoded {
    std::optional<EnvironmentSpec> spec;
    int64_t revision = 0;
    std::optional<EnvStatus> status;
  };
  std::map<std::string, Decoded, std::less<>> decoded;
  for (const auto& kv : snap.kvs) {
    auto of = RecordOf(kv.key);
    if (!of) continue;
    if (of->second) {
      if (auto s = ParseSpec(kv.value)) {
        auto& d = decoded[of->first];
        d.spec = std::move(*s);
        d.revision = kv.mod_revision;
      }
    } else if (auto s = ParseStatus(kv.value)) {
      decoded[of->first].status = std::move(*s);
    }
  }
  std::map<std::string, Record, std::less<>> fresh;
  for (auto& [id, d] : decoded) {
    Record& r = fresh[id];
    if (d.status)
      r.status_json = std::make_shared<const util::PackedText>(Dump(*d.status), nullptr);
    if (d.spec) {
      r.spec_json = std::make_shared<const util::PackedText>(Dump(*d.spec), nullptr);
      r.spec_revision = d.revision;
    }
    Rebuild(r, d.spec ? &*d.spec : nullptr, d.status ? &*d.status : nullptr, id, {});
  }
  // Too few to learn from: kept plain until the cache has grown (TrainIfDueLocked).
  Dictionaries dicts;
  if (fresh.size() >= util::TextDictionary::kTrainAt) dicts = PackAll(fresh);
  std::lock_guard<std::mutex> l(mu_);
  records_ = std::move(fresh);
  // Texts packed with an earlier list's dictionaries keep them until they are replaced.
  if (dicts.spec) dicts_.spec = std::move(dicts.spec);
  if (dicts.status) dicts_.status = std::move(dicts.status);
  cv_.notify_all();
}

void EnvCache::Change(const WatchEvent& ev) {
  std::lock_guard<std::mutex> l(mu_);
  if (ApplyLocked(ev.kv, ev.type == WatchEvent::Type::kDelete)) cv_.notify_all();
  TrainIfDueLocked();
}

void EnvCache::TrainIfDueLocked() {
  if (dicts_.spec || records_.size() < util::TextDictionary::kTrainAt) return;
  dicts_ = PackAll(records_);
}

EnvCache::Dictionaries EnvCache::PackAll(std::map<std::string, Record, std::less<>>& records) {
  std::vector<std::string> specs, statuses;
  for (const auto& [id, r] : records) {
    if (r.spec_json) specs.push_back(r.spec_json->str());
    if (r.status_json) statuses.push_back(r.status_json->str());
  }
  // A new installation's records may have no status yet: the views' Accepted texts then teach
  // the status dictionary.
  if (statuses.empty())
    for (const auto& [id, r] : records)
      if (r.view && r.view->status_json) statuses.push_back(r.view->status_json->str());
  Dictionaries dicts{util::TextDictionary::Train(specs), util::TextDictionary::Train(statuses)};
  auto repack = [](std::shared_ptr<const util::PackedText>& t,
                   const std::shared_ptr<const util::TextDictionary>& dict) {
    if (t && !t->packed() && dict) t = std::make_shared<const util::PackedText>(t->str(), dict);
  };
  for (auto& [id, r] : records) {
    repack(r.spec_json, dicts.spec);
    repack(r.status_json, dicts.status);
    if (!r.view) continue;
    // The same view with the packed texts (a copy: views are immutable once handed out).
    auto v = std::make_shared<CachedEnv>(*r.view);
    v->spec_json = r.spec_json;
    if (r.status_json)
      v->status_json = r.status_json;
    else
      repack(v->status_json, dicts.status);
    r.view = std::move(v);
  }
  return dicts;
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
