// `berth completion bash|zsh|fish`, `berth manpages DIR`, and `berth __complete` that the
// completion scripts call.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "cli/commands.h"

namespace berth::cli {

void AddCompletionCommands(CLI::App& app, int& rc);

// berth __complete [--shell bash|zsh|fish] -- WORD... CURRENT: prints the candidates for
// CURRENT, one per line. Run before (and instead of) CLI11's parse: the words are whatever the
// user typed so far, which need not parse. Not a CLI11 command, so it stays out of --help.
inline constexpr const char* kCompleteCommand = "__complete";
int RunComplete(const CLI::App& root, const std::vector<std::string>& args);

}  // namespace berth::cli
