#include "storage/local_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "storage/safe_fs.h"
#include "util/fs.h"

namespace berth::storage {
namespace {

Status RequirePlain(const std::string& name) {
  if (PlainName(name)) return {};
  return Fail(ErrorCode::kInvalidArgument, "not a plain path component: \"" + name + "\"");
}

class LocalFile final : public VolumeFile {
 public:
  LocalFile(util::UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}

  Status WriteAt(int64_t offset, const char* data, size_t n) override {
    while (n > 0) {
      ssize_t w = ::pwrite(fd_.get(), data, n, static_cast<off_t>(offset));
      if (w < 0) {
        if (errno == EINTR) continue;
        return Fail(ErrnoError(errno, "write " + path_));
      }
      data += w;
      n -= static_cast<size_t>(w);
      offset += w;
    }
    return {};
  }
  Status Close() override {
    if (::close(fd_.Release()) != 0) return Fail(ErrnoError(errno, "close " + path_));
    return {};
  }
  Status Truncate(int64_t size) override {
    if (::ftruncate(fd_.get(), static_cast<off_t>(size)) != 0)
      return Fail(ErrnoError(errno, "truncate " + path_));
    return {};
  }
  Status Chmod(mode_t mode) override {
    if (::fchmod(fd_.get(), mode) != 0) return Fail(ErrnoError(errno, "chmod " + path_));
    return {};
  }

 private:
  util::UniqueFd fd_;
  std::string path_;
};

class LocalDir final : public VolumeDir {
 public:
  LocalDir(util::UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}

  const std::string& path() const override { return path_; }

  Result<EntryType> TypeOf(const std::string& name) override {
    if (auto s = RequirePlain(name); !s) return Fail(s.error());
    struct stat st {};
    if (::fstatat(fd_.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return EntryType::kMissing;
      return Fail(ErrnoError(errno, "stat " + Shown(name)));
    }
    if (S_ISDIR(st.st_mode)) return EntryType::kDir;
    if (S_ISREG(st.st_mode)) return EntryType::kFile;
    if (S_ISLNK(st.st_mode)) return EntryType::kSymlink;
    return EntryType::kOther;
  }

  Result<std::unique_ptr<VolumeDir>> OpenDir(const std::string& name) override {
    auto fd = OpenDirNoFollow(fd_.get(), name);
    if (!fd) return Fail(Wrap(fd.error(), path_));
    return std::unique_ptr<VolumeDir>(new LocalDir(std::move(*fd), Shown(name)));
  }

  Status MakeDir(const std::string& name, mode_t mode) override {
    if (auto s = RequirePlain(name); !s) return s;
    if (::mkdirat(fd_.get(), name.c_str(), mode) != 0)
      return Fail(ErrnoError(errno, "mkdir " + Shown(name)));
    return {};
  }

  Result<std::unique_ptr<VolumeFile>> CreateFile(const std::string& name) override {
    if (auto s = RequirePlain(name); !s) return Fail(s.error());
    util::UniqueFd out(::openat(fd_.get(), name.c_str(),
                                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out) return Fail(ErrnoError(errno, "create " + Shown(name)));
    return std::unique_ptr<VolumeFile>(new LocalFile(std::move(out), Shown(name)));
  }

  Status Symlink(const std::string& target, const std::string& name) override {
    if (auto s = RequirePlain(name); !s) return s;
    if (::symlinkat(target.c_str(), fd_.get(), name.c_str()) != 0)
      return Fail(ErrnoError(errno, "symlink " + Shown(name)));
    return {};
  }

  Status Link(VolumeDir& from, const std::string& from_name, const std::string& name) override {
    auto* src = dynamic_cast<LocalDir*>(&from);
    if (src == nullptr)
      return Fail(ErrorCode::kInvalidArgument, "link " + Shown(name) + ": not a local directory");
    if (auto s = RequirePlain(from_name); !s) return s;
    if (auto s = RequirePlain(name); !s) return s;
    // flags 0: a symlink at the source is linked itself, never followed.
    if (::linkat(src->fd_.get(), from_name.c_str(), fd_.get(), name.c_str(), 0) != 0)
      return Fail(ErrnoError(errno, "link " + src->Shown(from_name) + " to " + Shown(name)));
    return {};
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (auto s = RequirePlain(from); !s) return s;
    if (auto s = RequirePlain(to); !s) return s;
    if (::renameat(fd_.get(), from.c_str(), fd_.get(), to.c_str()) != 0)
      return Fail(ErrnoError(errno, "rename " + Shown(from) + " to " + to));
    return {};
  }

  Result<std::string> ReadLink(const std::string& name) override {
    if (auto s = RequirePlain(name); !s) return Fail(s.error());
    char buf[4096];
    ssize_t n = ::readlinkat(fd_.get(), name.c_str(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINVAL) return Fail(ErrorCode::kInvalidArgument, Shown(name) + " is no symlink");
      return Fail(ErrnoError(errno, "readlink " + Shown(name)));
    }
    return std::string(buf, static_cast<size_t>(n));
  }

  Status Unlink(const std::string& name) override {
    if (auto s = RequirePlain(name); !s) return s;
    if (::unlinkat(fd_.get(), name.c_str(), 0) != 0)
      return Fail(ErrnoError(errno, "unlink " + Shown(name)));
    return {};
  }

  Status RemoveTree(const std::string& name) override {
    if (auto s = RemoveTreeAt(fd_.get(), name); !s) return Fail(Wrap(s.error(), path_));
    return {};
  }

  Result<std::vector<std::string>> List() override {
    auto names = ListDirAt(fd_.get());
    if (!names) return Fail(Wrap(names.error(), path_));
    return names;
  }

  Status Chmod(mode_t mode) override {
    if (::fchmod(fd_.get(), mode) != 0) return Fail(ErrnoError(errno, "chmod " + path_));
    return {};
  }

  Status Sync() override {
    if (::fsync(fd_.get()) != 0) return Fail(ErrnoError(errno, "fsync " + path_));
    return {};
  }

 private:
  std::string Shown(const std::string& name) const { return path_ + "/" + name; }

  util::UniqueFd fd_;
  std::string path_;
};

}  // namespace

Result<std::unique_ptr<VolumeDir>> OpenLocalDir(const std::string& path) {
  auto fd = OpenRootDir(path);
  if (!fd) return Fail(fd.error());
  return std::unique_ptr<VolumeDir>(new LocalDir(std::move(*fd), path));
}

}  // namespace berth::storage
