#include "storage/volume_provider_factory.h"

#include <map>
#include <mutex>

#include "storage/dir_volumes.h"
#include "storage/gluster_volumes.h"
#include "storage/no_volumes.h"
#include "storage/volume_layout.h"

namespace berth::storage {
namespace {

Result<VolumeLayout> LayoutOf(const Config& c) {
  return ParseVolumeLayout(c.volume_layout);
}

Result<std::unique_ptr<VolumeProvider>> MakeDir(const Config& c, VolumeMount::Kind mount) {
  auto layout = LayoutOf(c);
  if (!layout) return Fail(layout.error());
  DirVolumesOptions o;
  o.root = !c.volume_root.empty() ? c.volume_root
           : !c.state_dir.empty() ? c.state_dir + "/volumes"
                                  : std::string();
  if (o.root.empty())
    return Fail(ErrorCode::kInvalidArgument, "volumes.root (or server.state_dir) must be set");
  o.kind = mount;
  o.layout = *layout;
  o.default_namespace = c.default_namespace;
  return std::unique_ptr<VolumeProvider>(new DirVolumes(std::move(o)));
}

Result<std::unique_ptr<VolumeProvider>> MakeGluster(const Config& c, VolumeMount::Kind mount) {
#ifdef BERTH_HAVE_GFAPI
  auto layout = LayoutOf(c);
  if (!layout) return Fail(layout.error());
  auto hp = ParseGlusterServer(c.gluster_server);
  if (!hp) return Fail(hp.error());
  GlusterVolumesOptions o;
  o.server = hp->host;
  o.port = hp->port;
  o.volume = c.gluster_volume;
  // Where host paths are a node's (Kubernetes), the nodes mount the volume at the hostPath
  // root (the original: /mnt).
  o.mount_root = !c.gluster_mount.empty()                ? c.gluster_mount
                 : mount == VolumeMount::Kind::kHostPath ? c.kube_host_path_root
                                                         : std::string();
  if (o.mount_root.empty())
    return Fail(ErrorCode::kInvalidArgument,
                "volumes.gluster_mount must say where the gluster volume is mounted on this host");
  o.kind = mount;
  o.layout = *layout;
  o.default_namespace = c.default_namespace;
  if (!c.state_dir.empty()) o.log_file = c.state_dir + "/gfapi.log";
  auto g = GlusterVolumes::Create(std::move(o));
  if (!g) return Fail(g.error());
  return std::unique_ptr<VolumeProvider>(std::move(*g));
#else
  (void)c;
  (void)mount;
  return Fail(ErrorCode::kUnavailable,
              "volume driver \"gluster\" needs libgfapi; this berth was built without it "
              "(install libglusterfs-dev and rebuild)");
#endif
}

Result<std::unique_ptr<VolumeProvider>> MakeNone(const Config&, VolumeMount::Kind) {
  return std::unique_ptr<VolumeProvider>(new NoVolumes());
}

struct Registry {
  std::mutex mu;
  std::map<std::string, VolumeProviderFactory> factories;
};

// Built-ins are added here, not by static initialisers in their own files: a static library
// drops object files nothing refers to, and their registrations with them.
Registry& TheRegistry() {
  static Registry* r = [] {
    auto* reg = new Registry;
    reg->factories["dir"] = MakeDir;
    reg->factories["gluster"] = MakeGluster;
    reg->factories["none"] = MakeNone;
    return reg;
  }();
  return *r;
}

}  // namespace

Status RegisterVolumeProvider(const std::string& name, VolumeProviderFactory factory) {
  if (name.empty() || !factory)
    return Fail(ErrorCode::kInvalidArgument, "a volume driver needs a name and a factory");
  auto& r = TheRegistry();
  std::lock_guard lock(r.mu);
  if (!r.factories.emplace(name, std::move(factory)).second)
    return Fail(ErrorCode::kAlreadyExists, "volume driver \"" + name + "\" is already registered");
  return {};
}

std::vector<std::string> VolumeProviderNames() {
  auto& r = TheRegistry();
  std::lock_guard lock(r.mu);
  std::vector<std::string> names;
  for (const auto& [name, f] : r.factories) names.push_back(name);
  return names;
}

Result<std::unique_ptr<VolumeProvider>> MakeVolumeProvider(const berth::Config& config,
                                                           VolumeMount::Kind host_dir_mount) {
  VolumeProviderFactory factory;
  {
    auto& r = TheRegistry();
    std::lock_guard lock(r.mu);
    auto it = r.factories.find(config.volume_driver);
    if (it == r.factories.end()) {
      std::string known;
      for (const auto& [name, f] : r.factories) known += (known.empty() ? "" : ", ") + name;
      return Fail(ErrorCode::kInvalidArgument,
                  "unknown volume driver \"" + config.volume_driver + "\" (known: " + known + ")");
    }
    factory = it->second;
  }
  return factory(config, host_dir_mount);
}

}  // namespace berth::storage
