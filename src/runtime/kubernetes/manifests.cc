#include "runtime/kubernetes/manifests.h"

#include "util/base64.h"

#include <string_view>

#include "berth/runtime.h"

namespace berth::kube {
namespace {

std::string S(std::string_view v) {
  return std::string(v);
}

const char* PullPolicyValue(PullPolicy p) {
  switch (p) {
    case PullPolicy::kIfNotPresent:
      return "IfNotPresent";
    case PullPolicy::kNever:
      return "Never";
    case PullPolicy::kAlways:
      break;
  }
  return "Always";
}

nlohmann::json Metadata(const EnvironmentSpec& spec, const std::string& name,
                        const std::string& kns, bool with_generation,
                        const std::string& installation) {
  nlohmann::json labels = SelectorLabels(spec);
  if (with_generation) labels[S(runtime::kLabelGeneration)] = std::to_string(spec.generation);
  if (!installation.empty()) labels[S(runtime::kLabelInstallation)] = installation;
  return {{"name", name}, {"namespace", kns}, {"labels", labels}};
}

}  // namespace

std::map<std::string, std::string> SelectorLabels(const EnvironmentSpec& spec) {
  return {{S(runtime::kLabelManagedBy), kManagedByValue},
          {S(runtime::kLabelNamespace), spec.ns},
          {S(runtime::kLabelName), spec.name}};
}

std::string SelectorString(const std::string& ns, const std::string& name) {
  return S(runtime::kLabelManagedBy) + "=" + kManagedByValue + "," + S(runtime::kLabelNamespace) +
         "=" + ns + "," + S(runtime::kLabelName) + "=" + name;
}
std::string SelectorString(const EnvironmentSpec& spec) {
  return SelectorString(spec.ns, spec.name);
}

std::string VolumeName(const std::string& env_name) {
  return "vol-" + env_name;
}

nlohmann::json PodTemplate(const EnvironmentSpec& spec, const ManifestOptions& o) {
  nlohmann::json labels = nlohmann::json::object();
  for (const auto& [k, v] : spec.labels) labels[k] = v;
  for (const auto& [k, v] : SelectorLabels(spec)) labels[k] = v;  // ours win
  labels[S(runtime::kLabelGeneration)] = std::to_string(spec.generation);
  if (!o.installation.empty()) labels[S(runtime::kLabelInstallation)] = o.installation;

  nlohmann::json container = {
      {"name", spec.name},
      {"image", spec.image},
      {"imagePullPolicy", PullPolicyValue(spec.pull_policy)},
      {"resources",
       {{"limits", {{"cpu", spec.resources.cpu_limit}, {"memory", spec.resources.memory_limit}}},
        {"requests",
         {{"cpu", spec.resources.cpu_request}, {"memory", spec.resources.memory_request}}}}}};
  nlohmann::json ports = nlohmann::json::array();
  for (const auto& p : spec.ports)
    ports.push_back({{"name", p.name}, {"containerPort", p.container_port}, {"protocol", "TCP"}});
  if (!ports.empty()) container["ports"] = ports;
  if (!spec.command.empty()) container["command"] = spec.command;
  if (!spec.env.empty()) {
    nlohmann::json env = nlohmann::json::array();
    for (const auto& [k, v] : spec.env) env.push_back({{"name", k}, {"value", v}});
    container["env"] = env;
  }
  nlohmann::json pod_spec = {{"dnsPolicy", "ClusterFirst"}, {"restartPolicy", "Always"}};
  if (o.volume.kind != VolumeMount::Kind::kNone && !spec.volume_mount.empty()) {
    std::string vol = VolumeName(spec.name);
    container["volumeMounts"] = {{{"name", vol}, {"mountPath", spec.volume_mount}}};
    nlohmann::json v = {{"name", vol}};
    if (o.volume.kind == VolumeMount::Kind::kClaim)
      v["persistentVolumeClaim"] = {{"claimName", o.volume.source}};
    else
      v["hostPath"] = {{"path", o.volume.source}, {"type", "DirectoryOrCreate"}};
    pod_spec["volumes"] = {v};
  }
  pod_spec["containers"] = {container};
  if (!o.image_pull_secrets.empty()) {
    nlohmann::json secrets = nlohmann::json::array();
    for (const auto& s : o.image_pull_secrets) secrets.push_back({{"name", s}});
    pod_spec["imagePullSecrets"] = secrets;
  }
  return {{"metadata",
           {{"labels", labels},
            {"annotations", {{kRestartAnnotation, std::to_string(spec.generation)}}}}},
          {"spec", pod_spec}};
}

nlohmann::json DeploymentManifest(const EnvironmentSpec& spec, const ManifestOptions& o) {
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", Metadata(spec, spec.name, o.kube_namespace, true, o.installation)},
          {"spec",
           {{"replicas", spec.sleeping ? 0 : spec.replicas},
            {"selector", {{"matchLabels", SelectorLabels(spec)}}},
            // One developer container on one volume: never two generations side by side.
            {"strategy", {{"type", "Recreate"}}},
            {"template", PodTemplate(spec, o)}}}};
}

