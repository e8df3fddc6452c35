#include "runtime/runtime_registry.h"

#include <map>
#include <mutex>

#include "runtime/docker/docker_runtime.h"
#include "runtime/kubernetes/kubernetes_runtime.h"

namespace berth::runtime {
namespace {

struct Registry {
  std::mutex mu;
  std::map<std::string, RuntimeFactory> factories;
};

// Built-ins are added here, not by static initialisers in their own files: a static library
// drops object files nothing refers to, and their registrations with them.
Registry& TheRegistry() {
  static Registry* r = [] {
    auto* reg = new Registry;
    reg->factories["docker"] = MakeDockerRuntime;
    reg->factories["kubernetes"] = kube::MakeKubernetesRuntime;
    return reg;
  }();
  return *r;
}

}  // namespace

Status RegisterRuntime(const std::string& name, RuntimeFactory factory) {
  if (name.empty() || !factory)
    return Fail(ErrorCode::kInvalidArgument, "a runtime needs a name and a factory");
  auto& r = TheRegistry();
  std::lock_guard lock(r.mu);
  if (!r.factories.emplace(name, std::move(factory)).second)
    return Fail(ErrorCode::kAlreadyExists, "runtime \"" + name + "\" is already registered");
  return {};
}

std::vector<std::string> RuntimeNames() {
  auto& r = TheRegistry();
  std::lock_guard lock(r.mu);
  std::vector<std::string> names;
  for (const auto& [name, f] : r.factories) names.push_back(name);
  return names;
}

Result<std::unique_ptr<Runtime>> MakeRuntime(const berth::Config& config) {
  RuntimeFactory factory;
  {
    auto& r = TheRegistry();
    std::lock_guard lock(r.mu);
    auto it = r.factories.find(config.runtime);
    if (it == r.factories.end()) {
      std::string known;
      for (const auto& [name, f] : r.factories) known += (known.empty() ? "" : ", ") + name;
      return Fail(ErrorCode::kInvalidArgument,
                  "unknown runtime \"" + config.runtime + "\" (known: " + known + ")");
    }
    factory = it->second;
  }
  return factory(config);
}

}  // namespace berth::runtime
