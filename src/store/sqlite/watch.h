// A SqliteStore watch: reads the `changes` feed after its last delivered revision, and sleeps
// on the store's commit notifier in between.
#pragma once

#include <memory>
#include <string>

#include "berth/store.h"
#include "store/sqlite_store.h"

namespace berth::store {

class SqliteWatch final : public Watch {
 public:
  SqliteWatch(std::shared_ptr<SqliteStore::Shared> s, std::string prefix, int64_t from);
  Result<std::vector<WatchEvent>> Next(std::chrono::milliseconds timeout) override;
  void Cancel() override;

  // Most events returned by one Next (a single revision is never split, so it may exceed it).
  static constexpr int kBatchLimit = 1000;

 private:
  Result<std::vector<WatchEvent>> Poll();

  std::shared_ptr<SqliteStore::Shared> s_;
  std::string prefix_;
  std::string end_;         // PrefixEnd(prefix_); "" = no upper bound
  int64_t last_;            // every matching event up to here has been delivered
  bool cancelled_ = false;  // guarded by s_->notify_mu
};

}  // namespace berth::store
