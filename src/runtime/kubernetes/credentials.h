// Credentials for one Connection: a static token, a token file re-read when it rotates, or an
// exec plugin (client.authentication.k8s.io/v1) run again when its credential expires or the
// API server rejects it. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "berth/result.h"
#include "runtime/kubernetes/kubeconfig.h"

namespace berth::kube {

struct CredentialSnapshot {
  std::string token;
  std::string cert_pem;  // client certificate from an exec plugin ("" = the connection's own)
  std::string key_pem;
  uint64_t epoch = 0;  // changes when the TLS identity changes (connections must be rebuilt)
};

// The result of running an exec plugin once.
struct ExecCredential {
  std::string token;
  std::string cert_pem;
  std::string key_pem;
  std::chrono::system_clock::time_point expiry{};  // epoch = never
};

// Runs the plugin with argv (no shell) and its env plus KUBERNETES_EXEC_INFO.
Result<ExecCredential> RunExecPlugin(const ExecConfig& exec, const Connection& conn);
// Parses an ExecCredential document (exposed for unit tests).
Result<ExecCredential> ParseExecCredential(const std::string& json, const std::string& api_version);

class Credentials {
 public:
  explicit Credentials(Connection conn) : conn_(std::move(conn)) {}
  Result<CredentialSnapshot> Current();
  // The API server said 401: forget cached exec output / token so the next call refreshes.
  void Invalidate();
  bool Refreshable() const { return conn_.exec.has_value() || !conn_.token_file.empty(); }

 private:
  Connection conn_;
  std::mutex mu_;
  CredentialSnapshot snap_;
  bool have_exec_ = false;
  std::chrono::system_clock::time_point exec_expiry_{};
  int64_t token_mtime_ns_ = -1;
  std::string file_token_;
};

}  // namespace berth::kube
