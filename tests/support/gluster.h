// A real single-node GlusterFS for integration tests: Debian's glusterd (glusterfs-server) with
// its working, run and log directories in a temp dir, one volume with a `force` brick in that
// temp dir, optionally FUSE-mounted (glusterfs-client) when /dev/fuse is there.
//
//   if (GlusterServer::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_GLUSTER=1";
//   auto gluster = GlusterServer::Start();
//   ASSERT_TRUE(gluster.has_value()) << gluster.error().message;
//   // libgfapi: (*gluster)->host(), port(), volume(); files: brick_dir(), mount_dir()
//
// What cannot be made test-local (docs/storage.md, "Testing"):
// - the gluster CLI refuses bricks on 127.0.0.1/localhost, and bricks fetch their volfile from
//   port 24007 whatever glusterd listens on. So glusterd and the brick bind a random address in
//   127.0.0.0/8 (never 127.0.0.1) on port 24007; the address is checked free first.
// - glusterd creates /var/lib/glusterd/{geo-replication,ss_brick} and /run/gluster/{snaps,
//   <brick>.socket} whatever its working directory is. Entries that were not there before
//   Start() are removed by the destructor.
// Needs root (glusterd stores trusted.* xattrs on the brick).
#pragma once

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "berth/result.h"
#include "util/fs.h"
#include "util/process.h"

namespace berth::testing {

struct GlusterServerOptions {
  std::string volume = "gv0";
  enum class Fuse { kIfAvailable, kRequired, kNever };
  Fuse fuse = Fuse::kIfAvailable;
  // `gluster volume set` before start. Metadata caching is off so that every client (libgfapi,
  // the mount, the brick) sees a change at once; the mount is made without kernel caching too.
  std::vector<std::pair<std::string, std::string>> volume_set = {
      {"performance.stat-prefetch", "off"}};
  std::chrono::milliseconds start_timeout{60000};
};

class GlusterServer {
 public:
  // Starts glusterd, creates and starts the volume, waits for the brick to be online, and
  // mounts it if asked. kUnavailable (with glusterd's log tail) on any failure.
  static Result<std::unique_ptr<GlusterServer>> Start(GlusterServerOptions opts = {});
  // True when BERTH_TEST_SKIP_GLUSTER=1: the only case in which a test may skip.
  static bool SkipRequested();

  // Unmounts, stops and deletes the volume, stops glusterd and its brick, removes what it made.
  ~GlusterServer();
  GlusterServer(const GlusterServer&) = delete;
  GlusterServer& operator=(const GlusterServer&) = delete;

  const std::string& host() const { return host_; }  // glusterd's and the brick's address
  int port() const { return 24007; }
  std::string server() const { return host_ + ":24007"; }  // for Config::gluster_server
  const std::string& volume() const { return opts_.volume; }
  const std::string& brick_dir() const { return brick_dir_; }  // the volume's files, on disk
  // The FUSE mount of the volume; "" when not mounted (fuse_note() says why).
  const std::string& mount_dir() const { return mount_dir_; }
  bool mounted() const { return !mount_dir_.empty(); }
  const std::string& fuse_note() const { return fuse_note_; }
  const std::string& dir() const { return dir_->path(); }

  // Runs the gluster CLI against this glusterd: Cli({"volume", "info"}).
  Result<util::CommandResult> Cli(const std::vector<std::string>& args);
  std::string LogTail(size_t bytes = 4000) const;

 private:
  GlusterServer() = default;
  Status Launch();
  Status WaitForGlusterd();
  Status CreateVolume();
  Status WaitBrickOnline();
  Status Mount();
  void Shutdown();
  void KillLeftoverBricks();
  void RemoveSystemLeftovers();

  GlusterServerOptions opts_;
  std::unique_ptr<util::TempDir> dir_;  // destroyed last
  std::string host_;
  std::string brick_dir_;
  std::string mount_point_;  // where a mount is attempted
  std::string mount_dir_;    // set once mounted
  std::string fuse_note_;
  std::string glusterd_log_;
  bool volume_created_ = false;
  util::Subprocess glusterd_;
  // Top-level entries of the system directories glusterd writes to, before it started.
  std::vector<std::pair<std::string, std::set<std::string>>> system_before_;
};

}  // namespace berth::testing
