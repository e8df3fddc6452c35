#include "release/code_tree.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <random>

#include "storage/safe_fs.h"

namespace berth::release {
namespace {

using storage::ErrnoError;

struct ArchiveFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveFree>;

Result<ArchivePtr> OpenArchive(int fd) {
  if (::lseek(fd, 0, SEEK_SET) != 0) return Fail(ErrnoError(errno, "rewinding the archive"));
  ArchivePtr a(archive_read_new());
  if (!a) return Fail(ErrorCode::kInternal, "archive_read_new failed");
  archive_read_support_filter_gzip(a.get());
  archive_read_support_filter_bzip2(a.get());
  archive_read_support_filter_xz(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  if (archive_read_open_fd(a.get(), fd, 64 * 1024) != ARCHIVE_OK) {
    // libarchive may fail without a message (NULL): a truncated gzip header did, and the
    // string built from it ended the server (found by the tar_check fuzz target).
    const char* m = archive_error_string(a.get());
    return Fail(ErrorCode::kInvalidArgument,
                std::string("not a tar archive: ") + (m ? m : "unreadable header"));
  }
  return a;
}

Error ArchiveError(archive* a, const std::string& what) {
  const char* m = archive_error_string(a);
  return Error{ErrorCode::kInvalidArgument,
               what + ": " + (m ? m : "the archive is truncated or corrupt")};
}

TarEntry EntryOf(archive_entry* e) {
  TarEntry t;
  const char* p = archive_entry_pathname(e);
  t.path = p ? p : "";
  t.mode = static_cast<uint32_t>(archive_entry_mode(e)) & 07777;
  t.size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
  if (const char* h = archive_entry_hardlink(e)) {
    t.type = TarEntry::Type::kHardlink;
    t.link = h;
    return t;
  }
  switch (archive_entry_filetype(e)) {
    case AE_IFREG:
      t.type = TarEntry::Type::kFile;
      break;
    case AE_IFDIR:
      t.type = TarEntry::Type::kDir;
      break;
    case AE_IFLNK: {
      t.type = TarEntry::Type::kSymlink;
      const char* l = archive_entry_symlink(e);
      t.link = l ? l : "";
      break;
    }
    case AE_IFCHR:
      t.type = TarEntry::Type::kCharDevice;
      break;
    case AE_IFBLK:
      t.type = TarEntry::Type::kBlockDevice;
      break;
    case AE_IFIFO:
      t.type = TarEntry::Type::kFifo;
      break;
    case AE_IFSOCK:
      t.type = TarEntry::Type::kSocket;
      break;
    default:
      t.type = TarEntry::Type::kOther;
  }
  return t;
}

Result<std::string> Sha256Of(int fd) {
  if (::lseek(fd, 0, SEEK_SET) != 0) return Fail(ErrnoError(errno, "rewinding the archive"));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
    return Fail(ErrorCode::kInternal, "sha256 init failed");
  std::vector<char> buf(256 * 1024);
  while (true) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(ErrnoError(errno, "reading the archive"));
    }
    if (n == 0) break;
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(n));
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  static const char* hex = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

// Walks (creating as directories when `create`) parts[0..n) below `root`, never following a
// symlink. Returns the last directory (a dup of root for n == 0).
Result<util::UniqueFd> WalkDirs(int root, const std::vector<std::string>& parts, size_t n,
                                bool create) {
  util::UniqueFd cur(::fcntl(root, F_DUPFD_CLOEXEC, 0));
  if (!cur) return Fail(ErrnoError(errno, "dup"));
  for (size_t i = 0; i < n; ++i) {
    if (create && ::mkdirat(cur.get(), parts[i].c_str(), 0755) != 0 && errno != EEXIST)
      return Fail(ErrnoError(errno, "mkdir " + parts[i]));
    auto next = storage::OpenDirNoFollow(cur.get(), parts[i]);
    if (!next) return Fail(next.error());
    cur = std::move(*next);
  }
  return cur;
}

// Removes whatever non-directory is at dir/name so that an entry given twice is replaced.
Status ClearSpot(int dir, const std::string& name) {
  struct stat st {};
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return errno == ENOENT ? Status{} : Fail(ErrnoError(errno, "stat " + name));
  if (S_ISDIR(st.st_mode))
    return Fail(ErrorCode::kInvalidArgument, name + " is a directory earlier in the archive");
  if (::unlinkat(dir, name.c_str(), 0) != 0) return Fail(ErrnoError(errno, "unlink " + name));
  return {};
}

Status WriteAll(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Fail(ErrnoError(errno, "write"));
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return {};
}

Status ExtractInto(int fd, int root, const TarLimits& limits) {
  auto a = OpenArchive(fd);
  if (!a) return Fail(a.error());
  TarChecker checker(limits);
  archive_entry* e = nullptr;
  while (true) {
    int r = archive_read_next_header(a->get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return Fail(ArchiveError(a->get(), "reading the archive"));
    const TarEntry t = EntryOf(e);
    auto parts = checker.Check(t);  // again: the bytes on disk may not be those checked
    if (!parts) return Fail(parts.error());
    if (parts->empty()) continue;  // "./" itself
    auto shown = [&](const std::string& why) { return "archive entry \"" + t.path + "\": " + why; };
    auto parent = WalkDirs(root, *parts, parts->size() - 1, true);
    if (!parent) return Fail(Wrap(parent.error(), shown("its directory")));
    const std::string& leaf = parts->back();
    const mode_t mode = static_cast<mode_t>(t.mode & 0777);
    switch (t.type) {
      case TarEntry::Type::kDir: {
        if (::mkdirat(parent->get(), leaf.c_str(), 0755) != 0 && errno != EEXIST)
          return Fail(ErrnoError(errno, shown("mkdir")));
        auto d = storage::OpenDirNoFollow(parent->get(), leaf);
        if (!d) return Fail(Wrap(d.error(), shown("open")));
        // Owner rwx kept: later entries are written inside it.
        if (::fchmod(d->get(), mode | 0700) != 0) return Fail(ErrnoError(errno, shown("chmod")));
        break;
      }
      case TarEntry::Type::kFile: {
        if (auto s = ClearSpot(parent->get(), leaf); !s) return Fail(Wrap(s.error(), shown("")));
        util::UniqueFd out(::openat(parent->get(), leaf.c_str(),
                                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!out) return Fail(ErrnoError(errno, shown("create")));
        const void* buf = nullptr;
        size_t size = 0;
        la_int64_t offset = 0;
        int64_t written = 0;
        while (true) {
          int rr = archive_read_data_block(a->get(), &buf, &size, &offset);
          if (rr == ARCHIVE_EOF) break;
          if (rr < ARCHIVE_WARN) return Fail(ArchiveError(a->get(), shown("reading its data")));
          // Sparse files come as blocks with offsets; holes are written as zeros by seeking.
          if (offset != written && ::lseek(out.get(), offset, SEEK_SET) < 0)
            return Fail(ErrnoError(errno, shown("seek")));
          if (auto s = WriteAll(out.get(), static_cast<const char*>(buf), size); !s)
            return Fail(Wrap(s.error(), shown("")));
          written = offset + static_cast<int64_t>(size);
        }
        if (written < t.size && ::ftruncate(out.get(), t.size) != 0)
          return Fail(ErrnoError(errno, shown("truncate")));
        if (::fchmod(out.get(), mode) != 0) return Fail(ErrnoError(errno, shown("chmod")));
        break;
      }
      case TarEntry::Type::kSymlink:
        if (auto s = ClearSpot(parent->get(), leaf); !s) return Fail(Wrap(s.error(), shown("")));
        if (::symlinkat(t.link.c_str(), parent->get(), leaf.c_str()) != 0)
          return Fail(ErrnoError(errno, shown("symlink")));
        break;
      case TarEntry::Type::kHardlink: {
        auto target = EntryComponents(t.link, limits);
        if (!target || target->empty()) return Fail(ErrorCode::kInvalidArgument, shown("bad link"));
        auto tdir = WalkDirs(root, *target, target->size() - 1, false);
        if (!tdir) return Fail(Wrap(tdir.error(), shown("its link target")));
        if (auto s = ClearSpot(parent->get(), leaf); !s) return Fail(Wrap(s.error(), shown("")));
        // flags 0: a symlink at the target is linked itself, never followed.
        if (::linkat(tdir->get(), target->back().c_str(), parent->get(), leaf.c_str(), 0) != 0)
          return Fail(ErrnoError(errno, shown("link")));
        break;
      }
      default:
        return Fail(ErrorCode::kInvalidArgument, shown("unsupported entry type"));
    }
  }
  return {};
}

bool IsReleaseId(const std::string& name) {
  return ReleaseNumber(name) > 0;
}

}  // namespace

int64_t ReleaseNumber(const std::string& id) {
  if (id.size() < 2 || id.size() > 19 || id[0] != 'r' || id[1] == '0') return 0;
  int64_t n = 0;
  for (size_t i = 1; i < id.size(); ++i) {
    if (id[i] < '0' || id[i] > '9') return 0;
    n = n * 10 + (id[i] - '0');
  }
  return n;
}

Result<ArchiveSummary> CheckArchive(int fd, const TarLimits& limits) {
  auto a = OpenArchive(fd);
  if (!a) return Fail(a.error());
  TarChecker checker(limits);
  archive_entry* e = nullptr;
  while (true) {
    int r = archive_read_next_header(a->get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return Fail(ArchiveError(a->get(), "reading the archive"));
    TarEntry t = EntryOf(e);
    auto parts = checker.Check(t);
    if (!parts) return Fail(parts.error());
    // Reading the data (not skipping it) finds a truncated archive here, before any write.
    if (t.type == TarEntry::Type::kFile) {
      const void* buf = nullptr;
      size_t size = 0;
      la_int64_t offset = 0;
      while (true) {
        int rr = archive_read_data_block(a->get(), &buf, &size, &offset);
        if (rr == ARCHIVE_EOF) break;
        if (rr < ARCHIVE_WARN)
          return Fail(ArchiveError(a->get(), "archive entry \"" + t.path + "\""));
      }
    }
  }
  auto digest = Sha256Of(fd);
  if (!digest) return Fail(digest.error());
  return ArchiveSummary{*digest, checker.files(), checker.bytes()};
}

Result<CodeTree> CodeTree::Open(const std::string& volume_path) {
  CodeTree t;
  t.path_ = volume_path;
  auto v = storage::OpenRootDir(volume_path);
  if (!v) return Fail(v.error());
  t.volume_ = std::move(*v);
  for (const char* d : {"releases", "shared"})
    if (::mkdirat(t.volume_.get(), d, 0755) != 0 && errno != EEXIST)
      return Fail(ErrnoError(errno, "mkdir " + volume_path + "/" + d));
  auto r = storage::OpenDirNoFollow(t.volume_.get(), "releases");
  if (!r) return Fail(Wrap(r.error(), volume_path + "/releases"));
  t.releases_ = std::move(*r);
  // shared/ must be a real directory too: a symlink there is the container's doing.
  if (auto s = storage::OpenDirNoFollow(t.volume_.get(), "shared"); !s)
    return Fail(Wrap(s.error(), volume_path + "/shared"));
  return t;
}

Status CodeTree::Extract(int fd, const std::string& id, const TarLimits& limits) {
  if (!IsReleaseId(id)) return Fail(ErrorCode::kInvalidArgument, "bad release id " + id);
  if (Has(id)) return Fail(ErrorCode::kAlreadyExists, "release directory " + id + " exists");
  const std::string partial = ".partial-" + id;
  if (auto s = storage::RemoveTreeAt(releases_.get(), partial); !s) return s;
  if (::mkdirat(releases_.get(), partial.c_str(), 0755) != 0)
    return Fail(ErrnoError(errno, "mkdir releases/" + partial));
  auto dir = storage::OpenDirNoFollow(releases_.get(), partial);
  if (!dir) return Fail(dir.error());
  Status s = ExtractInto(fd, dir->get(), limits);
  if (s && ::fsync(dir->get()) != 0) s = Fail(ErrnoError(errno, "fsync"));
  if (s && ::renameat(releases_.get(), partial.c_str(), releases_.get(), id.c_str()) != 0)
    s = Fail(ErrnoError(errno, "rename releases/" + partial));
  if (!s) storage::RemoveTreeAt(releases_.get(), partial);
  return s;
}

Status CodeTree::Switch(const std::string& id) {
  if (!IsReleaseId(id)) return Fail(ErrorCode::kInvalidArgument, "bad release id " + id);
  if (!Has(id)) return Fail(ErrorCode::kNotFound, "release directory releases/" + id + " is gone");
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  const std::string tmp = ".current-" + std::to_string(rng());
  const std::string target = "releases/" + id;
  if (::symlinkat(target.c_str(), volume_.get(), tmp.c_str()) != 0)
    return Fail(ErrnoError(errno, "symlink " + tmp));
  // rename(2) replaces a symlink atomically; a directory named current is not ours to replace.
  if (::renameat(volume_.get(), tmp.c_str(), volume_.get(), "current") != 0) {
    int err = errno;
    ::unlinkat(volume_.get(), tmp.c_str(), 0);
    if (err == EISDIR || err == ENOTEMPTY || err == EEXIST)
      return Fail(ErrorCode::kFailed, path_ +
                                          "/current is a directory, not the release symlink; "
                                          "move it away to deploy code releases");
    return Fail(ErrnoError(err, "rename " + tmp + " to current"));
  }
  ::fsync(volume_.get());
  return {};
}

Result<std::string> CodeTree::Current() {
  char buf[256];
  ssize_t n = ::readlinkat(volume_.get(), "current", buf, sizeof buf - 1);
  if (n < 0) {
    if (errno == ENOENT || errno == EINVAL) return std::string();  // none, or not a symlink
    return Fail(ErrnoError(errno, "readlink current"));
  }
  std::string target(buf, static_cast<size_t>(n));
  if (target.rfind("releases/", 0) != 0) return std::string();
  std::string id = target.substr(9);
  return IsReleaseId(id) ? id : std::string();
}

bool CodeTree::Has(const std::string& id) {
  struct stat st {};
  return IsReleaseId(id) && ::fstatat(releases_.get(), id.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
         S_ISDIR(st.st_mode);
}

Status CodeTree::RemoveCurrent() {
  char buf[8];
  if (::readlinkat(volume_.get(), "current", buf, sizeof buf) < 0) return {};  // not a symlink
  if (::unlinkat(volume_.get(), "current", 0) != 0 && errno != ENOENT)
    return Fail(ErrnoError(errno, "unlink current"));
  return {};
}

Result<std::vector<std::string>> CodeTree::Collect(size_t keep,
                                                   const std::vector<std::string>& keep_ids) {
  int dup_fd = ::fcntl(releases_.get(), F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return Fail(ErrnoError(errno, "dup"));
  DIR* dir = ::fdopendir(dup_fd);
  if (!dir) {
    ::close(dup_fd);
    return Fail(ErrnoError(errno, "fdopendir releases"));
  }
  ::rewinddir(dir);
  std::vector<std::pair<int64_t, std::string>> ids;
  std::vector<std::string> partials;
  while (dirent* e = ::readdir(dir)) {
    std::string n = e->d_name;
    if (n.rfind(".partial-", 0) == 0) partials.push_back(n);
    if (IsReleaseId(n)) ids.push_back({ReleaseNumber(n), n});
  }
  ::closedir(dir);
  std::sort(ids.begin(), ids.end());
  std::vector<std::string> removed;
  for (const auto& p : partials) {
    if (auto s = storage::RemoveTreeAt(releases_.get(), p); !s) return Fail(s.error());
    removed.push_back(p);
  }
  for (size_t i = 0; i + keep < ids.size(); ++i) {
    const std::string& id = ids[i].second;
    if (std::find(keep_ids.begin(), keep_ids.end(), id) != keep_ids.end()) continue;
    if (auto s = storage::RemoveTreeAt(releases_.get(), id); !s) return Fail(s.error());
    removed.push_back(id);
  }
  return removed;
}

}  // namespace berth::release
