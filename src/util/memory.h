// The C library's allocator, tuned for a long-running server that holds caches of thousands of
// small objects: glibc keeps freed memory (and an arena per thread, up to 8 per core) for
// reuse, so the peak of one large list would stay in the RSS for good.
#pragma once

namespace berth::util {

// Caps the allocator's arenas at `n` (threads share them) unless MALLOC_ARENA_MAX is set.
// Call before starting threads.
void LimitMallocArenas(int n);
// Gives the free pages of every arena back to the kernel (after a large transient allocation:
// a relist, a full resync).
void ReleaseFreeMemory();

}  // namespace berth::util
