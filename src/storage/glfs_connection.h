// An owned libgfapi "virtual mount" of one Gluster volume (glfs_new ... glfs_init, glfs_fini on
// destruction) and the few filesystem calls the gluster driver needs, as Results.
#pragma once

#ifdef BERTH_HAVE_GFAPI

#include <glusterfs/api/glfs.h>
#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include "berth/result.h"

namespace berth::storage {

struct GlfsParams {
  std::string server = "127.0.0.1";  // glusterd host
  int port = 24007;                  // glusterd management port
  std::string volume = "gv0";
  std::string log_file;  // libgfapi's own log; "" = the library's default place
  int log_level = 4;     // GF_LOG_ERROR
};

class GlfsConnection {
 public:
  // Connects and fetches the volume layout; kUnavailable when glusterd or the volume is not
  // reachable (glfs_init failed).
  static Result<std::unique_ptr<GlfsConnection>> Open(const GlfsParams& params);
  ~GlfsConnection();
  GlfsConnection(const GlfsConnection&) = delete;
  GlfsConnection& operator=(const GlfsConnection&) = delete;

  glfs_t* fs() const { return fs_; }

  // Paths are absolute inside the volume ("/default/web").
  Result<struct stat> Lstat(const std::string& path);
  // mkdir -p of `parts` below the volume root; every component must end up a real directory
  // (a symlink is refused with kPermissionDenied). New directories get exactly `mode`.
  Status MakeDirs(const std::vector<std::string>& parts, mode_t mode);
  // Removes path and everything under it, symlinks themselves rather than their targets.
  // OK if missing.
  Status RemoveTree(const std::string& path);
  // Writes a whole file (create or truncate). `exclusive`: only if it does not exist yet
  // (kAlreadyExists otherwise), never through a symlink.
  Status WriteFile(const std::string& path, const std::string& content, mode_t mode = 0644,
                   bool exclusive = false);
  Result<std::string> ReadFile(const std::string& path);

 private:
  explicit GlfsConnection(glfs_t* fs) : fs_(fs) {}
  Result<std::vector<std::string>> ListDir(const std::string& path);

  glfs_t* fs_ = nullptr;
};

}  // namespace berth::storage

#endif  // BERTH_HAVE_GFAPI
