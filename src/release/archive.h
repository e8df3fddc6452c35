// Reading a code release's archive (tar, or gzip/bzip2/xz-compressed tar) with libarchive:
// entry by entry, each checked by TarChecker (release/tar_check.h). CheckArchive walks it
// before anything is written; the code tree (release/code_tree.h) walks it again to extract.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "berth/result.h"
#include "release/tar_check.h"

namespace berth::release {

struct ArchiveSummary {
  std::string digest;  // "sha256:<hex>" of the archive as uploaded
  int64_t files = 0;   // entries
  int64_t bytes = 0;   // file content
};

// Reads the whole archive at `fd` (tar, or gzip/bzip2/xz-compressed tar) from its start and
// checks every entry (TarChecker); nothing is written. The first bad entry is the error.
Result<ArchiveSummary> CheckArchive(int fd, const TarLimits& limits);

// One checked entry of the archive, as handed to WalkArchive's callback.
struct CheckedEntry {
  TarEntry entry;                  // as in the archive
  std::vector<std::string> parts;  // its path as plain components (empty for "./")
  // "archive entry \"<path>\": <why>", for the callback's errors.
  std::string Shown(const std::string& why) const {
    return "archive entry \"" + entry.path + "\": " + why;
  }
};

// A file entry's content, block by block (sparse files: blocks with offsets, holes skipped).
using BlockSink = std::function<Status(int64_t offset, const char* data, size_t n)>;
using ReadData = std::function<Status(const BlockSink&)>;

// Reads the archive at `fd` from its start and calls `each` for every entry that TarChecker
// accepts (checked again: the bytes read now may not be those checked before), in order; the
// callback reads a file's content through `read`, or leaves it (then it is skipped). The first
// refused entry or failed callback is the error; OK: the entry count and content bytes (no
// digest).
Result<ArchiveSummary> WalkArchive(
    int fd, const TarLimits& limits,
    const std::function<Status(const CheckedEntry&, const ReadData& read)>& each);

}  // namespace berth::release
