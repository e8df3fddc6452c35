// A code release on a volume the server can write (the "dir" driver): the layout contract
// (docs/releases.md) and the archive that fills it.
//   <volume>/releases/<id>/   one per release, filled from the archive, never changed after
//   <volume>/current          symlink "releases/<id>", replaced atomically (rename over it)
//   <volume>/shared/          created once, kept across releases
// Every step is relative to an open directory and never follows a symlink: the container owns
// its volume and may have planted links anywhere inside it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "berth/result.h"
#include "release/tar_check.h"
#include "util/fs.h"

namespace berth::release {

struct ArchiveSummary {
  std::string digest;  // "sha256:<hex>" of the archive as uploaded
  int64_t files = 0;   // entries
  int64_t bytes = 0;   // file content
};

// Reads the whole archive at `fd` (tar, or gzip/bzip2/xz-compressed tar) from its start and
// checks every entry (TarChecker); nothing is written. The first bad entry is the error.
Result<ArchiveSummary> CheckArchive(int fd, const TarLimits& limits);

class CodeTree {
 public:
  // Opens (creating releases/ and shared/ when missing) the volume directory `volume_path`.
  static Result<CodeTree> Open(const std::string& volume_path);

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

  const std::string& path() const { return path_; }

 private:
  CodeTree() = default;
  std::string path_;
  util::UniqueFd volume_;
  util::UniqueFd releases_;
};

// The number of a release id "r<n>"; 0 for anything else.
int64_t ReleaseNumber(const std::string& id);

}  // namespace berth::release
