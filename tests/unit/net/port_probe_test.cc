#include "net/port_probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include "unit/net/loopback_listener.h"
#include "util/fs.h"

namespace berth::net {
namespace {

util::UniqueFd Listen(int* port) {
  return testing::ListenOnLoopback(port, 4);
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
