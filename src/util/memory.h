// The allocator, tuned for a long-running server that holds caches of thousands of small
// objects. The berth binary is linked with jemalloc (CMake option BERTH_JEMALLOC, settings in
// src/main.cc); without it, glibc's allocator keeps freed memory (and an arena per thread, up
// to 8 per core) for reuse, so the peak of one large list would stay in the RSS for good.
#pragma once

#include <string>

namespace berth::util {

// Caps glibc's arenas at `n` (threads share them) unless MALLOC_ARENA_MAX is set; jemalloc's
// are set by its configuration. Call before starting threads.
void LimitMallocArenas(int n);
// Gives the free pages of every arena back to the kernel (after a large transient allocation:
// a relist, a full resync).
void ReleaseFreeMemory();
// "jemalloc 5.3.0-0-g54eaed1..." or "glibc 2.36" (or "libc"): what `berth version` reports.
std::string AllocatorName();

}  // namespace berth::util
