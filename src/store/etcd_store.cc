#include "store/etcd_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "store/etcd/client.h"
#include "store/etcd/watch.h"
#include "store/key_range.h"
#include "store/txn_check.h"
#include "util/base64.h"

namespace berth::store {

using nlohmann::json;

namespace {

// etcd spells "from the first key" and "to the end" as a single NUL byte.
const std::string kNul(1, '\0');

std::string B64(std::string_view s) {
  return util::Base64Encode(s);
}

int64_t HeaderRevision(const json& j) {
  auto it = j.find("header");
  return it == j.end() ? 0 : etcd::JsonInt(*it, "revision");
}

}  // namespace

EtcdStore::EtcdStore(std::shared_ptr<etcd::Client> c, EtcdStoreOptions opts)
    : client_(std::move(c)), opts_(std::move(opts)) {}
EtcdStore::~EtcdStore() = default;

Result<std::unique_ptr<EtcdStore>> EtcdStore::Open(EtcdStoreOptions opts) {
  if (opts.endpoints.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "etcd store: no endpoints");
  }
  if (opts.list_page_size <= 0) opts.list_page_size = 1000;
  etcd::ClientConfig cfg;
  cfg.endpoints = opts.endpoints;
  cfg.tls = opts.tls;
  cfg.connect_timeout = opts.connect_timeout;
  cfg.request_timeout = opts.request_timeout;
  auto store = std::unique_ptr<EtcdStore>(
      new EtcdStore(std::make_shared<etcd::Client>(std::move(cfg)), std::move(opts)));
  if (auto rev = store->Revision(); !rev) return Fail(Wrap(rev.error(), "opening etcd store"));
  return store;
}

Result<std::optional<KeyValue>> EtcdStore::Get(std::string_view key) {
  if (auto st = ValidateKey(key); !st) return Fail(st.error());
  auto r = client_->Call("/kv/range", json{{"key", B64(key)}});
  if (!r) return Fail(r.error());
  try {
    auto kvs = r->find("kvs");
    if (kvs == r->end() || !kvs->is_array() || kvs->empty()) return std::optional<KeyValue>{};
    auto kv = etcd::ParseKeyValue(kvs->front());
    if (!kv) return Fail(kv.error());
    return std::optional<KeyValue>(std::move(*kv));
  } catch (const json::exception& e) {
    return Fail(ErrorCode::kInternal, std::string("etcd range: ") + e.what());
  }
}

Result<Snapshot> EtcdStore::List(std::string_view prefix) {
  const std::string end = PrefixEnd(prefix);
  // Pages are read at the first page's revision so the listing is one consistent snapshot;
  // if that revision is compacted away between pages, start over.
  for (int attempt = 0; attempt < 3; ++attempt) {
    Snapshot snap;
    std::string from = prefix.empty() ? kNul : std::string(prefix);
    bool restart = false;
    while (true) {
      json body = {{"key", B64(from)},
                   {"range_end", B64(end.empty() ? kNul : end)},
                   {"limit", std::to_string(opts_.list_page_size)}};
      if (snap.revision > 0) body["revision"] = std::to_string(snap.revision);
      auto r = client_->Call("/kv/range", body);
      if (!r) {
        if (r.error().code == ErrorCode::kGone) {
          restart = true;
          break;
        }
        return Fail(r.error());
      }
      try {
        if (snap.revision == 0) snap.revision = HeaderRevision(*r);
        if (auto kvs = r->find("kvs"); kvs != r->end() && kvs->is_array()) {
          for (const auto& item : *kvs) {
            auto kv = etcd::ParseKeyValue(item);
            if (!kv) return Fail(kv.error());
            snap.kvs.push_back(std::move(*kv));
          }
        }
        if (!r->value("more", false) || snap.kvs.empty()) return snap;
      } catch (const json::exception& e) {
        return Fail(ErrorCode::kInternal, std::string("etcd range: ") + e.what());
      }
      from = snap.kvs.back().key + kNul;  // the next key after the last one seen
    }
    if (!restart) break;
  }
  return Fail(ErrorCode::kUnavailable, "etcd list " + std::string(prefix) +
                                           ": revision compacted while paging, three times");
}

