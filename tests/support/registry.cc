#include "support/registry.h"

#include <crypt.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "net/http_client.h"
#include "support/ports.h"
#include "util/process.h"

namespace berth::testing {
namespace {

constexpr const char* kBinary = "/usr/bin/docker-registry";

bool EnvIs1(const char* name) {
  const char* v = std::getenv(name);
  return v && std::string(v) == "1";
}

}  // namespace

bool Registry::SkipRequested() {
  return EnvIs1("BERTH_TEST_SKIP_REGISTRY") || EnvIs1("BERTH_TEST_SKIP_PODMAN");
}

Result<std::unique_ptr<Registry>> Registry::Start(std::chrono::milliseconds timeout) {
  RegistryOptions o;
  o.timeout = timeout;
  return Start(std::move(o));
}

Result<std::unique_ptr<Registry>> Registry::Start(RegistryOptions opts) {
  const auto timeout = opts.timeout;
  if (::access(kBinary, X_OK) != 0)
    return Fail(ErrorCode::kUnavailable, std::string(kBinary) +
                                             " is missing: apt-get install docker-registry (or "
                                             "set BERTH_TEST_SKIP_REGISTRY=1)");
  std::unique_ptr<Registry> r(new Registry());
  r->dir_ = std::make_unique<util::TempDir>("berth-registry");
  r->log_path_ = r->dir_->path() + "/registry.log";
  r->opts_ = std::move(opts);
  if (auto s = r->WriteSecrets(); !s) return Fail(s.error());
  // A port found free may be taken before the registry binds it: try a few.
  Error last{ErrorCode::kUnavailable, "no attempt"};
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto s = r->Launch(timeout);
    if (s) return r;
    last = s.error();
  }
  return Fail(last);
}

Status Registry::WriteSecrets() {
  const std::string& d = dir_->path();
  if (!opts_.username.empty()) {
    // bcrypt, the only hash distribution's htpasswd accepts, from libxcrypt (cost 5: a test).
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    if (!crypt_gensalt_rn("$2b$", 5, nullptr, 0, salt, sizeof salt))
      return Fail(ErrorCode::kInternal, "crypt_gensalt_rn failed");
    crypt_data data{};
    const char* hash = crypt_r(opts_.password.c_str(), salt, &data);
    if (!hash || hash[0] == '*') return Fail(ErrorCode::kInternal, "bcrypt failed");
    if (auto s = util::WriteFileAtomic(d + "/htpasswd", opts_.username + ":" + hash + "\n"); !s)
      return s;
  }
  if (opts_.tls) {
    const std::string ext = d + "/san.ext";
    if (auto s = util::WriteFileAtomic(ext, "subjectAltName=IP:127.0.0.1\n"); !s) return s;
    const std::vector<std::vector<std::string>> steps = {
        {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", d + "/ca.key", "-out", d + "/ca.crt", "-days", "2", "-subj",
         "/CN=berth test CA"},
        {"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", d + "/server.key", "-out", d + "/server.csr", "-subj", "/CN=127.0.0.1"},
        {"openssl", "x509", "-req", "-in", d + "/server.csr", "-CA", d + "/ca.crt", "-CAkey",
         d + "/ca.key", "-CAcreateserial", "-out", d + "/server.crt", "-days", "2", "-extfile",
         ext}};
    for (const auto& argv : steps) {
      auto r = util::RunCommand(argv, std::chrono::seconds(30));
      if (!r) return Fail(r.error());
      if (r->exit_code != 0)
        return Fail(ErrorCode::kUnavailable, "openssl " + argv[1] + " failed: " + r->err);
    }
  }
  return {};
}

Status Registry::Launch(std::chrono::milliseconds timeout) {
  port_ = FreeLoopbackPort();
  if (port_ <= 0) return Fail(ErrorCode::kUnavailable, "no free loopback port");
  const std::string& d = dir_->path();
  std::string config =
      "version: 0.1\n"
      "log:\n  level: warn\n"
      "storage:\n  filesystem:\n    rootdirectory: " +
      d +
      "/data\n  delete:\n    enabled: true\n"
      "http:\n  addr: 127.0.0.1:" +
      std::to_string(port_) + "\n";
  if (opts_.tls)
    config += "  tls:\n    certificate: " + d + "/server.crt\n    key: " + d + "/server.key\n";
  if (!opts_.username.empty())
    config += "auth:\n  htpasswd:\n    realm: berth-test\n    path: " + d + "/htpasswd\n";
  if (auto s = util::WriteFileAtomic(d + "/config.yml", config); !s) return s;
  util::SpawnOptions so;
  so.stdout_path = log_path_;
  so.stderr_path = "=stdout";
  auto proc = util::Subprocess::Spawn({kBinary, "serve", d + "/config.yml"}, so);
  if (!proc) return Fail(proc.error());
  proc_ = std::move(*proc);

  net::ClientOptions o;
  o.base_url = (opts_.tls ? "https://" : "http://") + address();
  if (opts_.tls) o.tls.ca_file = ca_file();
  o.timeout = std::chrono::milliseconds(3000);
  net::HttpClient http(o);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!proc_.running())
      return Fail(ErrorCode::kUnavailable, "docker-registry exited:\n" + LogTail());
    net::HttpRequest req;
    req.path = "/v2/";
    // 401 is an answer too: a registry with a login asks for it.
    if (auto resp = http.Send(req); resp && (resp->status == 200 || resp->status == 401)) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  proc_.Stop();
  return Fail(ErrorCode::kUnavailable,
              "docker-registry did not answer on " + address() + ":\n" + LogTail());
}

std::string Registry::LogTail(size_t bytes) const {
  std::ifstream in(log_path_, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > bytes ? s.substr(s.size() - bytes) : s;
}

Registry::~Registry() {
  proc_.Stop(std::chrono::milliseconds(3000));
}

}  // namespace berth::testing
