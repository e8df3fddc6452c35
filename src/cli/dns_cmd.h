// `berth dns show|set`: cluster DNS stub domains and upstream resolvers (CoreDNS or kube-dns).
#pragma once

#include <CLI/CLI.hpp>

namespace berth::cli {

void AddDnsCommand(CLI::App& app);

}  // namespace berth::cli
