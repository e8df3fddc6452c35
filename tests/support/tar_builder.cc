#include "support/tar_builder.h"

#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <stdexcept>

namespace berth::testing {
namespace {

la_ssize_t Append(archive*, void* client, const void* buf, size_t n) {
  static_cast<std::string*>(client)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

}  // namespace

std::string BuildTar(const std::vector<TarItem>& items, bool gzip) {
  std::string out;
  std::unique_ptr<archive, decltype(&archive_write_free)> w(archive_write_new(),
                                                            archive_write_free);
  archive_write_set_format_pax_restricted(w.get());
  if (gzip) archive_write_add_filter_gzip(w.get());
  archive_write_set_bytes_in_last_block(w.get(), 1);
  if (archive_write_open(w.get(), &out, nullptr, &Append, nullptr) != ARCHIVE_OK)
    throw std::runtime_error(archive_error_string(w.get()));
  for (const auto& it : items) {
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(),
                                                                    archive_entry_free);
    archive_entry_set_pathname(e.get(), it.path.c_str());
    archive_entry_set_perm(e.get(), it.mode);
    archive_entry_set_mtime(e.get(), 1700000000, 0);
    switch (it.type) {
      case TarItem::Type::kFile:
        archive_entry_set_filetype(e.get(), AE_IFREG);
        archive_entry_set_size(e.get(), it.size_override >= 0
                                            ? it.size_override
                                            : static_cast<int64_t>(it.content.size()));
        break;
      case TarItem::Type::kDir:
        archive_entry_set_filetype(e.get(), AE_IFDIR);
        break;
      case TarItem::Type::kSymlink:
        archive_entry_set_filetype(e.get(), AE_IFLNK);
        archive_entry_set_symlink(e.get(), it.link.c_str());
        break;
      case TarItem::Type::kHardlink:
        archive_entry_set_filetype(e.get(), AE_IFREG);
        archive_entry_set_hardlink(e.get(), it.link.c_str());
        break;
      case TarItem::Type::kCharDevice:
        archive_entry_set_filetype(e.get(), AE_IFCHR);
        archive_entry_set_rdev(e.get(), 0x0103);
        break;
      case TarItem::Type::kFifo:
        archive_entry_set_filetype(e.get(), AE_IFIFO);
        break;
    }
    if (archive_write_header(w.get(), e.get()) < ARCHIVE_WARN)
      throw std::runtime_error(archive_error_string(w.get()));
    if (it.type == TarItem::Type::kFile && !it.content.empty())
      archive_write_data(w.get(), it.content.data(), it.content.size());
  }
  archive_write_close(w.get());
  return out;
}

}  // namespace berth::testing
