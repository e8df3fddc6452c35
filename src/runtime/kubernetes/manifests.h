// The Kubernetes objects of one environment, built as JSON for server-side apply. Pure
// functions: the same spec always yields the same objects, so re-applying is a no-op.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/environment.h"
#include "berth/volume.h"

namespace berth::kube {

inline constexpr char kManagedByValue[] = "berth";
// Pod-template annotation bumped by rebuild: the same mechanism as "kubectl rollout restart".
inline constexpr char kRestartAnnotation[] = "berth.dev/restarted-for-generation";

struct ManifestOptions {
  std::string kube_namespace;  // where the objects live
  std::string controller;      // "deployment" | "rc"
  std::vector<std::string> image_pull_secrets;
  // How the /apps volume is provided (kNone = no volume).
  VolumeMount volume;
  // The installation label on every object and pod ("" = none). Never in a selector: a
  // Deployment's selector cannot change, and workloads of earlier releases have none.
  std::string installation;
};

// Labels identifying the environment (the selector), without the generation.
std::map<std::string, std::string> SelectorLabels(const EnvironmentSpec& spec);
// "app.kubernetes.io/managed-by=berth,berth.dev/namespace=x,berth.dev/name=y"
std::string SelectorString(const EnvironmentSpec& spec);
std::string SelectorString(const std::string& ns, const std::string& name);
// The volume name of the original: vol-<name>.
std::string VolumeName(const std::string& env_name);

nlohmann::json PodTemplate(const EnvironmentSpec& spec, const ManifestOptions& o);
nlohmann::json DeploymentManifest(const EnvironmentSpec& spec, const ManifestOptions& o);
nlohmann::json ReplicationControllerManifest(const EnvironmentSpec& spec, const ManifestOptions& o);
nlohmann::json ServiceManifest(const EnvironmentSpec& spec, const ManifestOptions& o);
nlohmann::json ClaimManifest(const EnvironmentSpec& spec, const std::string& kube_namespace,
                             const std::string& storage_class, const std::string& size,
                             const std::string& installation = "");
nlohmann::json NamespaceManifest(const std::string& kube_namespace);
// A kubernetes.io/dockerconfigjson Secret holding `dockerconfigjson` (the config.json text).
nlohmann::json PullSecretManifest(const std::string& name, const std::string& kube_namespace,
                                  const std::string& dockerconfigjson,
                                  const std::string& installation);

}  // namespace berth::kube
