#include "release/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

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

}  // namespace

Result<ArchiveSummary> WalkArchive(
    int fd, const TarLimits& limits,
    const std::function<Status(const CheckedEntry&, const ReadData& read)>& each) {
  auto a = OpenArchive(fd);
  if (!a) return Fail(a.error());
  TarChecker checker(limits);
  archive_entry* e = nullptr;
  while (true) {
    int r = archive_read_next_header(a->get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return Fail(ArchiveError(a->get(), "reading the archive"));
    CheckedEntry c;
    c.entry = EntryOf(e);
    auto parts = checker.Check(c.entry);
    if (!parts) return Fail(parts.error());
    c.parts = std::move(*parts);
    ReadData read = [&](const BlockSink& sink) -> Status {
      const void* buf = nullptr;
      size_t size = 0;
      la_int64_t offset = 0;
      while (true) {
        int rr = archive_read_data_block(a->get(), &buf, &size, &offset);
        if (rr == ARCHIVE_EOF) return {};
        if (rr < ARCHIVE_WARN) return Fail(ArchiveError(a->get(), c.Shown("reading its data")));
        if (auto s = sink(offset, static_cast<const char*>(buf), size); !s) return s;
      }
    };
    if (auto s = each(c, read); !s) return Fail(s.error());
  }
  return ArchiveSummary{"", checker.files(), checker.bytes()};
}

Result<ArchiveSummary> CheckArchive(int fd, const TarLimits& limits) {
  auto sum = WalkArchive(fd, limits, [&](const CheckedEntry& c, const ReadData& read) -> Status {
    // Reading the data (not skipping it) finds a truncated archive here, before any write.
    if (c.entry.type == TarEntry::Type::kFile)
      return read([](int64_t, const char*, size_t) { return Status{}; });
    return {};
  });
  if (!sum) return sum;
  auto digest = Sha256Of(fd);
  if (!digest) return Fail(digest.error());
  sum->digest = *digest;
  return sum;
}

}  // namespace berth::release
