#include "net/port_probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include "util/fs.h"

namespace berth::net {
namespace {

// A listener on 127.0.0.1 at a kernel-chosen port; returns the fd and the port.
util::UniqueFd Listen(int* port) {
  util::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(::listen(fd.get(), 4), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

TEST(TcpPortFree, ListeningPortIsBusyAndFreeOnceClosed) {
  int port = 0;
  {
    auto fd = Listen(&port);
    auto busy = TcpPortFree("127.0.0.1", port);
    ASSERT_TRUE(busy) << busy.error().message;
    EXPECT_FALSE(*busy);
    // The wildcard address conflicts with a listener on any one address, as for the engine.
    auto any = TcpPortFree("", port);
    ASSERT_TRUE(any) << any.error().message;
    EXPECT_FALSE(*any);
  }
  auto free = TcpPortFree("127.0.0.1", port);
  ASSERT_TRUE(free) << free.error().message;
  EXPECT_TRUE(*free);
}

TEST(TcpPortFree, BadInputIsAnError) {
  EXPECT_EQ(TcpPortFree("localhost", 80).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(TcpPortFree("127.0.0.1; rm -rf /", 80).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(TcpPortFree("127.0.0.1", 0).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(TcpPortFree("127.0.0.1", 70000).error().code, ErrorCode::kInvalidArgument);
}

TEST(TcpPortFree, AnAddressThisHostLacksIsUnavailableNotFree) {
  auto r = TcpPortFree("192.0.2.1", 31000);  // TEST-NET-1: never a local address
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace berth::net
