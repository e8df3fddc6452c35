#include "storage/volume_layout.h"

#include "berth/validate.h"

namespace berth::storage {

Result<VolumeLayout> ParseVolumeLayout(const std::string& s) {
  if (s.empty() || s == "namespaced") return VolumeLayout::kNamespaced;
  if (s == "original") return VolumeLayout::kOriginal;
  return Fail(ErrorCode::kInvalidArgument,
              "volume layout must be \"namespaced\" or \"original\", not \"" + s + "\"");
}

const char* VolumeLayoutName(VolumeLayout layout) {
  return layout == VolumeLayout::kOriginal ? "original" : "namespaced";
}

Result<std::vector<std::string>> VolumeComponents(const EnvironmentSpec& spec, VolumeLayout layout,
                                                  const std::string& default_namespace) {
  if (auto s = ValidateNamespace(spec.ns); !s) return Fail(s.error());
  if (auto s = ValidateName(spec.name); !s) return Fail(s.error());
  if (layout == VolumeLayout::kOriginal) {
    if (spec.ns == default_namespace) return std::vector<std::string>{spec.name};
    return std::vector<std::string>{kOriginalLayoutNamespaceDir, spec.ns, spec.name};
  }
  return std::vector<std::string>{spec.ns, spec.name};
}

std::string JoinComponents(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out;
}

}  // namespace berth::storage
