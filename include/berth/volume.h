// VolumeProvider: the persistent directory mounted at /apps, kept across rebuilds.
#pragma once

#include <memory>
#include <string>

#include "berth/environment.h"
#include "berth/result.h"
#include "berth/volume_dir.h"

namespace berth {

struct VolumeMount {
  enum class Kind { kNone, kBind, kHostPath, kClaim };
  Kind kind = Kind::kNone;
  std::string source;  // host directory (bind / hostPath) or PVC name (claim)
  std::string target;  // path in the container, "/apps"
};

class VolumeProvider {
 public:
  virtual ~VolumeProvider() = default;
  virtual std::string Name() const = 0;
  // Creates the volume if missing (idempotent) and says how to mount it.
  virtual Result<VolumeMount> Ensure(const EnvironmentSpec& spec) = 0;
  // Removes the volume and its data (only on delete --purge). OK if missing.
  virtual Status Remove(const EnvironmentSpec& spec) = 0;
  // The volume's directory as this server writes code releases into it (release/code_tree.h),
  // reached without following a symlink inside the volume (berth/volume_dir.h).
  // kUnavailable for a driver whose volumes this server cannot write.
  virtual Result<std::unique_ptr<VolumeDir>> OpenDir(const EnvironmentSpec& spec) {
    return Fail(ErrorCode::kUnavailable,
                "the " + Name() + " volume driver keeps " + spec.Key() +
                    "'s volume where this server cannot write a code release");
  }
  // This installation's id, set once before use. Drivers that can record an owner refuse a
  // volume recorded for another id (Ensure) and never delete one (Remove). "" = no owners.
  virtual void SetInstallation(const std::string& id) { (void)id; }
};

}  // namespace berth
