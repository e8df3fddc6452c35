#include "util/memory.h"

#include <cstddef>
#include <cstdlib>

#if defined(__GLIBC__)
#include <gnu/libc-version.h>
#include <malloc.h>
#endif

// jemalloc's control interface, resolved only when the binary is linked with jemalloc (weak:
// null otherwise), so the libraries and their tests need not know which allocator they get.
extern "C" int mallctl(const char* name, void* oldp, size_t* oldlenp, void* newp, size_t newlen)
    __attribute__((weak));

namespace berth::util {

namespace {
bool Jemalloc() {
  return mallctl != nullptr;
}
}  // namespace

void LimitMallocArenas(int n) {
#if defined(__GLIBC__)
  if (!Jemalloc() && std::getenv("MALLOC_ARENA_MAX") == nullptr) mallopt(M_ARENA_MAX, n);
#else
  (void)n;
#endif
}

void ReleaseFreeMemory() {
  if (Jemalloc()) {
    // MALLCTL_ARENAS_ALL (4096): every arena's unused dirty pages.
    mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0);
    return;
  }
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

std::string AllocatorName() {
  if (Jemalloc()) {
    const char* v = nullptr;
    size_t len = sizeof(v);
    if (mallctl("version", &v, &len, nullptr, 0) == 0 && v) return std::string("jemalloc ") + v;
    return "jemalloc";
  }
#if defined(__GLIBC__)
  return std::string("glibc ") + gnu_get_libc_version();
#else
  return "libc";
#endif
}

}  // namespace berth::util
