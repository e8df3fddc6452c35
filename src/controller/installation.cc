#include "controller/installation.h"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "berth/environment.h"

namespace berth::controller {

using nlohmann::json;

Result<std::string> NewInstallationId() {
  unsigned char raw[8];
  if (RAND_bytes(raw, sizeof raw) != 1)
    return Fail(ErrorCode::kInternal, "no random bytes for the installation id");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (unsigned char b : raw) {
    id += kHex[b >> 4];
    id += kHex[b & 15];
  }
  return id;
}

bool IsInstallationId(std::string_view id) {
  if (id.size() != 16) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string SerializeInstallation(const Installation& inst) {
  return json{{"id", inst.id}, {"created_at", inst.created_at}, {"adopted", inst.adopted}}.dump();
}

Result<Installation> ParseInstallation(std::string_view text) {
  auto bad = [](const std::string& why) {
    return Fail(ErrorCode::kInternal, std::string(store::keys::kInstallation) + ": " + why);
  };
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return bad("not a JSON object");
  Installation inst;
  auto id = j.find("id");
  if (id == j.end() || !id->is_string() || !IsInstallationId(id->get<std::string>()))
    return bad("id is not 16 lowercase hex digits");
  inst.id = id->get<std::string>();
  if (auto c = j.find("created_at"); c != j.end() && c->is_string()) inst.created_at = *c;
  if (auto a = j.find("adopted"); a != j.end()) {
    if (!a->is_array()) return bad("adopted is not a list");
    for (const auto& w : *a) {
      if (!w.is_string()) return bad("adopted holds a non-string");
      inst.adopted.insert(w.get<std::string>());
    }
  }
  return inst;
}

Result<Installation> EnsureInstallation(store::Store& store, runtime::Runtime& runtime) {
  const std::string key(store::keys::kInstallation);
  auto cur = store.Get(key);
  if (!cur) return Fail(Wrap(cur.error(), "reading the installation id"));
  if (*cur) return ParseInstallation((*cur)->value);

  auto id = NewInstallationId();
  if (!id) return Fail(id.error());
  Installation inst{*id, NowRfc3339(), {}};
  auto specs = store.List(store::keys::kSpecs);
  if (!specs) return Fail(Wrap(specs.error(), "listing specs"));
  if (!specs->kvs.empty()) {
    // A store of an earlier release: its workloads carry no id yet. Only those whose spec is
    // here are adopted; any other unlabelled one may be another store's and is left alone.
    std::set<std::string> live;
    for (const auto& kv : specs->kvs) live.insert(kv.key.substr(store::keys::kSpecs.size()));
    auto managed = runtime.ListManaged();
    if (!managed)
      return Fail(Wrap(managed.error(),
                       "first start with installation ids: listing the engine's workloads to "
                       "adopt this store's own"));
    for (const auto& w : *managed)
      if (w.installation.empty() && live.count(w.ns + "/" + w.name)) {
        inst.adopted.insert(w.id);
        spdlog::info("adopting workload {} of {}/{} (made before installation ids)", w.id, w.ns,
                     w.name);
      }
  }
  // Create-if-absent: of several replicas starting at once, one wins and all use its id.
  auto r = store.Commit(
      store::Txn{{store::Compare{key, 0}}, {store::Op::Put(key, SerializeInstallation(inst))}});
  if (!r && r.error().code != ErrorCode::kConflict) return Fail(r.error());
  if (!r) {
    auto won = store.Get(key);
    if (!won) return Fail(won.error());
    if (!*won) return Fail(ErrorCode::kInternal, key + " vanished after a conflicting create");
    return ParseInstallation((*won)->value);
  }
  spdlog::info("new installation {} ({} workloads adopted)", inst.id, inst.adopted.size());
  return inst;
}

}  // namespace berth::controller
