// VolumeDir on a local filesystem (the dir driver): a directory file descriptor, and every
// operation relative to it with the *at calls that never follow a symlink (openat with
// O_NOFOLLOW, mkdirat, symlinkat, linkat without AT_SYMLINK_FOLLOW, renameat).
#pragma once

#include <memory>
#include <string>

#include "berth/volume_dir.h"

namespace berth::storage {

// Opens `path` (which may itself be a symlink: a configured root can be) as a VolumeDir.
Result<std::unique_ptr<VolumeDir>> OpenLocalDir(const std::string& path);

}  // namespace berth::storage
