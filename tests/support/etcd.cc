#include "support/etcd.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "net/http_client.h"
#include "support/ports.h"

namespace berth::testing {
namespace {

std::string EtcdBinary(const EtcdServerOptions& opts) {
  if (!opts.binary.empty()) return opts.binary;
  if (const char* env = std::getenv("BERTH_ETCD_BIN"); env && *env) return env;
  return "/usr/bin/etcd";
}

}  // namespace

bool EtcdServer::SkipRequested() {
  const char* v = std::getenv("BERTH_TEST_SKIP_ETCD");
  return v && std::string(v) == "1";
}

Result<std::unique_ptr<EtcdServer>> EtcdServer::Start(EtcdServerOptions opts) {
  std::string bin = EtcdBinary(opts);
  if (::access(bin.c_str(), X_OK) != 0) {
    return Fail(ErrorCode::kUnavailable,
                "etcd binary " + bin +
                    " not found (apt-get install etcd-server, or set BERTH_TEST_SKIP_ETCD=1)");
  }
  std::unique_ptr<EtcdServer> s(new EtcdServer());
  s->opts_ = std::move(opts);
  s->opts_.binary = bin;
  // A free port can be taken between probing and etcd's bind: retry with fresh ports.
  Error last{ErrorCode::kUnavailable, "etcd did not start"};
  for (int attempt = 0; attempt < 3; ++attempt) {
    s->dir_ = std::make_unique<util::TempDir>("berth-etcd");
    s->data_dir_ = s->dir_->path() + "/data";  // etcd creates it with the 0700 it insists on
    s->log_path_ = s->dir_->path() + "/etcd.log";
    s->client_port_ = FreeLoopbackPort();
    s->peer_port_ = FreeLoopbackPort();
    if (s->client_port_ <= 0 || s->peer_port_ <= 0 || s->client_port_ == s->peer_port_) continue;
    auto st = s->Launch();
    if (st) return s;
    last = st.error();
    s->Stop();
  }
  return Fail(last);
}

EtcdServer::~EtcdServer() {
  Stop();
}

std::string EtcdServer::endpoint() const {
  return "http://127.0.0.1:" + std::to_string(client_port_);
}
std::string EtcdServer::url() const {
  return "etcd://127.0.0.1:" + std::to_string(client_port_);
}

Status EtcdServer::Launch() {
  std::string client = endpoint();
  std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
  std::vector<std::string> argv = {opts_.binary,
                                   "--name=berth-test",
                                   "--data-dir=" + data_dir_,
                                   "--listen-client-urls=" + client,
                                   "--advertise-client-urls=" + client,
                                   "--listen-peer-urls=" + peer,
                                   "--initial-advertise-peer-urls=" + peer,
                                   "--initial-cluster=berth-test=" + peer,
                                   "--initial-cluster-state=new",
                                   "--logger=zap",
                                   "--log-outputs=stderr"};
  argv.insert(argv.end(), opts_.extra_args.begin(), opts_.extra_args.end());
  util::SpawnOptions so;
  so.cwd = dir_->path();
  so.stdout_path = log_path_;
  so.stderr_path = "=stdout";
  auto p = util::Subprocess::Spawn(argv, so);
  if (!p) return Fail(Wrap(p.error(), "spawning etcd"));
  proc_ = std::move(*p);
  return WaitHealthy();
}

Status EtcdServer::WaitHealthy() {
  net::ClientOptions co;
  co.base_url = endpoint();
  co.connect_timeout = std::chrono::milliseconds(1000);
  co.timeout = std::chrono::milliseconds(2000);
  net::HttpClient http(co);
  auto deadline = std::chrono::steady_clock::now() + opts_.start_timeout;
  std::string last = "no answer";
  while (std::chrono::steady_clock::now() < deadline) {
    if (!proc_.running()) {
      return Fail(ErrorCode::kUnavailable, "etcd exited during startup; log:\n" + LogTail());
    }
    auto r = http.Send(net::HttpRequest{"GET", "/health", {}, {}, std::chrono::milliseconds(-1)});
    if (r && r->status == 200 && r->body.find("\"true\"") != std::string::npos) return {};
    last = r ? ("HTTP " + std::to_string(r->status) + " " + r->body) : r.error().message;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Fail(ErrorCode::kUnavailable,
              "etcd at " + endpoint() + " not healthy (" + last + "); log:\n" + LogTail());
}

void EtcdServer::Stop() {
  if (proc_.pid() > 0) proc_.Stop(std::chrono::milliseconds(5000));
  proc_ = util::Subprocess();
}

Status EtcdServer::Restart() {
  Stop();
  return Launch();
}

bool EtcdServer::running() {
  return proc_.pid() > 0 && proc_.running();
}

std::string EtcdServer::LogTail(size_t bytes) const {
  std::ifstream in(log_path_, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > bytes ? s.substr(s.size() - bytes) : s;
}

}  // namespace berth::testing
