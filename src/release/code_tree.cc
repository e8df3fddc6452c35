#include "release/code_tree.h"

#include <algorithm>
#include <random>
#include <utility>

namespace berth::release {
namespace {

using EntryType = VolumeDir::EntryType;

// Walks (creating as directories when `create`) parts[0..n) below `root`, never following a
// symlink. Returns the last directory (nullptr for n == 0: root itself).
Result<std::unique_ptr<VolumeDir>> WalkDirs(VolumeDir& root, const std::vector<std::string>& parts,
                                            size_t n, bool create) {
  std::unique_ptr<VolumeDir> cur;
  for (size_t i = 0; i < n; ++i) {
    VolumeDir& at = cur ? *cur : root;
    if (create)
      if (auto s = at.MakeDir(parts[i], 0755); !s && s.error().code != ErrorCode::kAlreadyExists)
        return Fail(s.error());
    auto next = at.OpenDir(parts[i]);
    if (!next) return Fail(next.error());
    cur = std::move(*next);
  }
  return cur;
}

// Removes whatever non-directory is at dir/name so that an entry given twice is replaced.
Status ClearSpot(VolumeDir& dir, const std::string& name) {
  auto type = dir.TypeOf(name);
  if (!type) return Fail(type.error());
  if (*type == EntryType::kMissing) return {};
  if (*type == EntryType::kDir)
    return Fail(ErrorCode::kInvalidArgument, name + " is a directory earlier in the archive");
  return dir.Unlink(name);
}

Status WriteFile(VolumeDir& dir, const CheckedEntry& c, const ReadData& read, mode_t mode) {
  const std::string& leaf = c.parts.back();
  if (auto s = ClearSpot(dir, leaf); !s) return s;
  auto out = dir.CreateFile(leaf);
  if (!out) return Fail(out.error());
  int64_t end = 0;
  auto s = read([&](int64_t offset, const char* data, size_t n) -> Status {
    end = offset + static_cast<int64_t>(n);
    return (*out)->WriteAt(offset, data, n);
  });
  if (!s) return s;
  // A sparse file may end in a hole.
  if (end < c.entry.size)
    if (auto t = (*out)->Truncate(c.entry.size); !t) return t;
  if (auto m = (*out)->Chmod(mode); !m) return m;
  return (*out)->Close();
}

Status ExtractEntry(VolumeDir& root, const CheckedEntry& c, const ReadData& read,
                    const TarLimits& limits) {
  if (c.parts.empty()) return {};  // "./" itself
  auto parent = WalkDirs(root, c.parts, c.parts.size() - 1, true);
  if (!parent) return Fail(Wrap(parent.error(), c.Shown("its directory")));
  VolumeDir& dir = *parent ? **parent : root;
  const std::string& leaf = c.parts.back();
  const mode_t mode = static_cast<mode_t>(c.entry.mode & 0777);
  Status s;
  switch (c.entry.type) {
    case TarEntry::Type::kDir: {
      if (auto m = dir.MakeDir(leaf, 0755); !m && m.error().code != ErrorCode::kAlreadyExists)
        return Fail(Wrap(m.error(), c.Shown("mkdir")));
      auto d = dir.OpenDir(leaf);
      if (!d) return Fail(Wrap(d.error(), c.Shown("open")));
      // Owner rwx kept: later entries are written inside it.
      s = (*d)->Chmod(mode | 0700);
      break;
    }
    case TarEntry::Type::kFile:
      s = WriteFile(dir, c, read, mode);
      break;
    case TarEntry::Type::kSymlink:
      s = ClearSpot(dir, leaf);
      if (s) s = dir.Symlink(c.entry.link, leaf);
      break;
    case TarEntry::Type::kHardlink: {
      auto target = EntryComponents(c.entry.link, limits);
      if (!target || target->empty()) return Fail(ErrorCode::kInvalidArgument, c.Shown("bad link"));
      auto tdir = WalkDirs(root, *target, target->size() - 1, false);
      if (!tdir) return Fail(Wrap(tdir.error(), c.Shown("its link target")));
      s = ClearSpot(dir, leaf);
      // A symlink at the target is linked itself, never followed.
      if (s) s = dir.Link(*tdir ? **tdir : root, target->back(), leaf);
      break;
    }
    default:
      return Fail(ErrorCode::kInvalidArgument, c.Shown("unsupported entry type"));
  }
  if (!s) return Fail(Error{s.error().code, c.Shown(s.error().message)});
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

Result<CodeTree> CodeTree::Open(std::unique_ptr<VolumeDir> volume) {
  CodeTree t;
  t.volume_ = std::move(volume);
  for (const char* d : {"releases", "shared"})
    if (auto s = t.volume_->MakeDir(d, 0755); !s && s.error().code != ErrorCode::kAlreadyExists)
      return Fail(s.error());
  auto r = t.volume_->OpenDir("releases");
  if (!r) return Fail(r.error());
  t.releases_ = std::move(*r);
  // shared/ must be a real directory too: a symlink there is the container's doing.
  if (auto s = t.volume_->OpenDir("shared"); !s) return Fail(s.error());
  return t;
}

Status CodeTree::Extract(int fd, const std::string& id, const TarLimits& limits) {
  if (!IsReleaseId(id)) return Fail(ErrorCode::kInvalidArgument, "bad release id " + id);
  if (Has(id)) return Fail(ErrorCode::kAlreadyExists, "release directory " + id + " exists");
  // Anything else under the id (a link the container planted) is not renamed over either.
  if (auto type = releases_->TypeOf(id); !type || *type != EntryType::kMissing)
    return Fail(type ? Error{ErrorCode::kAlreadyExists,
                             releases_->path() + "/" + id + " exists and is no release directory"}
                     : type.error());
  const std::string partial = ".partial-" + id;
  if (auto s = releases_->RemoveTree(partial); !s) return s;
  if (auto s = releases_->MakeDir(partial, 0755); !s) return s;
  auto dir = releases_->OpenDir(partial);
  if (!dir) return Fail(dir.error());
  Status s;
  if (auto walked = WalkArchive(fd, limits,
                                [&](const CheckedEntry& c, const ReadData& read) {
                                  return ExtractEntry(**dir, c, read, limits);
                                });
      !walked)
    s = Fail(walked.error());
  if (s) s = (*dir)->Sync();
  if (s) s = releases_->Rename(partial, id);
  if (!s) releases_->RemoveTree(partial);
  return s;
}

Status CodeTree::Switch(const std::string& id) {
  if (!IsReleaseId(id)) return Fail(ErrorCode::kInvalidArgument, "bad release id " + id);
  if (!Has(id)) return Fail(ErrorCode::kNotFound, "release directory releases/" + id + " is gone");
  // A directory named current is not ours to replace (rename(2) would refuse it anyway).
  const std::string not_ours = path() +
                               "/current is a directory, not the release symlink; move it away "
                               "to deploy code releases";
  if (auto type = volume_->TypeOf("current"); type && *type == EntryType::kDir)
    return Fail(ErrorCode::kFailed, not_ours);
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  const std::string tmp = ".current-" + std::to_string(rng());
  if (auto s = volume_->Symlink("releases/" + id, tmp); !s) return s;
  // rename(2) replaces a symlink atomically.
  if (auto s = volume_->Rename(tmp, "current"); !s) {
    volume_->Unlink(tmp);
    if (auto type = volume_->TypeOf("current"); type && *type == EntryType::kDir)
      return Fail(ErrorCode::kFailed, not_ours);
    return s;
  }
  volume_->Sync();
  return {};
}

Result<std::string> CodeTree::Current() {
  auto target = volume_->ReadLink("current");
  if (!target) {
    auto code = target.error().code;
    // None, or not a symlink.
    if (code == ErrorCode::kNotFound || code == ErrorCode::kInvalidArgument) return std::string();
    return Fail(target.error());
  }
  if (target->rfind("releases/", 0) != 0) return std::string();
  std::string id = target->substr(9);
  return IsReleaseId(id) ? id : std::string();
}

bool CodeTree::Has(const std::string& id) {
  if (!IsReleaseId(id)) return false;
  auto type = releases_->TypeOf(id);
  return type && *type == EntryType::kDir;
}

Status CodeTree::RemoveCurrent() {
  auto type = volume_->TypeOf("current");
  if (!type) return Fail(type.error());
  if (*type != EntryType::kSymlink) return {};  // none, or not ours
  if (auto s = volume_->Unlink("current"); !s && s.error().code != ErrorCode::kNotFound) return s;
  return {};
}

Result<std::vector<std::string>> CodeTree::Collect(size_t keep,
                                                   const std::vector<std::string>& keep_ids) {
  auto names = releases_->List();
  if (!names) return Fail(names.error());
  std::vector<std::pair<int64_t, std::string>> ids;
  std::vector<std::string> partials;
  for (const auto& n : *names) {
    if (n.rfind(".partial-", 0) == 0) partials.push_back(n);
    if (IsReleaseId(n)) ids.push_back({ReleaseNumber(n), n});
  }
  std::sort(ids.begin(), ids.end());
  std::sort(partials.begin(), partials.end());
  std::vector<std::string> removed;
  for (const auto& p : partials) {
    if (auto s = releases_->RemoveTree(p); !s) return Fail(s.error());
    removed.push_back(p);
  }
  for (size_t i = 0; i + keep < ids.size(); ++i) {
    const std::string& id = ids[i].second;
    if (std::find(keep_ids.begin(), keep_ids.end(), id) != keep_ids.end()) continue;
    if (auto s = releases_->RemoveTree(id); !s) return Fail(s.error());
    removed.push_back(id);
  }
  return removed;
}

}  // namespace berth::release
