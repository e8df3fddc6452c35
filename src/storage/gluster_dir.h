// VolumeDir on a Gluster volume through libgfapi object handles (the gluster driver): no FUSE
// mount on this host. A directory is a glfs_object reached by looking up one name at a time
// with follow = 0 from the volume root, and every operation is relative to such a handle
// (glfs_h_lookupat, glfs_h_mkdir, glfs_h_creat, glfs_h_symlink, glfs_h_link, glfs_h_rename,
// glfs_h_unlink), so a symlink the container planted in its volume is never followed.
#pragma once

#ifdef BERTH_HAVE_GFAPI

#include <memory>
#include <string>
#include <vector>

#include "berth/volume_dir.h"

namespace berth::storage {

class GlfsConnection;

// Opens the directory `parts` below the volume root (each a real directory, kPermissionDenied
// for a symlink on the way). The VolumeDir and what it opens keep `conn` alive.
Result<std::unique_ptr<VolumeDir>> OpenGlusterDir(std::shared_ptr<GlfsConnection> conn,
                                                  const std::vector<std::string>& parts);

}  // namespace berth::storage

#endif  // BERTH_HAVE_GFAPI
