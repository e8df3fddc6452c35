// `berth config view`: the effective configuration, each value with where it came from
// (default, file, environment, flag); `berth config check FILE`: validates a file alone.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <utility>
#include <vector>

#include "berth/config.h"
#include "cli/commands.h"

namespace berth::cli {

// Every setting as "section.key" and its value as berth.toml would spell it (secrets masked).
std::vector<std::pair<std::string, std::string>> ConfigFields(const Config& c);

void AddConfigCommand(CLI::App& app, GlobalOptions& g, int& rc);

}  // namespace berth::cli
