#include "net/port_probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "util/fs.h"

namespace berth::net {

Result<bool> TcpPortFree(const std::string& ip, int port) {
  if (port < 1 || port > 65535)
    return Fail(ErrorCode::kInvalidArgument, "bad port " + std::to_string(port));
  sockaddr_storage ss{};
  socklen_t len = 0;
  const std::string addr = ip.empty() ? "0.0.0.0" : ip;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (::inet_pton(AF_INET, addr.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof *v4;
  } else if (::inet_pton(AF_INET6, addr.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof *v6;
  } else {
    return Fail(ErrorCode::kInvalidArgument, "not a numeric IP address: " + addr);
  }
  util::UniqueFd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return Fail(ErrorCode::kInternal, std::string("socket: ") + strerror(errno));
  int one = 1;
  (void)::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) == 0) return true;
  if (errno == EADDRINUSE) return false;
  // EADDRNOTAVAIL (an address this host does not have) and the like: not ours to judge.
  return Fail(ErrorCode::kUnavailable,
              "cannot probe " + addr + ":" + std::to_string(port) + ": " + strerror(errno));
}

}  // namespace berth::net
