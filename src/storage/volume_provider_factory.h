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

// `host_dir_mount` is how the runtime mounts a host directory (Runtime::capabilities()):
// kBind on this host (Docker) or kHostPath on every node (Kubernetes); a driver that keeps
// volumes as host directories mounts them so.
using VolumeProviderFactory = std::function<Result<std::unique_ptr<VolumeProvider>>(
    const berth::Config&, VolumeMount::Kind host_dir_mount)>;

// Adds a driver; kAlreadyExists if the name is taken. Thread-safe.
Status RegisterVolumeProvider(const std::string& name, VolumeProviderFactory factory);
// Registered driver names, sorted.
std::vector<std::string> VolumeProviderNames();

// kInvalidArgument for an unknown driver or bad [volumes] settings; kUnavailable for "gluster"
// in a build without libgfapi. Does not contact any backend.
Result<std::unique_ptr<VolumeProvider>> MakeVolumeProvider(
    const berth::Config& config, VolumeMount::Kind host_dir_mount = VolumeMount::Kind::kBind);

}  // namespace berth::storage
