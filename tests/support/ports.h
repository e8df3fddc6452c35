// Free loopback ports for test services, and ports held the way a foreign process holds them.
#pragma once

#include "util/fs.h"

namespace berth::testing {

// A TCP port on 127.0.0.1 that was free a moment ago (bound to :0, then released). There is a
// small window in which someone else may take it; service helpers retry on a bind failure.
// Returns -1 if no socket could be bound.
int FreeLoopbackPort();

// The first of `n` consecutive ports free on 127.0.0.1 a moment ago, picked at random in
// 20000-28999: below the default range of Berth installations (30000-32767) and the kernel's
// ephemeral ports (32768-), so a test can give a server a port range of its own. -1 if none.
int FreeLoopbackPortBlock(int n);

// A plain listener on 127.0.0.1:port, as any other process (another installation's container,
// a daemon) would hold it, until destroyed or released.
class PortHolder {
 public:
  explicit PortHolder(int port);
  bool ok() const { return ok_; }
  void Release() { fd_ = util::UniqueFd(); }

 private:
  util::UniqueFd fd_;
  bool ok_ = false;
};

}  // namespace berth::testing
