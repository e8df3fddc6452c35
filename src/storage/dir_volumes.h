// The "dir" driver: a plain directory per environment under a local root, bind-mounted at /apps.
#pragma once

#include <memory>
#include <string>

#include "berth/volume.h"
#include "storage/volume_layout.h"

namespace berth::storage {

struct DirVolumesOptions {
  std::string root;  // created if missing; may itself be a symlink
  VolumeMount::Kind kind = VolumeMount::Kind::kBind;
  VolumeLayout layout = VolumeLayout::kNamespaced;
  std::string default_namespace = "default";
};

class DirVolumes final : public VolumeProvider {
 public:
  explicit DirVolumes(DirVolumesOptions opts);

  std::string Name() const override { return "dir"; }
  // mkdir -p <root>/<ns>/<name> 0755; a symlink on the way is refused (kPermissionDenied).
  Result<VolumeMount> Ensure(const EnvironmentSpec& spec) override;
  // Deletes <root>/<ns>/<name> without following any symlink inside it — only if this
  // installation's (or made before installation ids): another installation's is left, logged.
  Status Remove(const EnvironmentSpec& spec) override;
  // Ownership is a marker file beside the volume, <parent>/.<name>.installation holding the
  // id: outside the directory the container mounts, so it cannot forge it, and '.' cannot
  // start an environment's name, so it never collides with a volume.
  void SetInstallation(const std::string& id) override { installation_ = id; }

  // The volume's directory (berth/volume_dir.h: directory file descriptors, storage/local_dir.h).
  Result<std::unique_ptr<VolumeDir>> OpenDir(const EnvironmentSpec& spec) override;

  // The directory Ensure would create, without touching the disk.
  Result<std::string> PathFor(const EnvironmentSpec& spec) const;

 private:
  // The root as an absolute path (a bind source must be absolute).
  Result<std::string> AbsoluteRoot() const;

  DirVolumesOptions opts_;
  std::string installation_;
};

}  // namespace berth::storage
