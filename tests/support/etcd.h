// A real etcd (Debian's /usr/bin/etcd) for integration tests: own temp dir, free loopback ports,
// stopped and removed in the destructor.
//
//   if (EtcdServer::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_ETCD=1";
//   auto etcd = EtcdServer::Start();
//   ASSERT_TRUE(etcd.has_value()) << etcd.error().message;
//   auto store = store::OpenStore((*etcd)->url());
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
  bool running();
  // The last `bytes` of etcd's log, for failure messages.
  std::string LogTail(size_t bytes = 4000) const;

 private:
  EtcdServer() = default;
  Status Launch();
  Status WaitHealthy();

  EtcdServerOptions opts_;
  std::unique_ptr<util::TempDir> dir_;  // destroyed after proc_ (declared first)
  util::Subprocess proc_;
  std::string data_dir_;
  std::string log_path_;
  int client_port_ = 0;
  int peer_port_ = 0;
};

}  // namespace berth::testing
