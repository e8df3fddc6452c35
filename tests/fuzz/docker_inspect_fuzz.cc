// Docker/Podman `GET /containers/{id}/json` bodies as StatusFromInspect maps them onto a
// workload status, with the label helpers: any JSON an engine sends must map or be ignored,
// never throw or crash.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/docker/docker_api.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  static const berth::EnvironmentSpec spec = [] {
    berth::EnvironmentSpec s;
    s.ns = "default";
    s.name = "demo";
    s.image = "busybox";
    s.ports = berth::DefaultPorts();
    return s;
  }();
  (void)berth::runtime::docker::StatusFromInspect(j, spec, "127.0.0.1", 1'780'000'000);
  (void)berth::runtime::docker::GenerationOf(j);
  (void)berth::runtime::docker::IsOwned(j);
  if (j.is_object() && j.contains("Config") && j["Config"].is_object()) {
    const auto& cfg = j["Config"];
    if (cfg.contains("Labels")) {
      (void)berth::runtime::docker::GenerationOf(cfg["Labels"]);
      (void)berth::runtime::docker::IsOwned(cfg["Labels"]);
    }
  }
  return 0;
}
