// A code release on an environment's volume: the layout contract (docs/releases.md) and the
// archive that fills it.
//   <volume>/releases/<id>/   one per release, filled from the archive, never changed after
//   <volume>/current          symlink "releases/<id>", replaced atomically (rename over it)
//   <volume>/shared/          created once, kept across releases
// The volume is a VolumeDir its driver opened (VolumeProvider::OpenDir: directory file
// descriptors for the dir driver, libgfapi handles for gluster), so the same steps hold for
// every driver: each is relative to an open directory and never follows a symlink, since the
// container owns its volume and may have planted links anywhere inside it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "berth/result.h"
#include "berth/volume_dir.h"
#include "release/archive.h"
#include "release/tar_check.h"

namespace berth::release {

class CodeTree {
 public:
  // Opens (creating releases/ and shared/ when missing) the volume directory `volume`.
  static Result<CodeTree> Open(std::unique_ptr<VolumeDir> volume);

  // Extracts the archive at `fd` (checked by CheckArchive first) into releases/<id>: into
  // releases/.partial-<id> first, renamed into place only once complete, so a crash never
  // leaves a release directory that looks finished. kAlreadyExists if releases/<id> exists.
  Status Extract(int fd, const std::string& id, const TarLimits& limits);
  // Points `current` at releases/<id> (a new symlink renamed over the old one).
  Status Switch(const std::string& id);
  // The release `current` points at; "" when there is none.
  Result<std::string> Current();
  bool Has(const std::string& id);
  // Removes what no deploy will use: partial extractions, and release directories other than
  // `keep_ids` and the newest `keep` (by number). Returns the ids removed.
  Result<std::vector<std::string>> Collect(size_t keep, const std::vector<std::string>& keep_ids);
  // Removes `current` (when no release is left to point at).
  Status RemoveCurrent();

  const std::string& path() const { return volume_->path(); }

 private:
  CodeTree() = default;
  std::unique_ptr<VolumeDir> volume_;
  std::unique_ptr<VolumeDir> releases_;
};

// The number of a release id "r<n>"; 0 for anything else.
int64_t ReleaseNumber(const std::string& id);

}  // namespace berth::release
