// Store: the single source of truth. A revisioned key-value space with transactions and a
// change feed, shaped like etcd v3 so that SQLite (embedded) and etcd (scale-out) are
// interchangeable behind it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/environment.h"
#include "berth/result.h"

namespace berth::store {

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
};

// A transaction succeeds only if every compare holds: the key's mod_revision equals
// `mod_revision`; 0 means "the key must not exist".
struct Compare {
  std::string key;
  int64_t mod_revision = 0;
};

struct Op {
  enum class Kind { kPut, kDelete };
  Kind kind = Kind::kPut;
  std::string key;
  std::string value;
  static Op Put(std::string k, std::string v) { return Op{Kind::kPut, std::move(k), std::move(v)}; }
  static Op Delete(std::string k) { return Op{Kind::kDelete, std::move(k), {}}; }
};

struct Txn {
  std::vector<Compare> compares;
  std::vector<Op> ops;
};

struct Snapshot {
  int64_t revision = 0;  // the store revision the listing was read at
  std::vector<KeyValue> kvs;
};

struct WatchEvent {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  KeyValue kv;  // for kDelete: key and mod_revision (the deleting revision) only
};

// A change feed for a prefix, starting after a revision.
class Watch {
 public:
  virtual ~Watch() = default;
  // Blocks up to `timeout` for events. Empty vector on timeout. kGone when `from_revision`
  // was compacted: the caller relists and watches again from the listing's revision.
  virtual Result<std::vector<WatchEvent>> Next(std::chrono::milliseconds timeout) = 0;
  // Wakes a blocked Next() from another thread; it then returns kUnavailable.
  virtual void Cancel() = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  virtual Result<std::optional<KeyValue>> Get(std::string_view key) = 0;
  virtual Result<Snapshot> List(std::string_view prefix) = 0;
  // Applies all ops atomically; returns the new revision. kConflict if a compare failed.
  virtual Result<int64_t> Commit(const Txn& txn) = 0;
  virtual Result<int64_t> Revision() = 0;
  // Events with mod_revision > from_revision under prefix.
  virtual Result<std::unique_ptr<Watch>> WatchPrefix(std::string_view prefix,
                                                     int64_t from_revision) = 0;

  // Conveniences over Commit.
  Result<int64_t> Put(std::string key, std::string value) {
    return Commit(Txn{{}, {Op::Put(std::move(key), std::move(value))}});
  }
  Result<int64_t> Delete(std::string key) { return Commit(Txn{{}, {Op::Delete(std::move(key))}}); }
};

// Opens a store by URL: "sqlite:///var/lib/berth/berth.db" or
// "etcd://127.0.0.1:2379[,host:port...]" (the v3 JSON gateway).
Result<std::unique_ptr<Store>> OpenStore(const std::string& url);

// Key layout. Route keys are the original platform's, so confd setups keep working.
namespace keys {
inline constexpr std::string_view kSpecs = "/berth/envs/";
inline constexpr std::string_view kStatus = "/berth/status/";
inline constexpr std::string_view kPorts = "/berth/ports/";
// Domain claims: /berth/domains/<domain> = "<ns>/<name>" of the environment that claimed it.
inline constexpr std::string_view kDomains = "/berth/domains/";
// A namespace's quota lock: every create in a namespace with a quota rewrites it in its
// transaction, so two creates cannot both take the last place (value: the usage it saw).
inline constexpr std::string_view kQuotas = "/berth/quotas/";
inline constexpr std::string_view kRoutes = "/devnginx/";
// This installation's identity (controller/installation.h), written once on first start.
inline constexpr std::string_view kInstallation = "/berth/installation";
inline std::string Spec(std::string_view ns, std::string_view name) {
  return std::string(kSpecs) + std::string(ns) + "/" + std::string(name);
}
inline std::string Status(std::string_view ns, std::string_view name) {
  return std::string(kStatus) + std::string(ns) + "/" + std::string(name);
}
inline std::string Route(std::string_view ns, std::string_view name) {
  return std::string(kRoutes) + std::string(ns) + "/" + std::string(name);
}
inline std::string Spec(const EnvKey& k) {
  return Spec(k.ns, k.name);
}
inline std::string Status(const EnvKey& k) {
  return Status(k.ns, k.name);
}
inline std::string Route(const EnvKey& k) {
  return Route(k.ns, k.name);
}
inline std::string Port(int port) {
  return std::string(kPorts) + std::to_string(port);
}
inline std::string Quota(std::string_view ns) {
  return std::string(kQuotas) + std::string(ns);
}
inline std::string Domain(std::string_view domain) {
  return std::string(kDomains) + std::string(domain);
}
}  // namespace keys

}  // namespace berth::store
