// The scale-out store: etcd v3 through its JSON gateway (no gRPC dependency). Revisions are
// etcd's own, so a Berth revision and an `etcdctl` revision are the same number.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "berth/store.h"
#include "net/http_client.h"

namespace berth::store {

namespace etcd {
class Client;
}

struct EtcdStoreOptions {
  std::vector<std::string> endpoints;  // "http://127.0.0.1:2379", tried in order on failure
  net::TlsOptions tls;
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds request_timeout{10000};  // per call, over all endpoints
  int list_page_size = 1000;                         // List reads in pages at one revision
};

class EtcdStore final : public Store {
 public:
  // Checks that some endpoint answers (kUnavailable otherwise).
  static Result<std::unique_ptr<EtcdStore>> Open(EtcdStoreOptions opts);
  ~EtcdStore() override;

  Result<std::optional<KeyValue>> Get(std::string_view key) override;
  Result<Snapshot> List(std::string_view prefix) override;
  Result<int64_t> Commit(const Txn& txn) override;
  Result<int64_t> Revision() override;
  Result<std::unique_ptr<Watch>> WatchPrefix(std::string_view prefix,
                                             int64_t from_revision) override;

  // etcd compaction at `revision` (clamped to the current one): history before it is dropped
  // and watches from earlier revisions get kGone. Operators usually let etcd's
  // --auto-compaction-* do this instead.
  Status Compact(int64_t revision);

 private:
  EtcdStore(std::shared_ptr<etcd::Client> c, EtcdStoreOptions opts);
  // After a txn was retried on another member and failed its compare: true (with the
  // revision) when every op of it is in effect, i.e. the first attempt was applied and only
  // its answer was lost.
  Result<std::optional<int64_t>> AppliedBefore(const Txn& txn);
  std::shared_ptr<etcd::Client> client_;
  EtcdStoreOptions opts_;
};

}  // namespace berth::store
