#include "support/etcd.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

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
  if (auto st = Spawn(); !st) return st;
  return WaitHealthy();
}

Status EtcdServer::Spawn() {
  std::string client = endpoint();
  std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
  std::vector<std::string> argv = {
      opts_.binary,
      "--name=" + name_,
      "--data-dir=" + data_dir_,
      "--listen-client-urls=" + client,
      "--advertise-client-urls=" + client,
      "--listen-peer-urls=" + peer,
      "--initial-advertise-peer-urls=" + peer,
      "--initial-cluster=" + (initial_cluster_.empty() ? name_ + "=" + peer : initial_cluster_),
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
  return {};
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
  if (proc_.pid() > 0) {
    proc_.Signal(SIGCONT);  // a paused member would only die at the SIGKILL after the grace
    proc_.Stop(std::chrono::milliseconds(5000));
  }
  proc_ = util::Subprocess();
}

void EtcdServer::Kill9() {
  if (proc_.pid() > 0) {
    proc_.Signal(SIGKILL);
    proc_.Wait(std::chrono::milliseconds(10000));
  }
  proc_ = util::Subprocess();
}

void EtcdServer::Pause() {
  if (proc_.pid() > 0) proc_.Signal(SIGSTOP);
}

void EtcdServer::Resume() {
  if (proc_.pid() > 0) proc_.Signal(SIGCONT);
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

Result<std::unique_ptr<EtcdCluster>> EtcdCluster::Start(EtcdClusterOptions opts) {
  std::string bin = EtcdBinary(opts.member);
  if (::access(bin.c_str(), X_OK) != 0) {
    return Fail(ErrorCode::kUnavailable,
                "etcd binary " + bin +
                    " not found (apt-get install etcd-server, or set BERTH_TEST_SKIP_ETCD=1)");
  }
  if (opts.members < 1) return Fail(ErrorCode::kInvalidArgument, "etcd cluster of no members");
  opts.member.binary = bin;
  // As for one server: a port taken between probing and etcd's bind means a fresh attempt.
  Error last{ErrorCode::kUnavailable, "etcd cluster did not start"};
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::unique_ptr<EtcdCluster> c(new EtcdCluster());
    std::set<int> ports;
    std::string initial;
    for (int i = 0; i < opts.members; ++i) {
      std::unique_ptr<EtcdServer> m(new EtcdServer());
      m->opts_ = opts.member;
      m->name_ = "m" + std::to_string(i);
      m->dir_ = std::make_unique<util::TempDir>("berth-etcd-" + m->name_);
      m->data_dir_ = m->dir_->path() + "/data";
      m->log_path_ = m->dir_->path() + "/etcd.log";
      m->client_port_ = FreeLoopbackPort();
      m->peer_port_ = FreeLoopbackPort();
      ports.insert(m->client_port_);
      ports.insert(m->peer_port_);
      initial += (initial.empty() ? "" : ",") + m->name_ +
                 "=http://127.0.0.1:" + std::to_string(m->peer_port_);
      c->members_.push_back(std::move(m));
    }
    if (ports.size() != static_cast<size_t>(2 * opts.members) || ports.count(0)) continue;
    Status st;
    for (auto& m : c->members_) {
      m->initial_cluster_ = initial;
      if (st = m->Spawn(); !st) break;
    }
    if (st) st = c->WaitHealthy();
    if (st) return c;
    last = st.error();
  }
  return Fail(last);
}

std::vector<std::string> EtcdCluster::endpoints() const {
  std::vector<std::string> out;
  for (const auto& m : members_) out.push_back(m->endpoint());
  return out;
}

std::string EtcdCluster::url() const {
  std::string out = "etcd://";
  for (size_t i = 0; i < members_.size(); ++i)
    out += (i ? ",127.0.0.1:" : "127.0.0.1:") + std::to_string(members_[i]->client_port());
  return out;
}

Status EtcdCluster::Restart(size_t i) {
  auto& m = *members_.at(i);
  m.Stop();
  return m.Spawn();
}

Status EtcdCluster::WaitHealthy() {
  for (auto& m : members_) {
    if (m->proc_.pid() <= 0) continue;
    if (auto st = m->WaitHealthy(); !st) return Fail(Wrap(st.error(), "member " + m->name_));
  }
  return {};
}

Result<size_t> EtcdCluster::Leader() {
  // Each member's /v3/maintenance/status names itself (header.member_id) and the leader it
  // follows; the leader is the member whose own id that is.
  std::string leader;
  std::vector<std::string> ids(members_.size());
  for (size_t i = 0; i < members_.size(); ++i) {
    if (!members_[i]->running()) continue;
    net::ClientOptions co;
    co.base_url = members_[i]->endpoint();
    co.connect_timeout = std::chrono::milliseconds(1000);
    co.timeout = std::chrono::milliseconds(3000);
    net::HttpClient http(co);
    auto r = http.Send({"POST", "/v3/maintenance/status", {}, "{}", std::chrono::milliseconds(-1)});
    if (!r || r->status != 200) continue;
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    if (!j.is_object()) continue;
    ids[i] = j.value("header", nlohmann::json::object()).value("member_id", "");
    if (leader.empty()) leader = j.value("leader", "");
  }
  for (size_t i = 0; i < ids.size(); ++i)
    if (!leader.empty() && ids[i] == leader) return i;
  return Fail(ErrorCode::kUnavailable, "no etcd member reports a running leader");
}

std::string EtcdCluster::LogTails(size_t bytes) const {
  std::string out;
  for (const auto& m : members_) out += "--- etcd " + m->name_ + ":\n" + m->LogTail(bytes) + "\n";
  return out;
}

}  // namespace berth::testing
