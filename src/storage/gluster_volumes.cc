#include "storage/gluster_volumes.h"

#include <cctype>
#include <charconv>
#include <utility>

#include "berth/validate.h"

#ifdef BERTH_HAVE_GFAPI
#include "storage/glfs_connection.h"
#include "storage/gluster_dir.h"
#endif

namespace berth::storage {
namespace {

Result<int> ParsePort(const std::string& s, const std::string& whole) {
  int port = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), port);
  if (ec != std::errc() || p != s.data() + s.size() || port < 1 || port > 65535)
    return Fail(ErrorCode::kInvalidArgument, "gluster server \"" + whole + "\": bad port");
  return port;
}

}  // namespace

Result<HostPort> ParseGlusterServer(const std::string& s, int default_port) {
  HostPort hp{s, default_port};
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string::npos)
      return Fail(ErrorCode::kInvalidArgument, "gluster server \"" + s + "\": missing ']'");
    hp.host = s.substr(1, close - 1);
    std::string rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        return Fail(ErrorCode::kInvalidArgument, "gluster server \"" + s + "\": junk after ']'");
      auto port = ParsePort(rest.substr(1), s);
      if (!port) return Fail(port.error());
      hp.port = *port;
    }
  } else if (auto colon = s.find(':');
             colon != std::string::npos && s.find(':', colon + 1) == std::string::npos) {
    hp.host = s.substr(0, colon);
    auto port = ParsePort(s.substr(colon + 1), s);
    if (!port) return Fail(port.error());
    hp.port = *port;
  }
  if (hp.host.empty()) return Fail(ErrorCode::kInvalidArgument, "gluster server is empty");
  if (!ValidateHostIp(hp.host) && !ValidateDomain(hp.host))
    return Fail(ErrorCode::kInvalidArgument,
                "gluster server \"" + s + "\" is neither an IP address nor a DNS name");
  return hp;
}

Status ValidateGlusterVolumeName(const std::string& name) {
  if (name.empty() || name.size() > 64)
    return Fail(ErrorCode::kInvalidArgument, "gluster volume name must be 1-64 characters");
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
      return Fail(ErrorCode::kInvalidArgument,
                  "gluster volume name \"" + name + "\" may hold only letters, digits, - and _");
  }
  return {};
}

#ifdef BERTH_HAVE_GFAPI

GlusterVolumes::GlusterVolumes(GlusterVolumesOptions opts) : opts_(std::move(opts)) {}
GlusterVolumes::~GlusterVolumes() = default;

Result<std::unique_ptr<GlusterVolumes>> GlusterVolumes::Create(GlusterVolumesOptions opts) {
  if (auto s = ValidateHostIp(opts.server); !s && !ValidateDomain(opts.server))
    return Fail(ErrorCode::kInvalidArgument,
                "gluster server \"" + opts.server + "\" is neither an IP address nor a DNS name");
  if (opts.port < 1 || opts.port > 65535)
    return Fail(ErrorCode::kInvalidArgument, "gluster port must be 1-65535");
  if (auto s = ValidateGlusterVolumeName(opts.volume); !s) return Fail(s.error());
  if (opts.mount_root.empty() || opts.mount_root.front() != '/')
    return Fail(ErrorCode::kInvalidArgument,
                "gluster mount (where the volume is mounted on each host) must be an absolute "
                "path");
  while (opts.mount_root.size() > 1 && opts.mount_root.back() == '/') opts.mount_root.pop_back();
  return std::unique_ptr<GlusterVolumes>(new GlusterVolumes(std::move(opts)));
}

template <typename Op>
auto GlusterVolumes::WithConnection(Op op) -> decltype(op(std::declval<GlfsConnection&>())) {
  GlfsParams params{opts_.server, opts_.port, opts_.volume, opts_.log_file};
  for (int attempt = 0;; ++attempt) {
    if (!conn_) {
      auto c = GlfsConnection::Open(params);
      if (!c) return Fail(c.error());
      conn_ = std::move(*c);
    }
    auto r = op(*conn_);
    // A connection cached from before a glusterd restart may be dead: retry once on a new one.
    if (r || r.error().code != ErrorCode::kUnavailable || attempt > 0) return r;
    conn_.reset();
  }
}

