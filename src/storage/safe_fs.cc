#include "storage/safe_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace berth::storage {
namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;

}  // namespace

bool PlainName(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

Result<std::vector<std::string>> ListDirAt(int fd) {
  int dup_fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return Fail(ErrnoError(errno, "dup"));
  DIR* dir = ::fdopendir(dup_fd);
  if (dir == nullptr) {
    int err = errno;
    ::close(dup_fd);
    return Fail(ErrnoError(err, "fdopendir"));
  }
  ::rewinddir(dir);
  std::vector<std::string> names;
  errno = 0;
  while (dirent* e = ::readdir(dir)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
    errno = 0;
  }
  int err = errno;
  ::closedir(dir);
  if (err != 0) return Fail(ErrnoError(err, "readdir"));
  return names;
}

namespace {

Status RemoveTreeAtImpl(int dirfd, dev_t parent_dev, const std::string& name,
                        const std::string& shown) {
  struct stat st {};
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return {};
    return Fail(ErrnoError(errno, "stat " + shown));
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlinkat(dirfd, name.c_str(), 0) != 0 && errno != ENOENT)
      return Fail(ErrnoError(errno, "unlink " + shown));
    return {};
  }
  if (st.st_dev != parent_dev)
    return Fail(ErrorCode::kPermissionDenied, shown + " is a mount point; not removing it");
  int raw = ::openat(dirfd, name.c_str(), kDirFlags | O_NOFOLLOW);
  if (raw < 0) {
    if (errno == ENOENT) return {};
    return Fail(ErrnoError(errno, "open " + shown));
  }
  util::UniqueFd fd(raw);
  auto names = ListDirAt(fd.get());
  if (!names) return Fail(Wrap(names.error(), shown));
  for (const auto& child : *names) {
    if (auto s = RemoveTreeAtImpl(fd.get(), st.st_dev, child, shown + "/" + child); !s) return s;
  }
  if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    return Fail(ErrnoError(errno, "rmdir " + shown));
  return {};
}

}  // namespace

Error ErrnoError(int err, const std::string& what) {
  ErrorCode code = ErrorCode::kInternal;
  switch (err) {
    case ENOENT:
      code = ErrorCode::kNotFound;
      break;
    case EACCES:
    case EPERM:
    case EROFS:
    case ELOOP:
      code = ErrorCode::kPermissionDenied;
      break;
    case EEXIST:
      code = ErrorCode::kAlreadyExists;
      break;
    case ENOTCONN:
    case ECONNREFUSED:
    case EHOSTUNREACH:
    case ETIMEDOUT:
    case EIO:
      code = ErrorCode::kUnavailable;
      break;
    default:
      break;
  }
  return Error{code, what + ": " + std::strerror(err)};
}

Result<util::UniqueFd> OpenRootDir(const std::string& path) {
  int fd = ::open(path.c_str(), kDirFlags);
  if (fd < 0) return Fail(ErrnoError(errno, "open " + path));
  return util::UniqueFd(fd);
}

Result<util::UniqueFd> OpenDirNoFollow(int dirfd, const std::string& name) {
  if (!PlainName(name))
    return Fail(ErrorCode::kInvalidArgument, "not a plain path component: \"" + name + "\"");
  int fd = ::openat(dirfd, name.c_str(), kDirFlags | O_NOFOLLOW);
  if (fd >= 0) return util::UniqueFd(fd);
  int err = errno;
  if (err == ELOOP || err == ENOTDIR)
    return Fail(ErrorCode::kPermissionDenied,
                name + " is a symlink or not a directory; refusing to use it");
  return Fail(ErrnoError(err, "open " + name));
}

Result<util::UniqueFd> MakeDirsBelow(int rootfd, const std::vector<std::string>& parts,
                                     mode_t mode) {
  util::UniqueFd cur;
  int at = rootfd;
  for (const auto& part : parts) {
    if (!PlainName(part))
      return Fail(ErrorCode::kInvalidArgument, "not a plain path component: \"" + part + "\"");
    bool created = ::mkdirat(at, part.c_str(), mode) == 0;
    if (!created && errno != EEXIST) return Fail(ErrnoError(errno, "mkdir " + part));
    auto next = OpenDirNoFollow(at, part);
    if (!next) return Fail(next.error());
    // mkdir applied the umask; the volume must be exactly `mode` (the original's 0755).
    if (created && ::fchmod(next->get(), mode) != 0)
      return Fail(ErrnoError(errno, "chmod " + part));
    cur = std::move(*next);
    at = cur.get();
  }
  if (!cur) return Fail(ErrorCode::kInvalidArgument, "no path components");
  return cur;
}

Result<util::UniqueFd> OpenDirsBelow(int rootfd, const std::vector<std::string>& parts) {
  util::UniqueFd cur;
  int at = rootfd;
  for (const auto& part : parts) {
    auto next = OpenDirNoFollow(at, part);
    if (!next) return Fail(next.error());
    cur = std::move(*next);
    at = cur.get();
  }
  if (!cur) return Fail(ErrorCode::kInvalidArgument, "no path components");
  return cur;
}

Status RemoveTreeAt(int dirfd, const std::string& name) {
  if (!PlainName(name))
    return Fail(ErrorCode::kInvalidArgument, "not a plain path component: \"" + name + "\"");
  struct stat parent {};
  if (::fstat(dirfd, &parent) != 0) return Fail(ErrnoError(errno, "stat parent of " + name));
  return RemoveTreeAtImpl(dirfd, parent.st_dev, name, name);
}

}  // namespace berth::storage
