#include "release/tar_check.h"

#include "util/strings.h"

namespace berth::release {
namespace {

Error Refuse(const std::string& path, const std::string& why) {
  // The path is the archive's: shown escaped and cut, so a message stays one readable line.
  std::string shown;
  for (char c : path.substr(0, 200)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      static const char* hex = "0123456789abcdef";
      shown += "\\x";
      shown += hex[u >> 4];
      shown += hex[u & 15];
    } else {
      shown += c;
    }
  }
  if (path.size() > 200) shown += "...";
  return Error{ErrorCode::kInvalidArgument, "archive entry \"" + shown + "\": " + why};
}

std::string Join(const std::vector<std::string>& parts) {
  return util::Join(parts, "/");
}

}  // namespace

Result<std::vector<std::string>> EntryComponents(const std::string& path, const TarLimits& limits) {
  if (path.empty()) return Fail(Refuse(path, "empty path"));
  if (path.size() > limits.max_path)
    return Fail(Refuse(path, "path longer than " + std::to_string(limits.max_path) + " bytes"));
  for (char c : path) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return Fail(Refuse(path, "control character in the path"));
  }
  if (path.front() == '/') return Fail(Refuse(path, "absolute path"));
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    std::string part = path.substr(start, slash - start);
    start = slash + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") return Fail(Refuse(path, "\"..\" in the path"));
    if (part.size() > limits.max_component)
      return Fail(
          Refuse(path, "a name longer than " + std::to_string(limits.max_component) + " bytes"));
    out.push_back(std::move(part));
  }
  return out;  // empty = "." itself (the release root)
}

Result<std::vector<std::string>> TarChecker::Check(const TarEntry& e) {
  if (++files_ > limits_.max_files)
    return Fail(Refuse(e.path, "more than " + std::to_string(limits_.max_files) +
                                   " entries (releases.max_files)"));
  auto parts = EntryComponents(e.path, limits_);
  if (!parts) return parts;
  if ((e.mode & 06000) != 0) return Fail(Refuse(e.path, "setuid or setgid bit"));
  switch (e.type) {
    case TarEntry::Type::kDir:
      return parts;
    case TarEntry::Type::kFile: {
      if (parts->empty()) return Fail(Refuse(e.path, "a file where the release root is"));
      if (e.size < 0) return Fail(Refuse(e.path, "negative size"));
      if (e.size > limits_.max_bytes - bytes_)
        return Fail(Refuse(e.path, "the release is over " + std::to_string(limits_.max_bytes) +
                                       " bytes (releases.max_bytes)"));
      bytes_ += e.size;
      regular_.insert(Join(*parts));
      return parts;
    }
    case TarEntry::Type::kSymlink: {
      if (parts->empty()) return Fail(Refuse(e.path, "a symlink where the release root is"));
      if (e.link.empty()) return Fail(Refuse(e.path, "symlink with an empty target"));
      if (e.link.front() == '/')
        return Fail(Refuse(e.path, "symlink to an absolute path (" + e.link.substr(0, 200) + ")"));
      if (e.link.size() > limits_.max_path) return Fail(Refuse(e.path, "symlink target too long"));
      // Resolved lexically from the link's own directory, it must stay inside the release.
      // ".." only as a leading run: after a name (which may itself be a symlink, even to "."),
      // a lexical check no longer says where the path really goes.
      int64_t depth = static_cast<int64_t>(parts->size()) - 1;
      bool named = false;
      size_t start = 0;
      while (start <= e.link.size()) {
        size_t slash = e.link.find('/', start);
        if (slash == std::string::npos) slash = e.link.size();
        std::string part = e.link.substr(start, slash - start);
        start = slash + 1;
        if (part.empty() || part == ".") continue;
        if (part == ".." && named)
          return Fail(Refuse(
              e.path, "symlink target with \"..\" after a name (" + e.link.substr(0, 200) + ")"));
        named = named || part != "..";
        depth += part == ".." ? -1 : 1;
        if (depth < 0)
          return Fail(Refuse(
              e.path, "symlink pointing outside the release (" + e.link.substr(0, 200) + ")"));
      }
      return parts;
    }
    case TarEntry::Type::kHardlink: {
      if (parts->empty()) return Fail(Refuse(e.path, "a hard link where the release root is"));
      auto target = EntryComponents(e.link, limits_);
      if (!target)
        return Fail(Refuse(
            e.path, "hard link pointing outside the release (" + e.link.substr(0, 200) + ")"));
      // Only to a file of this archive, extracted before: never to anything already on disk.
      if (!regular_.count(Join(*target)))
        return Fail(Refuse(e.path, "hard link to \"" + e.link.substr(0, 200) +
                                       "\", which is not an earlier file of the archive"));
      return parts;
    }
    case TarEntry::Type::kCharDevice:
    case TarEntry::Type::kBlockDevice:
      return Fail(Refuse(e.path, "device file"));
    case TarEntry::Type::kFifo:
      return Fail(Refuse(e.path, "FIFO"));
    case TarEntry::Type::kSocket:
      return Fail(Refuse(e.path, "socket"));
    case TarEntry::Type::kOther:
      break;
  }
  return Fail(Refuse(e.path, "unsupported entry type"));
}

}  // namespace berth::release
