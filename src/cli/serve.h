#pragma once

#include "berth/config.h"

namespace berth::cli {
// `berth serve`: store, controller, router and API in one process, until SIGINT/SIGTERM.
int RunServe(const Config& config);
}  // namespace berth::cli
