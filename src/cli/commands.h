// The environment commands (create, list, view, rebuild, delete, logs) and the original
// control program's commands (list_pod, re_create, re_view, re_delete, re_rebuild).
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "berth/config.h"
#include "berth/result.h"
#include "cli/api_client.h"

namespace berth::cli {

struct GlobalOptions {
  std::string config_file;
  std::string socket;
  std::string server;
  std::string token;
  std::string output = "table";
  std::string ns;
  bool verbose = false;
};

Result<Config> LoadEffectiveConfig(const GlobalOptions& g);
Endpoint EndpointFor(const GlobalOptions& g, const Config& c);
// Prints "berth: <message>" to stderr and returns the documented exit code.
int ReportError(const Error& e);

void AddEnvironmentCommands(CLI::App& app, GlobalOptions& g, int& rc);
void AddLegacyCommands(CLI::App& app, GlobalOptions& g, int& rc);

// Follows an environment until it runs generation `generation` (or fails / disappears).
// Prints progress to stderr when `progress` is set. Returns the final view JSON.
Result<nlohmann::json> WaitRunning(ApiClient& client, const std::string& ns,
                                   const std::string& name, int64_t generation, int timeout_s,
                                   bool progress);
Status WaitDeleted(ApiClient& client, const std::string& ns, const std::string& name, int timeout_s,
                   bool progress);

}  // namespace berth::cli
