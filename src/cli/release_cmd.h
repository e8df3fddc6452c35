// `berth deploy`, `berth releases` and `berth rollback` (docs/releases.md).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include "berth/result.h"
#include "cli/commands.h"

namespace berth::cli {

void AddReleaseCommands(CLI::App& app, GlobalOptions& g, int& rc);

// A release message from the CI system's variables when --message is not given: Jenkins
// (BUILD_TAG, BUILD_URL), GitLab (CI_JOB_URL), GitHub Actions (GITHUB_RUN_ID with
// GITHUB_REPOSITORY and GITHUB_SERVER_URL); "" outside CI. `env` reads a variable ("" = unset).
std::string CiReleaseMessage(const std::function<std::string(const char*)>& env);

// A tar of the tree at `dir` (symlinks kept as links, never followed), with paths relative to
// it; gzip-compressed (fast level) with `gzip`.
Result<std::string> TarDirectory(const std::string& dir, bool gzip = false);

// "3.4 KiB", "12 B".
std::string HumanBytes(int64_t n);

}  // namespace berth::cli