nlohmann::json ReplicationControllerManifest(const EnvironmentSpec& spec,
                                             const ManifestOptions& o) {
  return {{"apiVersion", "v1"},
          {"kind", "ReplicationController"},
          {"metadata", Metadata(spec, spec.name, o.kube_namespace, true, o.installation)},
          {"spec",
           {{"replicas", spec.sleeping ? 0 : spec.replicas},
            {"selector", SelectorLabels(spec)},
            {"template", PodTemplate(spec, o)}}}};
}

nlohmann::json ServiceManifest(const EnvironmentSpec& spec, const ManifestOptions& o) {
  nlohmann::json ports = nlohmann::json::array();
  for (const auto& p : spec.ports) {
    nlohmann::json sp = {{"name", p.name},
                         {"port", p.container_port},
                         {"targetPort", p.container_port},
                         {"protocol", "TCP"}};
    // Omitted = the API server allocates one from its NodePort range and keeps it on re-apply.
    if (p.host_port > 0) sp["nodePort"] = p.host_port;
    ports.push_back(sp);
  }
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", Metadata(spec, spec.name, o.kube_namespace, false, o.installation)},
          {"spec", {{"type", "NodePort"}, {"selector", SelectorLabels(spec)}, {"ports", ports}}}};
}

nlohmann::json ClaimManifest(const EnvironmentSpec& spec, const std::string& kns,
                             const std::string& storage_class, const std::string& size,
                             const std::string& installation) {
  return {{"apiVersion", "v1"},
          {"kind", "PersistentVolumeClaim"},
          {"metadata", Metadata(spec, VolumeName(spec.name), kns, false, installation)},
          {"spec",
           {{"accessModes", {"ReadWriteOnce"}},
            {"storageClassName", storage_class},
            {"resources", {{"requests", {{"storage", size}}}}}}}};
}

nlohmann::json NamespaceManifest(const std::string& kns) {
  return {
      {"apiVersion", "v1"},
      {"kind", "Namespace"},
      {"metadata", {{"name", kns}, {"labels", {{S(runtime::kLabelManagedBy), kManagedByValue}}}}}};
}

nlohmann::json PullSecretManifest(const std::string& name, const std::string& kns,
                                  const std::string& dockerconfigjson,
                                  const std::string& installation) {
  nlohmann::json labels = {{S(runtime::kLabelManagedBy), kManagedByValue}};
  if (!installation.empty()) labels[S(runtime::kLabelInstallation)] = installation;
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", {{"name", name}, {"namespace", kns}, {"labels", labels}}},
          {"type", "kubernetes.io/dockerconfigjson"},
          {"data", {{".dockerconfigjson", util::Base64Encode(dockerconfigjson)}}}};
}

}  // namespace berth::kube
