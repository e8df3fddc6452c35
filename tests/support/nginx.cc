#include "support/nginx.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "net/http_client.h"
#include "util/fs.h"
#include "util/process.h"
#include "util/strings.h"

namespace berth::testing {

namespace {
std::string Env(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}
}  // namespace

std::string NginxBinary() {
  return Env("BERTH_NGINX_BIN", "/usr/sbin/nginx");
}
std::string NginxModuleDir() {
  return Env("BERTH_NGINX_MODULES", "/usr/lib/nginx/modules");
}

bool NginxSkipRequested() {
  const char* v = std::getenv("BERTH_TEST_SKIP_NGINX");
  return v && std::string(v) == "1";
}

Status CheckNginx(bool lua) {
  if (::access(NginxBinary().c_str(), X_OK) != 0)
    return Fail(ErrorCode::kUnavailable,
                NginxBinary() + " not found: apt-get install nginx (or BERTH_TEST_SKIP_NGINX=1)");
  if (lua) {
    for (const char* m : {"ndk_http_module.so", "ngx_http_lua_module.so"}) {
      std::string p = NginxModuleDir() + "/" + m;
      if (::access(p.c_str(), R_OK) != 0)
        return Fail(
            ErrorCode::kUnavailable,
            p + " not found: apt-get install libnginx-mod-http-lua (or BERTH_TEST_SKIP_NGINX=1)");
    }
  }
  return {};
}

Result<std::unique_ptr<HttpUpstream>> HttpUpstream::Start(std::string tag) {
  std::unique_ptr<HttpUpstream> u(new HttpUpstream());
  u->tag_ = std::move(tag);
  u->fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (u->fd_ < 0) return Fail(ErrorCode::kInternal, "socket");
  int one = 1;
  setsockopt(u->fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(u->fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(u->fd_, 512) != 0 ||
      ::getsockname(u->fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    return Fail(ErrorCode::kInternal, "bind/listen on 127.0.0.1 failed");
  u->port_ = ntohs(a.sin_port);
  u->thread_ = std::thread([p = u.get()] { p->Loop(); });
  return u;
}

HttpUpstream::~HttpUpstream() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

void HttpUpstream::Loop() {
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    timeval tv{2, 0};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string req;
    char buf[4096];
    while (req.find("\r\n\r\n") == std::string::npos && req.size() < 65536) {
      ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      req.append(buf, static_cast<size_t>(n));
    }
    std::string path = "/";
    if (auto sp = req.find(' '); sp != std::string::npos) {
      auto sp2 = req.find(' ', sp + 1);
      if (sp2 != std::string::npos) path = req.substr(sp + 1, sp2 - sp - 1);
    }
    std::string body = "upstream " + tag_ + " " + path + "\n";
    std::string resp =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    size_t off = 0;
    while (off < resp.size()) {
      ssize_t n = ::send(c, resp.data() + off, resp.size() - off, MSG_NOSIGNAL);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    requests_++;
    ::shutdown(c, SHUT_WR);
    ::close(c);
  }
}

Result<HttpAnswer> GetWithHost(int port, const std::string& host, const std::string& path) {
  net::ClientOptions co;
  co.base_url = "http://127.0.0.1:" + std::to_string(port);
  co.timeout = std::chrono::milliseconds(10000);
  net::HttpClient c(co);
  auto r = c.Send(
      {"GET", path, {{"Host", host}, {"Connection", "close"}}, "", std::chrono::milliseconds(-1)});
  if (!r) return Fail(r.error());
  return HttpAnswer{r->status, r->body};
}

Result<HttpAnswer> GetTls(int port, const std::string& host, const std::string& ca_file,
                          const std::string& path) {
  std::string p = std::to_string(port);
  auto r = util::RunCommand(
      {"curl", "-sS", "--max-time", "10", "--cacert", ca_file, "--resolve",
       host + ":" + p + ":127.0.0.1", "-w", "\n%{http_code}", "https://" + host + ":" + p + path},
      std::chrono::seconds(15));
  if (!r) return Fail(r.error());
  if (r->exit_code != 0) return Fail(ErrorCode::kUnavailable, "curl: " + r->err);
  auto nl = r->out.rfind('\n');
  if (nl == std::string::npos) return Fail(ErrorCode::kInternal, "curl output: " + r->out);
  return HttpAnswer{std::atol(r->out.c_str() + nl + 1), r->out.substr(0, nl)};
}

std::vector<pid_t> ChildPids(pid_t master) {
  std::vector<pid_t> out;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (auto* e = readdir(d)) {
    pid_t pid = std::atoi(e->d_name);
    if (pid <= 0) continue;
    std::ifstream f("/proc/" + std::string(e->d_name) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(f)), {});
    auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == master) out.push_back(pid);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

Status MakeTestCa(const std::string& dir, const std::vector<std::string>& dns_names) {
  auto run = [](std::vector<std::string> argv) -> Status {
    auto r = util::RunCommand(argv, std::chrono::seconds(60));
    if (!r) return Fail(r.error());
    if (r->exit_code != 0) return Fail(ErrorCode::kFailed, argv[0] + " " + argv[1] + ": " + r->err);
    return {};
  };
  std::string san;
  for (const auto& n : dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + n;
  if (auto s = util::WriteFileAtomic(dir + "/ext.cnf", "subjectAltName=" + san + "\n"); !s)
    return s;
  if (auto s =
          run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
               "/CN=berth test CA", "-keyout", dir + "/ca.key", "-out", dir + "/ca.pem"});
      !s)
    return s;
  if (auto s =
          run({"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + dns_names.at(0),
               "-keyout", dir + "/server.key", "-out", dir + "/server.csr"});
      !s)
    return s;
  return run({"openssl", "x509", "-req", "-in", dir + "/server.csr", "-CA", dir + "/ca.pem",
              "-CAkey", dir + "/ca.key", "-CAcreateserial", "-days", "2", "-extfile",
              dir + "/ext.cnf", "-out", dir + "/server.pem"});
}

}  // namespace berth::testing
