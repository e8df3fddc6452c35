#include "storage/dir_volumes.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <optional>
#include <system_error>
#include <utility>

#include "storage/local_dir.h"
#include "storage/safe_fs.h"
#include "util/fs.h"

namespace berth::storage {
namespace {

std::string MarkerName(const std::string& leaf) {
  return "." + leaf + ".installation";
}

// The installation recorded beside volume `leaf` in dirfd; nullopt if none is.
Result<std::optional<std::string>> ReadMarker(int dirfd, const std::string& leaf) {
  util::UniqueFd fd(::openat(dirfd, MarkerName(leaf).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return std::optional<std::string>();
    return Fail(ErrnoError(errno, "reading the owner of volume " + leaf));
  }
  char buf[64];
  ssize_t n = ::read(fd.get(), buf, sizeof buf);
  if (n < 0) return Fail(ErrnoError(errno, "reading the owner of volume " + leaf));
  std::string id(buf, static_cast<size_t>(n));
  while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
  return std::optional<std::string>(id);
}

// Records `id` as the owner of volume `leaf`, if no owner is recorded yet (O_EXCL: of two
// installations racing, one wins); returns the owner now recorded.
Result<std::string> ClaimMarker(int dirfd, const std::string& leaf, const std::string& id) {
  util::UniqueFd fd(::openat(dirfd, MarkerName(leaf).c_str(),
                             O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd) {
    if (errno != EEXIST) return Fail(ErrnoError(errno, "recording the owner of volume " + leaf));
    auto have = ReadMarker(dirfd, leaf);
    if (!have) return Fail(have.error());
    return have->value_or("");
  }
  std::string line = id + "\n";
  if (::write(fd.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size()))
    return Fail(ErrnoError(errno, "recording the owner of volume " + leaf));
  return id;
}

}  // namespace

DirVolumes::DirVolumes(DirVolumesOptions opts) : opts_(std::move(opts)) {}

Result<std::string> DirVolumes::AbsoluteRoot() const {
  if (opts_.root.empty()) return Fail(ErrorCode::kInvalidArgument, "volume root is not set");
  std::error_code ec;
  auto abs = std::filesystem::absolute(opts_.root, ec);
  if (ec)
    return Fail(ErrorCode::kInvalidArgument, "volume root " + opts_.root + ": " + ec.message());
  return abs.lexically_normal().string();
}

Result<std::string> DirVolumes::PathFor(const EnvironmentSpec& spec) const {
  auto parts = VolumeComponents(spec, opts_.layout, opts_.default_namespace);
  if (!parts) return Fail(parts.error());
  auto root = AbsoluteRoot();
  if (!root) return root;
  std::string r = *root;
  if (r.size() > 1 && r.back() == '/') r.pop_back();
  return r + "/" + JoinComponents(*parts);
}

Result<std::unique_ptr<VolumeDir>> DirVolumes::OpenDir(const EnvironmentSpec& spec) {
  auto parts = VolumeComponents(spec, opts_.layout, opts_.default_namespace);
  if (!parts) return Fail(parts.error());
  auto root = AbsoluteRoot();
  if (!root) return Fail(root.error());
  // The root may be a symlink (configured); nothing below it is followed.
  auto dir = OpenLocalDir(*root);
  if (!dir) return dir;
  for (const auto& part : *parts) {
    auto next = (*dir)->OpenDir(part);
    if (!next) return next;
    *dir = std::move(*next);
  }
  return dir;
}

Result<VolumeMount> DirVolumes::Ensure(const EnvironmentSpec& spec) {
  auto parts = VolumeComponents(spec, opts_.layout, opts_.default_namespace);
  if (!parts) return Fail(parts.error());
  if (spec.volume_mount.empty()) return VolumeMount{};
  auto path = PathFor(spec);
  if (!path) return Fail(path.error());
  auto root = AbsoluteRoot();
  if (!root) return Fail(root.error());
  if (auto s = util::MakeDirs(*root, 0755); !s) return Fail(Wrap(s.error(), "volume root"));
  auto rootfd = OpenRootDir(*root);
  if (!rootfd) return Fail(Wrap(rootfd.error(), "volume root"));
  if (!installation_.empty()) {
    // Claim (or check) the volume before its directory exists, so a volume is never made for
    // one installation inside another's. One made before installation ids is this store's
    // (the controller asks only for its own specs): it is claimed too.
    std::vector<std::string> parents(parts->begin(), parts->end() - 1);
    util::UniqueFd parent_holder;
    int parent = rootfd->get();
    if (!parents.empty()) {
      auto p = MakeDirsBelow(rootfd->get(), parents, 0755);
      if (!p) return Fail(Wrap(p.error(), "creating volume " + *path));
      parent_holder = std::move(*p);
      parent = parent_holder.get();
    }
    auto owner = ClaimMarker(parent, parts->back(), installation_);
    if (!owner) return Fail(owner.error());
    if (*owner != installation_)
      return Fail(ErrorCode::kAlreadyExists, "volume " + *path +
                                                 " belongs to another Berth installation (" +
                                                 *owner + "; this is " + installation_ + ")");
  }
  auto dir = MakeDirsBelow(rootfd->get(), *parts, 0755);
  if (!dir) return Fail(Wrap(dir.error(), "creating volume " + *path));
  return VolumeMount{opts_.kind, *path, spec.volume_mount};
}

Status DirVolumes::Remove(const EnvironmentSpec& spec) {
  auto parts = VolumeComponents(spec, opts_.layout, opts_.default_namespace);
  if (!parts) return Fail(parts.error());
  auto root = AbsoluteRoot();
  if (!root) return Fail(root.error());
  auto rootfd = OpenRootDir(*root);
  if (!rootfd) {
    if (rootfd.error().code == ErrorCode::kNotFound) return {};
    return Fail(Wrap(rootfd.error(), "volume root"));
  }
  std::string leaf = parts->back();
  parts->pop_back();
  util::UniqueFd parent_holder;
  int parent = rootfd->get();
  if (!parts->empty()) {
    auto p = OpenDirsBelow(rootfd->get(), *parts);
    if (!p) {
      if (p.error().code == ErrorCode::kNotFound) return {};
      return Fail(Wrap(p.error(), "removing volume of " + spec.Key()));
    }
    parent_holder = std::move(*p);
    parent = parent_holder.get();
  }
  if (!installation_.empty()) {
    auto owner = ReadMarker(parent, leaf);
    if (!owner) return Fail(owner.error());
    if (*owner && **owner != installation_) {
      // Another installation's data: a purge here must not reach it.
      spdlog::warn("not purging volume of {}: it belongs to installation {}", spec.Key(), **owner);
      return {};
    }
  }
  if (auto s = RemoveTreeAt(parent, leaf); !s)
    return Fail(Wrap(s.error(), "removing volume of " + spec.Key()));
  if (::unlinkat(parent, MarkerName(leaf).c_str(), 0) != 0 && errno != ENOENT)
    return Fail(ErrnoError(errno, "removing the owner record of volume " + leaf));
  return {};
}

}  // namespace berth::storage
