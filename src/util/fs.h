// Small filesystem helpers. Writes that others read are atomic (temp file + fsync + rename).
#pragma once

#include <sys/types.h>
#include <string>

#include "berth/result.h"

namespace berth::util {

Result<std::string> ReadFile(const std::string& path);
// Writes to path.tmp.<pid>, fsyncs, renames over path.
Status WriteFileAtomic(const std::string& path, const std::string& content, mode_t mode = 0644);
Status MakeDirs(const std::string& path, mode_t mode = 0755);
Status RemoveAll(const std::string& path);
bool PathExists(const std::string& path);

// A directory removed (recursively) on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "berth");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  void Keep() { keep_ = true; }

 private:
  std::string path_;
  bool keep_ = false;
};

// An owned file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.Release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  int Release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace berth::util