namespace {

std::string MarkerPath(const std::vector<std::string>& parts) {
  std::string path;
  for (size_t i = 0; i + 1 < parts.size(); ++i) path += "/" + parts[i];
  return path + "/." + parts.back() + ".installation";
}

// The installation recorded for the volume, "" if none is.
Result<std::string> ReadOwner(GlfsConnection& c, const std::vector<std::string>& parts) {
  auto text = c.ReadFile(MarkerPath(parts));
  if (!text) return text.error().code == ErrorCode::kNotFound ? std::string() : text;
  std::string id = *text;
  while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
  return id;
}

}  // namespace

Result<VolumeMount> GlusterVolumes::Ensure(const EnvironmentSpec& spec) {
  auto parts = VolumeComponents(spec, opts_.layout, opts_.default_namespace);
  if (!parts) return Fail(parts.error());
  if (spec.volume_mount.empty()) return VolumeMount{};
  std::lock_guard lock(mu_);
  auto s = WithConnection([&](GlfsConnection& c) -> Status {
    if (!installation_.empty()) {
      // Claimed before the directory is made; O_EXCL: of two installations racing, one wins.
      std::vector<std::string> parents(parts->begin(), parts->end() - 1);
      if (!parents.empty())
        if (auto m = c.MakeDirs(parents, 0755); !m) return m;
      auto w = c.WriteFile(MarkerPath(*parts), installation_ + "\n", 0644, /*exclusive=*/true);
      if (!w && w.error().code != ErrorCode::kAlreadyExists) return w;
      auto owner = ReadOwner(c, *parts);
      if (!owner) return Fail(owner.error());
      if (*owner != installation_)
        return Fail(ErrorCode::kAlreadyExists, "gluster volume directory /" +
                                                   JoinComponents(*parts) +
                                                   " belongs to another Berth installation (" +
                                                   *owner + "; this is " + installation_ + ")");
    }
    return c.MakeDirs(*parts, 0755);
  });
  if (!s) return Fail(Wrap(s.error(), "creating gluster volume directory for " + spec.Key()));
  return VolumeMount{opts_.kind, opts_.mount_root + "/" + JoinComponents(*parts),
                     spec.volume_mount};
}

Result<std::unique_ptr<VolumeDir>> GlusterVolumes::OpenDir(const EnvironmentSpec& spec) {
  auto parts = VolumeComponents(spec, opts_.layout, opts_.default_namespace);
  if (!parts) return Fail(parts.error());
  std::lock_guard lock(mu_);
  auto dir = WithConnection([&](GlfsConnection&) { return OpenGlusterDir(conn_, *parts); });
  if (!dir) return Fail(Wrap(dir.error(), "gluster volume directory of " + spec.Key()));
  return dir;
}

Status GlusterVolumes::Remove(const EnvironmentSpec& spec) {
  auto parts = VolumeComponents(spec, opts_.layout, opts_.default_namespace);
  if (!parts) return Fail(parts.error());
  std::lock_guard lock(mu_);
  std::string path = "/" + JoinComponents(*parts);
  auto s = WithConnection([&](GlfsConnection& c) -> Status {
    // The parents must be real directories too, or the removal could land elsewhere.
    std::string prefix;
    for (size_t i = 0; i + 1 < parts->size(); ++i) {
      prefix += "/" + (*parts)[i];
      auto st = c.Lstat(prefix);
      if (!st) return st.error().code == ErrorCode::kNotFound ? Status{} : Fail(st.error());
      if (!S_ISDIR(st->st_mode))
        return Fail(ErrorCode::kPermissionDenied, prefix + " is a symlink or not a directory");
    }
    if (!installation_.empty()) {
      auto owner = ReadOwner(c, *parts);
      if (!owner) return Fail(owner.error());
      if (!owner->empty() && *owner != installation_) return Status{};  // another's data
    }
    if (auto r = c.RemoveTree(path); !r) return r;
    return installation_.empty() ? Status{} : c.RemoveTree(MarkerPath(*parts));
  });
  if (!s) return Fail(Wrap(s.error(), "removing gluster volume directory of " + spec.Key()));
  return {};
}

#endif  // BERTH_HAVE_GFAPI

}  // namespace berth::storage
