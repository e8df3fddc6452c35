// Where an environment's volume lives under a volume root, shared by every driver.
#pragma once

#include <string>
#include <vector>

#include "berth/environment.h"
#include "berth/result.h"
#include "berth/volume.h"

namespace berth::storage {

enum class VolumeLayout {
  // <root>/<ns>/<name> for every namespace.
  kNamespaced,
  // The original's layout: <root>/<name> for the default namespace (its hostPath /mnt/<name>);
  // other namespaces go under <root>/_ns/<ns>/<name>. '_' cannot start a DNS-1123 label, so
  // that folder never collides with an environment's own directory.
  kOriginal,
};

inline constexpr char kOriginalLayoutNamespaceDir[] = "_ns";

Result<VolumeLayout> ParseVolumeLayout(const std::string& s);  // "namespaced" | "original"
const char* VolumeLayoutName(VolumeLayout layout);

// The relative path components of spec's volume, validated names only: nothing the user typed
// reaches a path before ValidateNamespace / ValidateName accepted it.
Result<std::vector<std::string>> VolumeComponents(const EnvironmentSpec& spec, VolumeLayout layout,
                                                  const std::string& default_namespace);

// "a/b/c" from {"a","b","c"}.
std::string JoinComponents(const std::vector<std::string>& parts);

}  // namespace berth::storage
