// The "none" driver: environments get no persistent /apps.
#pragma once

#include "berth/volume.h"

namespace berth::storage {

class NoVolumes final : public VolumeProvider {
 public:
  std::string Name() const override { return "none"; }
  Result<VolumeMount> Ensure(const EnvironmentSpec&) override { return VolumeMount{}; }
  Status Remove(const EnvironmentSpec&) override { return {}; }
};

}  // namespace berth::storage
