#ifdef BERTH_HAVE_GFAPI

#include "storage/gluster_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <glusterfs/api/glfs-handles.h>
#include <glusterfs/api/glfs.h>
#include <sys/stat.h>

#include <cerrno>
#include <utility>

#include "storage/glfs_connection.h"
#include "storage/safe_fs.h"

namespace berth::storage {
namespace {

struct ObjectCloser {
  void operator()(glfs_object* o) const {
    if (o != nullptr) ::glfs_h_close(o);
  }
};
using Object = std::unique_ptr<glfs_object, ObjectCloser>;
struct FdCloser {
  void operator()(glfs_fd_t* fd) const {
    if (fd != nullptr) ::glfs_close(fd);
  }
};
using File = std::unique_ptr<glfs_fd_t, FdCloser>;
struct DirCloser {
  void operator()(glfs_fd_t* fd) const {
    if (fd != nullptr) ::glfs_closedir(fd);
  }
};
using DirStream = std::unique_ptr<glfs_fd_t, DirCloser>;

Status RequirePlain(const std::string& name) {
  if (PlainName(name)) return {};
  return Fail(ErrorCode::kInvalidArgument, "not a plain path component: \"" + name + "\"");
}

std::string Join(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

// The object `name` in `parent`, not following a symlink; nullptr with errno set on failure.
Object LookupNoFollow(glfs_t* fs, glfs_object* parent, const std::string& name, struct stat* st) {
  return Object(::glfs_h_lookupat(fs, parent, name.c_str(), st, /*follow=*/0));
}

class GlusterFile final : public VolumeFile {
 public:
  GlusterFile(std::shared_ptr<GlfsConnection> conn, Object obj, File fd, std::string path)
      : conn_(std::move(conn)), obj_(std::move(obj)), fd_(std::move(fd)), path_(std::move(path)) {}

  Status WriteAt(int64_t offset, const char* data, size_t n) override {
    while (n > 0) {
      ssize_t w =
          ::glfs_pwrite(fd_.get(), data, n, static_cast<off_t>(offset), 0, nullptr, nullptr);
      if (w < 0) {
        if (errno == EINTR) continue;
        return Fail(ErrnoError(errno, "write " + path_));
      }
      if (w == 0) return Fail(ErrorCode::kInternal, "write " + path_ + ": nothing written");
      data += w;
      n -= static_cast<size_t>(w);
      offset += w;
    }
    return {};
  }
  // Write-behind may hold data back until the close: its error is the write's.
  Status Close() override {
    if (::glfs_close(fd_.release()) != 0) return Fail(ErrnoError(errno, "close " + path_));
    return {};
  }
  Status Truncate(int64_t size) override {
    if (::glfs_ftruncate(fd_.get(), static_cast<off_t>(size), nullptr, nullptr) != 0)
      return Fail(ErrnoError(errno, "truncate " + path_));
    return {};
  }
  Status Chmod(mode_t mode) override {
    if (::glfs_fchmod(fd_.get(), mode) != 0) return Fail(ErrnoError(errno, "chmod " + path_));
    return {};
  }

 private:
  std::shared_ptr<GlfsConnection> conn_;  // outlives the handles below (declared first)
  Object obj_;
  File fd_;
  std::string path_;
};

class GlusterDir final : public VolumeDir {
 public:
  GlusterDir(std::shared_ptr<GlfsConnection> conn, Object obj, std::string path)
      : conn_(std::move(conn)), obj_(std::move(obj)), path_(std::move(path)) {}

  const std::string& path() const override { return path_; }

  Result<EntryType> TypeOf(const std::string& name) override {
    if (auto s = RequirePlain(name); !s) return Fail(s.error());
    struct stat st {};
    Object o = LookupNoFollow(fs(), obj_.get(), name, &st);
    if (!o) {
      if (errno == ENOENT) return EntryType::kMissing;
      return Fail(ErrnoError(errno, "lookup " + Shown(name)));
    }
    if (S_ISDIR(st.st_mode)) return EntryType::kDir;
    if (S_ISREG(st.st_mode)) return EntryType::kFile;
    if (S_ISLNK(st.st_mode)) return EntryType::kSymlink;
    return EntryType::kOther;
  }

  Result<std::unique_ptr<VolumeDir>> OpenDir(const std::string& name) override {
    if (auto s = RequirePlain(name); !s) return Fail(s.error());
    struct stat st {};
    Object o = LookupNoFollow(fs(), obj_.get(), name, &st);
    if (!o) return Fail(ErrnoError(errno, "lookup " + Shown(name)));
    if (!S_ISDIR(st.st_mode))
      return Fail(ErrorCode::kPermissionDenied,
                  Shown(name) + " is a symlink or not a directory; refusing to use it");
    return std::unique_ptr<VolumeDir>(new GlusterDir(conn_, std::move(o), Shown(name)));
  }

  Status MakeDir(const std::string& name, mode_t mode) override {
    if (auto s = RequirePlain(name); !s) return s;
    struct stat st {};
    Object o(::glfs_h_mkdir(fs(), obj_.get(), name.c_str(), mode, &st));
    if (!o) return Fail(ErrnoError(errno, "mkdir " + Shown(name)));
    return {};
  }

  Result<std::unique_ptr<VolumeFile>> CreateFile(const std::string& name) override {
    if (auto s = RequirePlain(name); !s) return Fail(s.error());
    struct stat st {};
    // O_EXCL: never opens what is there already, a planted symlink included.
    Object o(
        ::glfs_h_creat(fs(), obj_.get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600, &st));
    if (!o) return Fail(ErrnoError(errno, "create " + Shown(name)));
    File fd(::glfs_h_open(fs(), o.get(), O_WRONLY));
    if (!fd) return Fail(ErrnoError(errno, "open " + Shown(name)));
    return std::unique_ptr<VolumeFile>(
        new GlusterFile(conn_, std::move(o), std::move(fd), Shown(name)));
  }

  Status Symlink(const std::string& target, const std::string& name) override {
    if (auto s = RequirePlain(name); !s) return s;
    struct stat st {};
    Object o(::glfs_h_symlink(fs(), obj_.get(), name.c_str(), target.c_str(), &st));
    if (!o) return Fail(ErrnoError(errno, "symlink " + Shown(name)));
    return {};
  }

  Status Link(VolumeDir& from, const std::string& from_name, const std::string& name) override {
    auto* src = dynamic_cast<GlusterDir*>(&from);
    if (src == nullptr || src->fs() != fs())
      return Fail(ErrorCode::kInvalidArgument,
                  "link " + Shown(name) + ": not a directory of the same gluster volume");
    if (auto s = RequirePlain(from_name); !s) return s;
    if (auto s = RequirePlain(name); !s) return s;
    struct stat st {};
    Object target = LookupNoFollow(fs(), src->obj_.get(), from_name, &st);
    if (!target) return Fail(ErrnoError(errno, "lookup " + src->Shown(from_name)));
    if (S_ISDIR(st.st_mode))
      return Fail(ErrorCode::kInvalidArgument,
                  "link " + Shown(name) + ": " + src->Shown(from_name) + " is a directory");
    if (::glfs_h_link(fs(), target.get(), obj_.get(), name.c_str()) != 0)
      return Fail(ErrnoError(errno, "link " + src->Shown(from_name) + " to " + Shown(name)));
    return {};
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (auto s = RequirePlain(from); !s) return s;
    if (auto s = RequirePlain(to); !s) return s;
    if (::glfs_h_rename(fs(), obj_.get(), from.c_str(), obj_.get(), to.c_str()) != 0)
      return Fail(ErrnoError(errno, "rename " + Shown(from) + " to " + to));
    return {};
  }

  Result<std::string> ReadLink(const std::string& name) override {
    if (auto s = RequirePlain(name); !s) return Fail(s.error());
    struct stat st {};
    Object o = LookupNoFollow(fs(), obj_.get(), name, &st);
    if (!o) return Fail(ErrnoError(errno, "lookup " + Shown(name)));
    if (!S_ISLNK(st.st_mode))
      return Fail(ErrorCode::kInvalidArgument, Shown(name) + " is no symlink");
    char buf[4096];
    int n = ::glfs_h_readlink(fs(), o.get(), buf, sizeof buf);
    if (n < 0) return Fail(ErrnoError(errno, "readlink " + Shown(name)));
    return std::string(buf, static_cast<size_t>(n));
  }

  Status Unlink(const std::string& name) override {
    if (auto s = RequirePlain(name); !s) return s;
    // glfs_h_unlink removes a directory too: look first, as unlink(2) would refuse.
    auto type = TypeOf(name);
    if (!type) return Fail(type.error());
    if (*type == EntryType::kMissing)
      return Fail(ErrorCode::kNotFound, "unlink " + Shown(name) + ": no such file");
    if (*type == EntryType::kDir)
      return Fail(ErrorCode::kInvalidArgument, "unlink " + Shown(name) + ": is a directory");
    if (::glfs_h_unlink(fs(), obj_.get(), name.c_str()) != 0)
      return Fail(ErrnoError(errno, "unlink " + Shown(name)));
    return {};
  }

  Status RemoveTree(const std::string& name) override {
    if (auto s = RequirePlain(name); !s) return s;
    auto type = TypeOf(name);
    if (!type) return Fail(type.error());
    if (*type == EntryType::kMissing) return {};
    if (*type == EntryType::kDir) {
      auto dir = OpenDir(name);
      if (!dir) return Fail(dir.error());
      // Listed first, then deleted: the directory stream is closed before anything changes.
      auto names = (*dir)->List();
      if (!names) return Fail(names.error());
      for (const auto& n : *names)
        if (auto s = (*dir)->RemoveTree(n); !s) return s;
    }
    // Removes a symlink itself (by name in this directory), a directory once empty.
    if (::glfs_h_unlink(fs(), obj_.get(), name.c_str()) != 0 && errno != ENOENT)
      return Fail(ErrnoError(errno, "remove " + Shown(name)));
    return {};
  }

  Result<std::vector<std::string>> List() override {
    DirStream dir(::glfs_h_opendir(fs(), obj_.get()));
    if (!dir) return Fail(ErrnoError(errno, "opendir " + path_));
    std::vector<std::string> names;
    // gfapi's advice: 512 bytes hold a dirent on every system it is tested on.
    alignas(struct dirent) char buf[512];
    auto* entry = reinterpret_cast<struct dirent*>(buf);
    for (;;) {
      struct dirent* result = nullptr;
      int rc = ::glfs_readdir_r(dir.get(), entry, &result);
      if (rc != 0) return Fail(ErrnoError(rc > 0 ? rc : errno, "readdir " + path_));
      if (result == nullptr) break;
      std::string n = result->d_name;
      if (n != "." && n != "..") names.push_back(std::move(n));
    }
    return names;
  }

  Status Chmod(mode_t mode) override {
    struct stat st {};
    st.st_mode = mode;
    if (::glfs_h_setattrs(fs(), obj_.get(), &st, GFAPI_SET_ATTR_MODE) != 0)
      return Fail(ErrnoError(errno, "chmod " + path_));
    return {};
  }

  // Entry operations (mkdir, create, link, rename) have completed on the bricks when gfapi
  // returns, and file data is flushed by each file's Close: nothing is left to sync.
  Status Sync() override { return {}; }

 private:
  glfs_t* fs() const { return conn_->fs(); }
  std::string Shown(const std::string& name) const { return Join(path_, name); }

  std::shared_ptr<GlfsConnection> conn_;  // outlives obj_ (declared first)
  Object obj_;
  std::string path_;  // inside the volume, "/default/web/releases"
};

}  // namespace

Result<std::unique_ptr<VolumeDir>> OpenGlusterDir(std::shared_ptr<GlfsConnection> conn,
                                                  const std::vector<std::string>& parts) {
  struct stat st {};
  Object root(::glfs_h_lookupat(conn->fs(), nullptr, "/", &st, 0));
  if (!root) return Fail(ErrnoError(errno, "lookup / of the gluster volume"));
  std::unique_ptr<VolumeDir> dir(new GlusterDir(std::move(conn), std::move(root), "/"));
  for (const auto& part : parts) {
    auto next = dir->OpenDir(part);
    if (!next) return Fail(next.error());
    dir = std::move(*next);
  }
  return dir;
}

}  // namespace berth::storage

#endif  // BERTH_HAVE_GFAPI
