#include "cli/cli.h"

// jemalloc's settings when the binary is linked with it (CMake option BERTH_JEMALLOC; the
// symbol is read by jemalloc at its start and ignored otherwise; MALLOC_CONF still overrides):
// one arena (serve's threads mostly wait; their thread caches take the hot path), and freed
// pages go back to the kernel at once instead of after a decay time, so a transient peak (a
// relist, a list of thousands) does not stay in the RSS. Measured in docs/benchmarks.md.
extern "C" {
extern const char* malloc_conf;
const char* malloc_conf = "narenas:1,dirty_decay_ms:0,muzzy_decay_ms:0";
}

int main(int argc, char** argv) {
  return berth::cli::Main(argc, argv);
}
