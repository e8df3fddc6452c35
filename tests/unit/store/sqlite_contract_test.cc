// The Store contract against SqliteStore, each test on a fresh database file.
#include "store/sqlite_store.h"
#include "unit/store/store_contract.h"
#include "util/fs.h"

namespace berth::store {
namespace {

class SqliteBackend {
 public:
  static void SetUpTestSuite() {}
  static void TearDownTestSuite() {}

  Result<std::unique_ptr<Store>> Open() {
    SqliteStoreOptions opts;
    opts.path = dir_.path() + "/berth.db";
    auto s = SqliteStore::Open(opts);
    if (!s) return Fail(s.error());
    return std::unique_ptr<Store>(std::move(*s));
  }
  Status Compact(Store& s, int64_t revision) {
    return dynamic_cast<SqliteStore&>(s).Compact(revision);
  }

 private:
  util::TempDir dir_{"berth-store-test"};
};

}  // namespace
}  // namespace berth::store

namespace berth::store::contract {
INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, StoreContract, SqliteBackend);
}  // namespace berth::store::contract
