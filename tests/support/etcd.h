// A real etcd (Debian's /usr/bin/etcd) for integration tests: own temp dir, free loopback ports,
// stopped and removed in the destructor.
//
//   if (EtcdServer::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_ETCD=1";
//   auto etcd = EtcdServer::Start();
//   ASSERT_TRUE(etcd.has_value()) << etcd.error().message;
//   auto store = store::OpenStore((*etcd)->url());
//
// EtcdCluster starts N such members as one cluster (--initial-cluster) for fault tests: kill -9
// one, stop two to lose quorum, bring them back on the same ports and data.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "berth/result.h"
#include "util/fs.h"
#include "util/process.h"

namespace berth::testing {

struct EtcdServerOptions {
  std::string binary;                   // "" = $BERTH_ETCD_BIN or /usr/bin/etcd
  std::vector<std::string> extra_args;  // e.g. {"--auto-compaction-retention=1"}
  std::chrono::milliseconds start_timeout{30000};
};

class EtcdCluster;

class EtcdServer {
 public:
  // Starts etcd and waits until /health says so. kUnavailable (with the log tail) when the
  // binary is missing or the server does not become healthy.
  static Result<std::unique_ptr<EtcdServer>> Start(EtcdServerOptions opts = {});
  // True when BERTH_TEST_SKIP_ETCD=1: the only case in which a test may skip.
  static bool SkipRequested();

  ~EtcdServer();
  EtcdServer(const EtcdServer&) = delete;
  EtcdServer& operator=(const EtcdServer&) = delete;

  std::string endpoint() const;  // "http://127.0.0.1:PORT"
  std::string url() const;       // "etcd://127.0.0.1:PORT"
  int client_port() const { return client_port_; }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& log_path() const { return log_path_; }

  // Stops the server, keeping its data (for reconnect tests). Restart() brings it back on the
  // same ports and data.
  void Stop();
  Status Restart();
  // SIGKILL, no shutdown at all (data kept, as after a crash).
  void Kill9();
  // SIGSTOP / SIGCONT: a member that hangs (a stalled disk, a frozen VM) with its connections
  // open, so clients see no error, only silence.
  void Pause();
  void Resume();
  bool running();
  // The last `bytes` of etcd's log, for failure messages.
  std::string LogTail(size_t bytes = 4000) const;

 private:
  friend class EtcdCluster;
  EtcdServer() = default;
  Status Launch();  // Spawn() + WaitHealthy()
  Status Spawn();
  Status WaitHealthy();

  EtcdServerOptions opts_;
  std::string name_ = "berth-test";
  std::string initial_cluster_;         // "" = a cluster of this one member
  std::unique_ptr<util::TempDir> dir_;  // destroyed after proc_ (declared first)
  util::Subprocess proc_;
  std::string data_dir_;
  std::string log_path_;
  int client_port_ = 0;
  int peer_port_ = 0;
};

struct EtcdClusterOptions {
  int members = 3;
  EtcdServerOptions member;  // binary, extra_args and start_timeout of every member
};

class EtcdCluster {
 public:
  // Starts every member, then waits until each reports healthy (the cluster has a leader).
  static Result<std::unique_ptr<EtcdCluster>> Start(EtcdClusterOptions opts = {});

  size_t size() const { return members_.size(); }
  EtcdServer& member(size_t i) { return *members_.at(i); }
  std::vector<std::string> endpoints() const;  // "http://127.0.0.1:PORT" for each member
  std::string url() const;                     // "etcd://127.0.0.1:P1,127.0.0.1:P2,..."

  void Kill9(size_t i) { members_.at(i)->Kill9(); }
  void Stop(size_t i) { members_.at(i)->Stop(); }
  // Starts a stopped member again on its ports and data, without waiting: a member alone in a
  // cluster that lost quorum never reports healthy. WaitHealthy() waits for all running members.
  Status Restart(size_t i);
  Status WaitHealthy();
  // The index of the member that is the raft leader now, as the running members report it.
  Result<size_t> Leader();
  // Every member's log tail, for failure messages.
  std::string LogTails(size_t bytes = 2000) const;

 private:
  EtcdCluster() = default;
  std::vector<std::unique_ptr<EtcdServer>> members_;
};

}  // namespace berth::testing
