// Free loopback ports for test services.
#pragma once

namespace berth::testing {

// A TCP port on 127.0.0.1 that was free a moment ago (bound to :0, then released). There is a
// small window in which someone else may take it; service helpers retry on a bind failure.
// Returns -1 if no socket could be bound.
int FreeLoopbackPort();

}  // namespace berth::testing
