// confd's command line in `berth router`. confd takes Go-style single-dash long flags
// (-onetime, -interval 60, -interval=60), which CLI11 cannot parse (it reads "-onetime" as
// "-o netime"). Before parsing, the arguments of the router subcommand are rewritten to
// berth router's spellings, so `confd <flags>` keeps working as `berth router <flags>`.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "berth/result.h"

namespace berth::cli {

// Rewrites confd's single-dash flags in the arguments that follow `berth router`:
//   -confdir -onetime -watch -interval -node -noop -sync-only -keep-stage-file -backend
//   -log-level -> the same name with "--";
//   -prefix (confd's key prefix) -> --confd-prefix (--prefix is the nginx prefix here);
//   -config-file -> --confd-config-file (--config is berth.toml).
// Both "-flag value" and "-flag=value". A value is never rewritten, nor anything after "--" or
// anything already spelled with "--". If a confd flag was rewritten and no confdir was given,
// "--confd" is added: confd mode, with the confdir from confd.toml or confd's /etc/confd. A confd
// flag berth router does not implement (-srv-record, -client-cert, -scheme, ...) fails with
// kInvalidArgument.
Result<std::vector<std::string>> RewriteConfdRouterArgs(const std::vector<std::string>& args);

// Finds the subcommand in a whole command line (argv[0] first; `value_options` are the global
// options that take a value, e.g. "--config" and "-o", so their value is not taken for the
// subcommand) and, when it is "router", applies RewriteConfdRouterArgs to what follows it.
// Anything else comes back unchanged.
Result<std::vector<std::string>> RewriteConfdArgv(const std::vector<std::string>& argv,
                                                  const std::set<std::string>& value_options);

}  // namespace berth::cli
