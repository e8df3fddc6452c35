// Manual pages (roff, section 1) generated from the same CLI11 definition as --help and the
// shell completion: one page for `berth` and one per command (berth-create.1, berth-dns-show.1).
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "berth/result.h"

namespace berth::cli {

struct ManPage {
  std::string file;  // "berth-create.1"
  std::string text;  // roff
};

// Every page for `root` and its visible commands, nested ones included.
std::vector<ManPage> ManPages(const CLI::App& root, const std::string& version);

// Writes ManPages() into `dir` (created if missing); returns the files written.
Result<std::vector<std::string>> WriteManPages(const CLI::App& root, const std::string& version,
                                               const std::string& dir);

}  // namespace berth::cli
