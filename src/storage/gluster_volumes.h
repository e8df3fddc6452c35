// The "gluster" driver: one directory per environment on a GlusterFS volume, created through
// libgfapi like the original (connect to gv0, mkdir <name> 0755). Containers see it through the
// volume's FUSE mount on each host/node: <mount_root>/<ns>/<name> (bind for docker, hostPath
// for kubernetes).
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "berth/volume.h"
#include "storage/volume_layout.h"

namespace berth::storage {

struct GlusterVolumesOptions {
  std::string server = "127.0.0.1";  // glusterd
  int port = 24007;
  std::string volume = "gv0";
  std::string mount_root;  // absolute path where `volume` is mounted on every host/node
  VolumeMount::Kind kind = VolumeMount::Kind::kBind;
  VolumeLayout layout = VolumeLayout::kNamespaced;
  std::string default_namespace = "default";
  std::string log_file;  // libgfapi log; "" = the library's default
};

struct HostPort {
  std::string host;
  int port = 0;
};
// "host", "host:port", "[v6]:port" or "v6"; port defaults to `default_port`. The host must be
// an IP literal or a DNS name.
Result<HostPort> ParseGlusterServer(const std::string& s, int default_port = 24007);
// Gluster volume names: letters, digits, '-' and '_', at most 64 characters.
Status ValidateGlusterVolumeName(const std::string& name);

#ifdef BERTH_HAVE_GFAPI

class GlfsConnection;

class GlusterVolumes final : public VolumeProvider {
 public:
  // Checks the options; does not connect (the first Ensure/Remove does).
  static Result<std::unique_ptr<GlusterVolumes>> Create(GlusterVolumesOptions opts);
  ~GlusterVolumes() override;

  std::string Name() const override { return "gluster"; }
  // mkdir -p /<ns>/<name> 0755 on the volume (EEXIST is fine); a symlink on the way is refused.
  Result<VolumeMount> Ensure(const EnvironmentSpec& spec) override;
  // Deletes /<ns>/<name> on the volume recursively, never following symlinks — only if this
  // installation's (or made before installation ids).
  Status Remove(const EnvironmentSpec& spec) override;
  // The volume's directory through libgfapi object handles (storage/gluster_dir.h): code
  // releases are written without a mount on this host.
  Result<std::unique_ptr<VolumeDir>> OpenDir(const EnvironmentSpec& spec) override;
  // The owner file beside the volume, as the dir driver's: /<ns>/.<name>.installation.
  void SetInstallation(const std::string& id) override { installation_ = id; }

 private:
  explicit GlusterVolumes(GlusterVolumesOptions opts);
  // Runs op on the cached connection, reconnecting once if the backend was unavailable.
  // Called with mu_ held.
  template <typename Op>
  auto WithConnection(Op op) -> decltype(op(std::declval<GlfsConnection&>()));

  GlusterVolumesOptions opts_;
  std::string installation_;
  std::mutex mu_;  // one operation at a time; guards conn_
  // Shared with the VolumeDirs handed out, which keep it open while a release is written.
  std::shared_ptr<GlfsConnection> conn_;
};

#endif  // BERTH_HAVE_GFAPI

}  // namespace berth::storage