Result<int64_t> EtcdStore::Commit(const Txn& txn) {
  if (auto st = ValidateTxn(txn); !st) return Fail(st.error());
  json compare = json::array();
  json failure = json::array();
  for (const auto& c : txn.compares) {
    // mod_revision 0 matches an absent key: etcd reports 0 for keys that do not exist.
    compare.push_back({{"key", B64(c.key)},
                       {"target", "MOD"},
                       {"result", "EQUAL"},
                       {"mod_revision", std::to_string(c.mod_revision)}});
    // On failure, read the compared keys back to say which one moved.
    failure.push_back({{"request_range", {{"key", B64(c.key)}}}});
  }
  json success = json::array();
  for (const auto& op : txn.ops) {
    if (op.kind == Op::Kind::kPut) {
      success.push_back({{"request_put", {{"key", B64(op.key)}, {"value", B64(op.value)}}}});
    } else {
      success.push_back({{"request_delete_range", {{"key", B64(op.key)}}}});
    }
  }
  bool retried = false;
  auto r = client_->Call(
      "/kv/txn", json{{"compare", compare}, {"success", success}, {"failure", failure}}, &retried);
  if (!r) return Fail(r.error());
  try {
    if (r->value("succeeded", false)) return HeaderRevision(*r);
    // A member that died (or lost its leader) after taking the txn leaves its outcome unknown;
    // the retry then trips over the txn's own writes. Answering kConflict would tell a create
    // that its environment "already exists".
    if (retried && !txn.compares.empty() && !txn.ops.empty()) {
      auto applied = AppliedBefore(txn);
      if (!applied) return Fail(applied.error());
      if (*applied) return **applied;
    }
    const auto& responses = r->value("responses", json::array());
    for (size_t i = 0; i < txn.compares.size(); ++i) {
      int64_t have = 0;
      if (i < responses.size()) {
        const auto& rr = responses[i].value("response_range", json::object());
        const auto& kvs = rr.value("kvs", json::array());
        if (!kvs.empty()) have = etcd::JsonInt(kvs.front(), "mod_revision");
      }
      if (have != txn.compares[i].mod_revision) {
        return Fail(ErrorCode::kConflict,
                    ConflictMessage(txn.compares[i].key, txn.compares[i].mod_revision, have));
      }
    }
    // The keys moved back between the txn and our read of them: still a conflict.
    return Fail(ErrorCode::kConflict, "txn compare failed (keys changed concurrently)");
  } catch (const json::exception& e) {
    return Fail(ErrorCode::kInternal, std::string("etcd txn: ") + e.what());
  }
}

Result<std::optional<int64_t>> EtcdStore::AppliedBefore(const Txn& txn) {
  int64_t rev = 0;
  for (const auto& op : txn.ops) {
    auto kv = Get(op.key);
    if (!kv) return Fail(kv.error());
    bool in_effect = op.kind == Op::Kind::kPut ? (*kv && (*kv)->value == op.value) : !*kv;
    if (!in_effect) return std::optional<int64_t>();
    if (*kv) rev = std::max(rev, (*kv)->mod_revision);
  }
  if (rev == 0) {
    auto current = Revision();
    if (!current) return Fail(current.error());
    rev = *current;
  }
  spdlog::info("etcd: a txn's answer was lost with a member; the retry found it applied at {}",
               rev);
  return std::optional<int64_t>(rev);
}

Result<int64_t> EtcdStore::Revision() {
  // Any range answers with the store revision in its header; count_only keeps it small.
  auto r = client_->Call("/kv/range", json{{"key", B64(kNul)}, {"count_only", true}});
  if (!r) return Fail(r.error());
  return HeaderRevision(*r);
}

Result<std::unique_ptr<Watch>> EtcdStore::WatchPrefix(std::string_view prefix,
                                                      int64_t from_revision) {
  if (from_revision < 0) {
    return Fail(ErrorCode::kInvalidArgument, "watch from negative revision");
  }
  return std::unique_ptr<Watch>(
      std::make_unique<etcd::EtcdWatch>(client_, std::string(prefix), from_revision));
}

Status EtcdStore::Compact(int64_t revision) {
  auto current = Revision();
  if (!current) return Fail(current.error());
  int64_t at = std::min(revision, *current);
  if (at <= 0) return {};
  auto r =
      client_->Call("/kv/compaction", json{{"revision", std::to_string(at)}, {"physical", true}});
  if (!r) {
    // Compacting to where it already is, is done.
    if (r.error().code == ErrorCode::kGone) return {};
    return Fail(r.error());
  }
  return {};
}

}  // namespace berth::store
