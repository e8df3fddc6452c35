// What a code release's archive may hold: checked entry by entry before anything is written,
// so a hostile or broken tar is refused naming the entry and nothing reaches the volume.
// Pure logic: no I/O.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "berth/result.h"

namespace berth::release {

struct TarEntry {
  enum class Type {
    kFile,
    kDir,
    kSymlink,
    kHardlink,
    kCharDevice,
    kBlockDevice,
    kFifo,
    kSocket,
    kOther
  };
  std::string path;  // as in the archive
  Type type = Type::kFile;
  std::string link;  // symlink target, or the hard link's source path
  uint32_t mode = 0644;
  int64_t size = 0;  // content bytes (files)
};

struct TarLimits {
  int64_t max_files = 100000;            // entries of any type
  int64_t max_bytes = int64_t{1} << 30;  // sum of file sizes
  size_t max_path = 4096;                // bytes of a whole path
  size_t max_component = 255;            // bytes of one path component (NAME_MAX)
};

// The path of an archive entry as plain components: "./a//b/" -> {"a","b"}. Refuses an
// absolute path, "..", a NUL or control byte, an empty path and over-long names.
Result<std::vector<std::string>> EntryComponents(const std::string& path, const TarLimits& limits);

// Feeds entries one by one; the first refusal is the archive's error, naming the entry.
class TarChecker {
 public:
  explicit TarChecker(TarLimits limits) : limits_(limits) {}
  // OK: the entry's components (for the extractor). Refused: kInvalidArgument
  // "archive entry \"<path>\": <why>".
  Result<std::vector<std::string>> Check(const TarEntry& e);
  int64_t files() const { return files_; }
  int64_t bytes() const { return bytes_; }

 private:
  TarLimits limits_;
  int64_t files_ = 0;
  int64_t bytes_ = 0;
  std::set<std::string> regular_;  // files seen so far: what a hard link may point at
};

}  // namespace berth::release
