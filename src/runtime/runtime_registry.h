// Picks the Runtime named by config.runtime (`[runtime] kind`) from a registry of factories, as
// storage/volume_provider_factory.h does for volume drivers. Built in: "docker" (the Docker
// Engine API, Docker or Podman) and "kubernetes". The name chooses what to construct and
// nothing else: callers ask the runtime's Capabilities, never compare its name.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "berth/config.h"
#include "berth/result.h"
#include "berth/runtime.h"

namespace berth::runtime {

using RuntimeFactory = std::function<Result<std::unique_ptr<Runtime>>(const berth::Config&)>;

// Adds a runtime; kAlreadyExists if the name is taken. Thread-safe.
Status RegisterRuntime(const std::string& name, RuntimeFactory factory);
// Registered runtime names, sorted.
std::vector<std::string> RuntimeNames();

// kInvalidArgument for an unknown name; otherwise what the factory says (bad settings, an
// unreadable kubeconfig). Does not contact the engine or cluster.
Result<std::unique_ptr<Runtime>> MakeRuntime(const berth::Config& config);

}  // namespace berth::runtime
