// Helpers for tests that run the router against a real nginx (Debian's nginx and
// libnginx-mod-http-lua): binary and module lookup, a tiny loopback HTTP upstream, requests
// with a chosen Host header, nginx worker pids, and a throwaway CA made with the openssl CLI.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "berth/result.h"

namespace berth::testing {

// $BERTH_NGINX_BIN or /usr/sbin/nginx.
std::string NginxBinary();
// Where ndk_http_module.so and ngx_http_lua_module.so are ($BERTH_NGINX_MODULES or Debian's).
std::string NginxModuleDir();
// kUnavailable with a clear message when nginx (and, with `lua`, the Lua module) is missing.
Status CheckNginx(bool lua);
// True when BERTH_TEST_SKIP_NGINX=1: the only case in which a test may skip.
bool NginxSkipRequested();

// A minimal HTTP/1.0-style server on 127.0.0.1 answering every request with
// "upstream <tag> <path>\n" (200), then closing the connection.
class HttpUpstream {
 public:
  static Result<std::unique_ptr<HttpUpstream>> Start(std::string tag);
  ~HttpUpstream();
  int port() const { return port_; }
  int64_t requests() const { return requests_.load(); }

 private:
  HttpUpstream() = default;
  void Loop();
  std::string tag_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> requests_{0};
  std::thread thread_;
};

struct HttpAnswer {
  long status = 0;
  std::string body;
};
// GET http://127.0.0.1:<port><path> with `Host: host`, on a new connection.
Result<HttpAnswer> GetWithHost(int port, const std::string& host, const std::string& path = "/");
// The same over TLS with the curl CLI, resolving `host` to 127.0.0.1 and trusting `ca_file`.
Result<HttpAnswer> GetTls(int port, const std::string& host, const std::string& ca_file,
                          const std::string& path = "/");

// Child processes of `master` (nginx workers).
std::vector<pid_t> ChildPids(pid_t master);

// A CA and a server certificate for `dns_names` (wildcards allowed) under `dir`:
// ca.pem, server.pem, server.key.
Status MakeTestCa(const std::string& dir, const std::vector<std::string>& dns_names);

}  // namespace berth::testing
