// `berth router`: the router alone, for an nginx edge node (routes from etcd or a store URL),
// or a confd-compatible runner with --confdir.
#pragma once

#include <CLI/CLI.hpp>

namespace berth::cli {

void AddRouterCommand(CLI::App& app);

}  // namespace berth::cli
