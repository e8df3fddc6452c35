// What a CLI command that talks to the API starts with: the effective config, the namespace
// (-n, else the config's default_namespace), the environment NAME validated before it becomes
// part of a URL, and an API client.
#pragma once

#include <string>

#include "berth/config.h"
#include "berth/result.h"
#include "cli/api_client.h"
#include "cli/commands.h"

namespace berth::cli {

struct Target {
  Config cfg;
  std::string ns;
  ApiClient client;
};

// Loads the effective config, picks the namespace and makes the client; validates nothing.
Result<Target> OpenTarget(const GlobalOptions& g);
// Validates the namespace, then NAME.
Status CheckTarget(const std::string& ns, const std::string& name);
// OpenTarget, then CheckTarget(ns, name).
Result<Target> ResolveTarget(const GlobalOptions& g, const std::string& name);

}  // namespace berth::cli
