// Writes tar archives in memory for release tests, including entries no honest tool would
// make (absolute paths, "..", devices, setuid bits): what a hostile upload could hold.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace berth::testing {

struct TarItem {
  enum class Type { kFile, kDir, kSymlink, kHardlink, kCharDevice, kFifo };
  std::string path;
  Type type = Type::kFile;
  std::string content;  // files
  std::string link;     // symlink target or hard link source
  unsigned mode = 0644;
  // Set: the header claims this size (a lie when it differs from content.size()).
  int64_t size_override = -1;
};

// A ustar/pax archive of `items`, gzip-compressed when `gzip`.
std::string BuildTar(const std::vector<TarItem>& items, bool gzip = false);

inline TarItem TarFile(std::string path, std::string content, unsigned mode = 0644) {
  return TarItem{std::move(path), TarItem::Type::kFile, std::move(content), "", mode, -1};
}

}  // namespace berth::testing
