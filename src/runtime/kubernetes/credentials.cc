#include "runtime/kubernetes/credentials.h"

#include <sys/stat.h>

#include <ctime>

#include <nlohmann/json.hpp>

#include "util/base64.h"
#include "util/fs.h"
#include "util/process.h"
#include "util/strings.h"

namespace berth::kube {
namespace {

// "2026-11-26T23:00:00Z" (fractional seconds tolerated) -> time_point; nullopt if malformed.
std::optional<std::chrono::system_clock::time_point> ParseRfc3339(const std::string& s) {
  std::tm tm{};
  const char* end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end) return std::nullopt;
  time_t t = timegm(&tm);
  // The clock counts nanoseconds: about 292 years either side of 1970. Beyond that
  // from_time_t would overflow.
  constexpr auto kLimit =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::duration::max())
          .count();
  if (t <= -kLimit || t >= kLimit) return std::nullopt;
  return std::chrono::system_clock::from_time_t(t);
}

}  // namespace

Result<ExecCredential> ParseExecCredential(const std::string& text,
                                           const std::string& api_version) {
  ExecCredential out;
  try {
    auto j = nlohmann::json::parse(text);
    if (j.value("kind", "") != "ExecCredential")
      return Fail(ErrorCode::kInvalidArgument, "exec plugin output is not an ExecCredential");
    if (j.value("apiVersion", "") != api_version)
      return Fail(ErrorCode::kInvalidArgument, "exec plugin returned apiVersion \"" +
                                                   j.value("apiVersion", "") + "\", want \"" +
                                                   api_version + "\"");
    if (!j.contains("status") || !j["status"].is_object())
      return Fail(ErrorCode::kInvalidArgument, "exec plugin output has no status");
    const auto& st = j["status"];
    out.token = st.value("token", "");
    out.cert_pem = st.value("clientCertificateData", "");
    out.key_pem = st.value("clientKeyData", "");
    if (out.cert_pem.empty() != out.key_pem.empty())
      return Fail(ErrorCode::kInvalidArgument,
                  "exec plugin returned only one of clientCertificateData and clientKeyData");
    if (out.token.empty() && out.cert_pem.empty())
      return Fail(ErrorCode::kInvalidArgument,
                  "exec plugin returned neither a token nor a certificate");
    std::string exp = st.value("expirationTimestamp", "");
    if (!exp.empty()) {
      auto t = ParseRfc3339(exp);
      if (!t)
        return Fail(ErrorCode::kInvalidArgument, "exec plugin: bad expirationTimestamp " + exp);
      out.expiry = *t;
    }
  } catch (const nlohmann::json::exception& e) {
    return Fail(ErrorCode::kInvalidArgument,
                std::string("exec plugin output is not JSON: ") + e.what());
  }
  return out;
}

Result<ExecCredential> RunExecPlugin(const ExecConfig& exec, const Connection& conn) {
  nlohmann::json info = {{"kind", "ExecCredential"},
                         {"apiVersion", exec.api_version},
                         {"spec", {{"interactive", false}}}};
  if (exec.provide_cluster_info) {
    nlohmann::json cluster = {{"server", conn.server}};
    if (!conn.tls.ca_pem.empty())
      cluster["certificate-authority-data"] = util::Base64Encode(conn.tls.ca_pem);
    else if (!conn.tls.ca_file.empty())
      if (auto ca = util::ReadFile(conn.tls.ca_file))
        cluster["certificate-authority-data"] = util::Base64Encode(*ca);
    if (conn.tls.insecure_skip_verify) cluster["insecure-skip-tls-verify"] = true;
    info["spec"]["cluster"] = cluster;
  }
  util::SpawnOptions so;
  so.env_set = exec.env;
  so.env_set["KUBERNETES_EXEC_INFO"] = info.dump();
  std::vector<std::string> argv{exec.command.find('/') == std::string::npos
                                    ? util::FindExecutable(exec.command)
                                    : exec.command};
  argv.insert(argv.end(), exec.args.begin(), exec.args.end());
  auto r = util::RunCommand(argv, std::chrono::seconds(60), so);
  std::string hint = exec.install_hint.empty() ? "" : " (" + exec.install_hint + ")";
  if (!r)
    return Fail(ErrorCode::kUnavailable,
                "exec plugin " + exec.command + ": " + r.error().message + hint);
  if (r->timed_out) return Fail(ErrorCode::kTimeout, "exec plugin " + exec.command + " timed out");
  if (r->exit_code != 0)
    return Fail(ErrorCode::kPermissionDenied, "exec plugin " + exec.command + " exited " +
                                                  std::to_string(r->exit_code) + ": " +
                                                  util::Trim(r->err) + hint);
  auto cred = ParseExecCredential(r->out, exec.api_version);
  if (!cred) return Fail(Wrap(cred.error(), "exec plugin " + exec.command));
  return cred;
}

Result<CredentialSnapshot> Credentials::Current() {
  std::lock_guard lock(mu_);
  if (conn_.exec) {
    auto now = std::chrono::system_clock::now();
    bool expired = exec_expiry_.time_since_epoch().count() != 0 && now >= exec_expiry_;
    if (!have_exec_ || expired) {
      auto cred = RunExecPlugin(*conn_.exec, conn_);
      if (!cred) return Fail(cred.error());
      if (cred->cert_pem != snap_.cert_pem || cred->key_pem != snap_.key_pem) ++snap_.epoch;
      snap_.token = cred->token;
      snap_.cert_pem = cred->cert_pem;
      snap_.key_pem = cred->key_pem;
      exec_expiry_ = cred->expiry;
      have_exec_ = true;
    }
    return snap_;
  }
  if (!conn_.token_file.empty()) {
    // Projected service-account tokens rotate: re-read whenever the file changes.
    struct stat st {};
    if (stat(conn_.token_file.c_str(), &st) != 0)
      return Fail(ErrorCode::kPermissionDenied, "token file " + conn_.token_file + " is missing");
    int64_t m = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    if (m != token_mtime_ns_ || file_token_.empty()) {
      auto t = util::ReadFile(conn_.token_file);
      if (!t) return Fail(Wrap(t.error(), "reading token file"));
      file_token_ = util::Trim(*t);
      token_mtime_ns_ = m;
    }
    snap_.token = file_token_;
    return snap_;
  }
  snap_.token = conn_.token;
  return snap_;
}

void Credentials::Invalidate() {
  std::lock_guard lock(mu_);
  have_exec_ = false;
  token_mtime_ns_ = -1;
}

}  // namespace berth::kube
