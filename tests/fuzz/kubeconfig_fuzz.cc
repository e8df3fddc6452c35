// Kubeconfig documents (ParseKubeConfig) and the context resolution that follows: any YAML
// must parse or be refused, never crash. Resolution may read files the document names, so
// paths are resolved against a directory that does not exist.
#include <cstdint>
#include <string>

#include "runtime/kubernetes/kubeconfig.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto cfg = berth::kube::ParseKubeConfig(text, "/nonexistent/berth-fuzz");
  if (!cfg) return 0;
  berth::kube::KubeConfigFile merged;
  berth::kube::MergeKubeConfig(merged, *cfg);
  berth::kube::MergeKubeConfig(merged, *cfg);
  (void)berth::kube::ResolveContext(merged, "");
  for (const auto& [name, ctx] : cfg->contexts) (void)berth::kube::ResolveContext(merged, name);
  return 0;
}
