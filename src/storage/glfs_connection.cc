#ifdef BERTH_HAVE_GFAPI

#include "storage/glfs_connection.h"

#include <dirent.h>
#include <fcntl.h>

#include <cerrno>
#include <cstring>

#include "storage/safe_fs.h"

namespace berth::storage {
namespace {

// Closes a glfs_fd_t (file or directory) when it goes out of scope.
struct GlfsFdCloser {
  void operator()(glfs_fd_t* fd) const {
    if (fd != nullptr) ::glfs_close(fd);
  }
};
struct GlfsDirCloser {
  void operator()(glfs_fd_t* fd) const {
    if (fd != nullptr) ::glfs_closedir(fd);
  }
};
using GlfsFile = std::unique_ptr<glfs_fd_t, GlfsFdCloser>;
using GlfsDir = std::unique_ptr<glfs_fd_t, GlfsDirCloser>;

std::string JoinPath(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

}  // namespace

Result<std::unique_ptr<GlfsConnection>> GlfsConnection::Open(const GlfsParams& p) {
  glfs_t* fs = ::glfs_new(p.volume.c_str());
  if (fs == nullptr) return Fail(ErrnoError(errno, "glfs_new " + p.volume));
  // Owned from here on: glfs_fini is needed even when glfs_init fails.
  std::unique_ptr<GlfsConnection> conn(new GlfsConnection(fs));
  std::string where = p.server + ":" + std::to_string(p.port) + "/" + p.volume;
  if (::glfs_set_volfile_server(fs, "tcp", p.server.c_str(), p.port) != 0)
    return Fail(ErrnoError(errno, "glfs_set_volfile_server " + where));
  if (!p.log_file.empty() && ::glfs_set_logging(fs, p.log_file.c_str(), p.log_level) != 0)
    return Fail(ErrnoError(errno, "glfs_set_logging " + p.log_file));
  if (::glfs_init(fs) != 0) {
    int err = errno;
    Error e = ErrnoError(err, "connecting to gluster volume " + where);
    e.code = ErrorCode::kUnavailable;
    return Fail(e);
  }
  return conn;
}

GlfsConnection::~GlfsConnection() {
  if (fs_ != nullptr) ::glfs_fini(fs_);
}

Result<struct stat> GlfsConnection::Lstat(const std::string& path) {
  struct stat st {};
  if (::glfs_lstat(fs_, path.c_str(), &st) != 0) return Fail(ErrnoError(errno, "lstat " + path));
  return st;
}

Status GlfsConnection::MakeDirs(const std::vector<std::string>& parts, mode_t mode) {
  std::string path = "/";
  for (const auto& part : parts) {
    if (part.empty() || part == "." || part == ".." || part.find('/') != std::string::npos)
      return Fail(ErrorCode::kInvalidArgument, "not a plain path component: \"" + part + "\"");
    path = JoinPath(path, part);
    bool created = ::glfs_mkdir(fs_, path.c_str(), mode) == 0;
    if (!created && errno != EEXIST) return Fail(ErrnoError(errno, "mkdir " + path));
    // Checked after every step: the next mkdir would otherwise resolve through a symlink.
    auto st = Lstat(path);
    if (!st) return Fail(st.error());
    if (!S_ISDIR(st->st_mode))
      return Fail(ErrorCode::kPermissionDenied,
                  path + " is a symlink or not a directory; refusing to use it");
    if (created && (st->st_mode & 07777) != mode && ::glfs_chmod(fs_, path.c_str(), mode) != 0)
      return Fail(ErrnoError(errno, "chmod " + path));
  }
  return {};
}

Result<std::vector<std::string>> GlfsConnection::ListDir(const std::string& path) {
  GlfsDir dir(::glfs_opendir(fs_, path.c_str()));
  if (!dir) return Fail(ErrnoError(errno, "opendir " + path));
  std::vector<std::string> names;
  // gfapi's advice: 512 bytes hold a dirent on every system it is tested on.
  alignas(struct dirent) char buf[512];
  auto* entry = reinterpret_cast<struct dirent*>(buf);
  for (;;) {
    struct dirent* result = nullptr;
    int rc = ::glfs_readdir_r(dir.get(), entry, &result);
    if (rc != 0) return Fail(ErrnoError(rc > 0 ? rc : errno, "readdir " + path));
    if (result == nullptr) break;
    std::string n = result->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  return names;
}

Status GlfsConnection::RemoveTree(const std::string& path) {
  auto st = Lstat(path);
  if (!st) return st.error().code == ErrorCode::kNotFound ? Status{} : Fail(st.error());
  if (!S_ISDIR(st->st_mode)) {
    if (::glfs_unlink(fs_, path.c_str()) != 0 && errno != ENOENT)
      return Fail(ErrnoError(errno, "unlink " + path));
    return {};
  }
  // List first, then delete: the directory stream is closed before anything changes.
  auto names = ListDir(path);
  if (!names) return Fail(names.error());
  for (const auto& n : *names) {
    if (auto s = RemoveTree(JoinPath(path, n)); !s) return s;
  }
  if (::glfs_rmdir(fs_, path.c_str()) != 0 && errno != ENOENT)
    return Fail(ErrnoError(errno, "rmdir " + path));
  return {};
}

Status GlfsConnection::WriteFile(const std::string& path, const std::string& content, mode_t mode,
                                 bool exclusive) {
  int flags = O_WRONLY | O_CREAT | (exclusive ? O_EXCL | O_NOFOLLOW : O_TRUNC);
  GlfsFile fd(::glfs_creat(fs_, path.c_str(), flags, mode));
  if (!fd) return Fail(ErrnoError(errno, "create " + path));
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::glfs_write(fd.get(), content.data() + done, content.size() - done, 0);
    if (n < 0) return Fail(ErrnoError(errno, "write " + path));
    done += static_cast<size_t>(n);
  }
  if (::glfs_close(fd.release()) != 0) return Fail(ErrnoError(errno, "close " + path));
  return {};
}

Result<std::string> GlfsConnection::ReadFile(const std::string& path) {
  GlfsFile fd(::glfs_open(fs_, path.c_str(), O_RDONLY));
  if (!fd) return Fail(ErrnoError(errno, "open " + path));
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::glfs_read(fd.get(), buf, sizeof buf, 0);
    if (n < 0) return Fail(ErrnoError(errno, "read " + path));
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace berth::storage

#endif  // BERTH_HAVE_GFAPI
