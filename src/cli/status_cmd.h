// `berth status`: what the server says about itself (GET /v1/info) — version, runtime, volumes,
// router, and which replica runs the controller.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/commands.h"

namespace berth::cli {

void AddStatusCommand(CLI::App& app, GlobalOptions& g, int& rc);

}  // namespace berth::cli
