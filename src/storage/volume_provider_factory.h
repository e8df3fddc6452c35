// Picks the VolumeProvider named by config.volume_driver from a registry of drivers.
// Built in: "dir", "gluster" (when built with libgfapi) and "none".
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "berth/config.h"
#include "berth/result.h"
#include "berth/volume.h"

namespace berth::storage {

using VolumeProviderFactory =
    std::function<Result<std::unique_ptr<VolumeProvider>>(const berth::Config&)>;

// Adds a driver; kAlreadyExists if the name is taken. Thread-safe.
Status RegisterVolumeProvider(const std::string& name, VolumeProviderFactory factory);
// Registered driver names, sorted.
std::vector<std::string> VolumeProviderNames();

// kInvalidArgument for an unknown driver or bad [volumes] settings; kUnavailable for "gluster"
// in a build without libgfapi. Does not contact any backend.
Result<std::unique_ptr<VolumeProvider>> MakeVolumeProvider(const berth::Config& config);

}  // namespace berth::storage
