#include "storage/dir_volumes.h"

#include <cerrno>
#include <filesystem>
#include <system_error>
#include <utility>

#include "storage/safe_fs.h"
#include "util/fs.h"

namespace berth::storage {

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
  if (auto s = RemoveTreeAt(parent, leaf); !s)
    return Fail(Wrap(s.error(), "removing volume of " + spec.Key()));
  return {};
}

}  // namespace berth::storage
