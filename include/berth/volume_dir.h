// VolumeDir: a directory inside an environment's volume as this server writes it, for code
// releases (release/code_tree.h). The container owns its volume and may plant symlinks
// anywhere in it, so a VolumeDir is reached without following any, and every operation takes
// a single name relative to it and never follows a symlink either. Each volume driver that
// can write its volumes implements it its own way (VolumeProvider::OpenDir): the dir driver
// with directory file descriptors (openat, O_NOFOLLOW), the gluster driver with libgfapi
// object handles (no mount needed). Errors name the path.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "berth/result.h"

namespace berth {

// A file created by VolumeDir::CreateFile, open for writing; closed on destruction (Close to
// see the error of a write the backend deferred).
class VolumeFile {
 public:
  virtual ~VolumeFile() = default;
  virtual Status Close() = 0;
  // Writes all of data[0, n) at `offset` (a sparse file's holes are left unwritten).
  virtual Status WriteAt(int64_t offset, const char* data, size_t n) = 0;
  virtual Status Truncate(int64_t size) = 0;
  virtual Status Chmod(mode_t mode) = 0;
};

class VolumeDir {
 public:
  enum class EntryType { kMissing, kDir, kFile, kSymlink, kOther };

  virtual ~VolumeDir() = default;
  // Where this directory is, for messages ("/srv/apps/default/web/releases").
  virtual const std::string& path() const = 0;

  // What `name` is, not following a symlink (kMissing when there is nothing).
  virtual Result<EntryType> TypeOf(const std::string& name) = 0;
  // Opens the directory `name`; a symlink or a non-directory is kPermissionDenied, a missing
  // entry kNotFound.
  virtual Result<std::unique_ptr<VolumeDir>> OpenDir(const std::string& name) = 0;
  // mkdir; kAlreadyExists when anything is at `name`.
  virtual Status MakeDir(const std::string& name, mode_t mode) = 0;
  // A new regular file, mode 0600 until Chmod (kAlreadyExists when anything is at `name`).
  virtual Result<std::unique_ptr<VolumeFile>> CreateFile(const std::string& name) = 0;
  virtual Status Symlink(const std::string& target, const std::string& name) = 0;
  // Hard-links from/from_name (itself, were it a symlink) as `name` here. `from` is a
  // directory of the same volume, opened by the same driver.
  virtual Status Link(VolumeDir& from, const std::string& from_name, const std::string& name) = 0;
  // rename(2) within this directory: replaces a non-directory at `to` atomically.
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  // The target of the symlink `name`; kInvalidArgument when it is not a symlink.
  virtual Result<std::string> ReadLink(const std::string& name) = 0;
  // Removes the non-directory `name` (a symlink itself, never its target).
  virtual Status Unlink(const std::string& name) = 0;
  // Removes `name` with everything under it, symlinks themselves. OK when missing.
  virtual Status RemoveTree(const std::string& name) = 0;
  // Names in this directory, without "." and "..".
  virtual Result<std::vector<std::string>> List() = 0;
  // This directory's permission bits.
  virtual Status Chmod(mode_t mode) = 0;
  // Makes the entries of this directory durable (fsync), where the backend needs it.
  virtual Status Sync() = 0;
};

}  // namespace berth
