// Asks the kernel whether a TCP port could be bound on a local address right now.
#pragma once

#include <string>

#include "berth/result.h"

namespace berth::net {

// True when `port` can be bound on `ip` (a numeric IPv4/IPv6 address; "" = 0.0.0.0), false
// when something listens there. SO_REUSEADDR as container engines use it, so TIME_WAIT
// leftovers do not count as busy. An unparsable address is kInvalidArgument.
Result<bool> TcpPortFree(const std::string& ip, int port);

}  // namespace berth::net
