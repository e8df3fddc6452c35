#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include "cli/commands.h"

namespace berth::cli {

// What the command callbacks write: the global flags they read and the exit code they set.
struct CliState {
  GlobalOptions g;
  int rc = 0;
  // serve's flags
  std::string listen_http;
  bool insecure_no_auth = false;
  bool stop_nginx_on_exit = false;
};

// Every command, as one CLI11 tree: --help, the shell completion and the man pages all read it.
// The callbacks refer to `st`, which must outlive the app.
std::unique_ptr<CLI::App> BuildApp(CliState& st);

int Main(int argc, char** argv);

}  // namespace berth::cli
