// Directory operations relative to an open directory that never follow a symlink. A container
// can plant symlinks in its /apps; creating or deleting a volume must not be steered by them
// to a path outside the volume root.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "berth/result.h"
#include "util/fs.h"

namespace berth::storage {

// A single path component: not empty, ".", ".." and without '/' or NUL.
bool PlainName(const std::string& name);

// Names of the entries of the open directory `fd` (without "." and ".."), all read before the
// caller changes anything, so a removal does not disturb the directory stream.
Result<std::vector<std::string>> ListDirAt(int fd);

// Opens an existing directory (following symlinks: the configured root may be one).
Result<util::UniqueFd> OpenRootDir(const std::string& path);

// Opens the single component `name` below dirfd as a directory; a symlink or non-directory is
// kPermissionDenied, a missing entry kNotFound.
Result<util::UniqueFd> OpenDirNoFollow(int dirfd, const std::string& name);

// mkdir -p of `parts` below rootfd. Each part must be a plain name (no '/', not "." or "..")
// and end up a real directory. Directories created here get exactly `mode` (umask ignored);
// existing ones are left as they are. Returns the last directory.
Result<util::UniqueFd> MakeDirsBelow(int rootfd, const std::vector<std::string>& parts,
                                     mode_t mode);

// Opens `parts` below rootfd without following symlinks.
Result<util::UniqueFd> OpenDirsBelow(int rootfd, const std::vector<std::string>& parts);

// Removes `name` below dirfd with everything under it. A symlink is removed itself (its target
// is untouched); a directory on another filesystem (a mount point) is refused. OK if missing.
Status RemoveTreeAt(int dirfd, const std::string& name);

// Maps an errno to the closest ErrorCode, with "<what>: <strerror>" as message.
Error ErrnoError(int err, const std::string& what);

}  // namespace berth::storage
