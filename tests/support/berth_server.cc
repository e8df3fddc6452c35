#include "support/berth_server.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <iostream>

#include <thread>

#include "net/http_client.h"
#include "support/ports.h"

namespace berth::testing {

std::string BerthBinary() {
  if (const char* b = std::getenv("BERTH_BINARY")) return b;
#ifdef BERTH_BINARY
  return BERTH_BINARY;
#else
  return "berth";
#endif
}

Result<std::unique_ptr<BerthServer>> BerthServer::Start(BerthServerOptions opts) {
  std::unique_ptr<BerthServer> s(new BerthServer());
  s->opts_ = std::move(opts);
  s->nginx_port_ = FreeLoopbackPort();
  std::string domains;
  for (const auto& d : s->opts_.base_domains)
    domains += (domains.empty() ? "\"" : ", \"") + d + "\"";
  std::string toml =
      "[server]\nstate_dir = \"" + s->state_dir() + "\"\nsocket = \"" + s->socket() +
      "\"\nresync_seconds = 2\n" + s->opts_.server_toml + "[environments]\nbase_domains = [" +
      domains + "]\npull_policy = \"" + s->opts_.pull_policy + "\"\nport_range = [" +
      std::to_string(s->opts_.port_min) + ", " + std::to_string(s->opts_.port_max) +
      "]\nhost_ip = \"127.0.0.1\"\n" + s->opts_.environments_toml + "\n" +
      (s->opts_.default_image.empty() ? ""
                                      : "default_image = \"" + s->opts_.default_image + "\"\n") +
      "[runtime]\nkind = \"" + s->opts_.runtime + "\"\ndocker_host = \"" + s->opts_.docker_host +
      "\"\n" +
      (s->opts_.kubeconfig.empty()
           ? ""
           : "[kubernetes]\nkubeconfig = \"" + s->opts_.kubeconfig + "\"\n") +
      "[router]\nmode = \"" + s->opts_.router_mode +
      "\"\nhttp_listen = \"127.0.0.1:" + std::to_string(s->nginx_port_) + "\"\n" +
      s->opts_.extra_toml;
  if (auto w = util::WriteFileAtomic(s->config_path(), toml); !w) return Fail(w.error());
  if (s->opts_.prepare_state) {
    if (auto m = util::MakeDirs(s->state_dir(), 0755); !m) return Fail(m.error());
    if (auto p = s->opts_.prepare_state(s->state_dir()); !p) return Fail(p.error());
  }
  if (auto r = s->Run(); !r) return Fail(r.error());
  return s;
}

BerthServer::~BerthServer() {
  Stop();
  if (::testing::Test::HasFailure())
    std::cerr << "---- berth serve log (" << dir_.path() << "/serve.log), last 6000 bytes ----\n"
              << LogTail() << "\n---- end of berth serve log ----\n";
}

Status BerthServer::Run() {
  util::SpawnOptions so;
  so.env_set = opts_.env;
  so.env_set["BERTH_CONFIG"] = config_path();
  so.stdout_path = dir_.path() + "/serve.log";
  so.stderr_path = "=stdout";
  so.new_process_group = false;  // nginx is its child; Kill9 must not take nginx down with it
  std::vector<std::string> argv{BerthBinary(), "serve"};
  argv.insert(argv.end(), opts_.serve_args.begin(), opts_.serve_args.end());
  auto p = util::Subprocess::Spawn(argv, so);
  if (!p) return Fail(p.error());
  proc_ = std::move(*p);
  net::ClientOptions co;
  co.base_url = "http://berth";
  co.unix_socket = socket();
  co.timeout = std::chrono::milliseconds(2000);
  net::HttpClient client(co);
  for (int i = 0; i < 300; ++i) {
    auto r = client.Send({"GET", "/healthz", {}, "", std::chrono::milliseconds(-1)});
    if (r && r->status == 200) return {};
    if (!proc_.running()) return Fail(ErrorCode::kUnavailable, "berth serve exited:\n" + LogTail());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Fail(ErrorCode::kTimeout, "berth serve did not answer /healthz:\n" + LogTail());
}

void BerthServer::Kill9() {
  proc_.Signal(SIGKILL);
  proc_.Wait(std::chrono::seconds(10));
  proc_ = util::Subprocess();
}

void BerthServer::Terminate() {
  if (proc_.pid() > 0) proc_.Stop(std::chrono::seconds(20));
  proc_ = util::Subprocess();
}

void BerthServer::Stop() {
  if (proc_.pid() > 0) proc_.Stop(std::chrono::seconds(20));
  proc_ = util::Subprocess();
  // A killed server leaves its nginx running; stop it through its pid file.
  auto pid = util::ReadFile(state_dir() + "/nginx/logs/nginx.pid");
  if (pid) {
    try {
      ::kill(std::stoi(*pid), SIGQUIT);
    } catch (...) {
    }
  }
}

util::CommandResult BerthServer::Cli(const std::vector<std::string>& args,
                                     std::chrono::milliseconds timeout) {
  std::vector<std::string> argv{BerthBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  util::SpawnOptions so;
  so.env_set["BERTH_CONFIG"] = config_path();
  auto r = util::RunCommand(argv, timeout, so);
  if (!r) return util::CommandResult{-1, "", r.error().message, false};
  return *r;
}

std::string BerthServer::LogTail(size_t bytes) const {
  auto s = util::ReadFile(dir_.path() + "/serve.log").value_or("");
  return s.size() > bytes ? s.substr(s.size() - bytes) : s;
}

}  // namespace berth::testing
