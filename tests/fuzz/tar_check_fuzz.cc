// A code release's archive, as a tenant uploads it. Two ways in:
//  - the input as an archive (tar, gzip, anything libarchive reads) through CheckArchive, the
//    server's own reading: no crash, no sanitizer report, whatever the bytes;
//  - the input as a list of entries (type, mode, path, link) through TarChecker, so the fuzzer
//    reaches the checker's rules directly, and everything it accepts keeps its promise: plain
//    components (no "", ".", "..", '/', NUL), only files, directories and links, no
//    setuid/setgid, a symlink that stays inside the release, a hard link to an earlier file,
//    and the limits.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "release/code_tree.h"
#include "release/tar_check.h"

namespace {

using berth::release::TarChecker;
using berth::release::TarEntry;
using berth::release::TarLimits;

void Check(bool ok, const char* what, const TarEntry& e) {
  if (ok) return;
  std::fprintf(stderr, "tar_check_fuzz: %s: entry \"%s\" -> \"%s\"\n", what, e.path.c_str(),
               e.link.c_str());
  std::abort();
}

std::vector<std::string> Split(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t slash = s.find('/', start);
    if (slash == std::string_view::npos) slash = s.size();
    out.emplace_back(s.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

// Where a symlink in directory `dir` (components) pointing at `target` lands: false when it
// climbs above the release's root.
bool StaysInside(std::vector<std::string> dir, std::string_view target) {
  if (!target.empty() && target.front() == '/') return false;
  for (const auto& c : Split(target)) {
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (dir.empty()) return false;
      dir.pop_back();
    } else {
      dir.push_back(c);
    }
  }
  return true;
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "/") + p;
  return out;
}

void FuzzArchive(const uint8_t* data, size_t size) {
  int fd = ::memfd_create("tar_check_fuzz", 0);
  if (fd < 0) return;
  if (::write(fd, data, size) == static_cast<ssize_t>(size)) {
    TarLimits small;
    small.max_files = 64;
    small.max_bytes = 1 << 16;
    (void)berth::release::CheckArchive(fd, small);
  }
  ::close(fd);
}

// Entries: a type byte, two mode bytes, then path NUL link NUL, repeated.
void FuzzEntries(const uint8_t* data, size_t size) {
  TarLimits limits;
  limits.max_files = 16;
  limits.max_bytes = 4096;
  limits.max_path = 128;
  limits.max_component = 32;
  TarChecker checker(limits);
  std::set<std::string> files;
  size_t i = 0;
  while (i + 3 <= size) {
    TarEntry e;
    e.type = static_cast<TarEntry::Type>(data[i] % 9);
    e.mode = static_cast<uint32_t>(data[i + 1] << 8 | data[i + 2]) & 07777;
    e.size = data[i] * 16;
    i += 3;
    auto take = [&]() {
      std::string s;
      while (i < size && data[i] != 0) s.push_back(static_cast<char>(data[i++]));
      ++i;  // the NUL
      return s;
    };
    e.path = take();
    e.link = take();
    auto comps = checker.Check(e);
    if (!comps) continue;
    // Only a directory may be the release's root itself ("./").
    Check(!comps->empty() || e.type == TarEntry::Type::kDir, "no components", e);
    size_t total = 0;
    for (const auto& c : *comps) {
      Check(!c.empty() && c != "." && c != "..", "a dot or empty component", e);
      Check(c.find('/') == std::string::npos && c.find('\0') == std::string::npos,
            "a slash or NUL in a component", e);
      Check(c.size() <= limits.max_component, "a component over the limit", e);
      total += c.size() + 1;
    }
    Check(total <= limits.max_path + 1, "a path over the limit", e);
    Check((e.mode & 06000) == 0, "setuid or setgid accepted", e);
    switch (e.type) {
      case TarEntry::Type::kFile:
        files.insert(Join(*comps));
        break;
      case TarEntry::Type::kDir:
        break;
      case TarEntry::Type::kSymlink: {
        std::vector<std::string> dir(comps->begin(), comps->end() - 1);
        Check(StaysInside(dir, e.link), "a symlink out of the release", e);
        break;
      }
      case TarEntry::Type::kHardlink: {
        auto target = berth::release::EntryComponents(e.link, limits);
        Check(target && files.count(Join(*target)), "a hard link to no earlier file", e);
        break;
      }
      default:
        Check(false, "a device, FIFO or socket accepted", e);
    }
    Check(checker.files() <= limits.max_files, "more files than max_files", e);
    Check(checker.bytes() <= limits.max_bytes, "more bytes than max_bytes", e);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzArchive(data, size);
  FuzzEntries(data, size);
  return 0;
}
