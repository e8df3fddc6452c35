#include "confd/resource.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include <toml++/toml.h>

#include "confd/funcs.h"
#include "confd/log.h"
#include "util/fs.h"
#include "util/process.h"

namespace berth::confd {

namespace {

constexpr auto kCommandTimeout = std::chrono::seconds(60);

tl::unexpected<Error> Invalid(const std::string& file, const std::string& msg) {
  return Fail(ErrorCode::kInvalidArgument, file + ": " + msg);
}

Result<mode_t> ParseMode(const std::string& s) {
  // confd parses with base 0 ("0644"); an operator writing "644" means octal too.
  if (s.empty() || s.size() > 5) return Fail(ErrorCode::kInvalidArgument, "bad mode \"" + s + "\"");
  mode_t m = 0;
  for (char c : s) {
    if (c < '0' || c > '7') return Fail(ErrorCode::kInvalidArgument, "bad mode \"" + s + "\"");
    m = m * 8 + (c - '0');
  }
  if (m > 07777) return Fail(ErrorCode::kInvalidArgument, "bad mode \"" + s + "\"");
  return m;
}

// Removes the stage file unless asked to keep it.
class StageFile {
 public:
  StageFile(std::string path, bool keep) : path_(std::move(path)), keep_(keep) {}
  ~StageFile() {
    if (!path_.empty() && !keep_) ::unlink(path_.c_str());
  }
  StageFile(const StageFile&) = delete;
  StageFile& operator=(const StageFile&) = delete;
  const std::string& path() const { return path_; }
  void Consumed() { path_.clear(); }  // renamed over dest

 private:
  std::string path_;
  bool keep_;
};

}  // namespace

Result<ResourceConfig> ParseResourceFile(const std::string& toml_path, const Options& opts) {
  auto text = util::ReadFile(toml_path);
  if (!text) return Fail(ErrorCode::kInvalidArgument, text.error().message);
  return ParseResource(*text, toml_path, opts);
}

Result<ResourceConfig> ParseResource(std::string_view text, const std::string& toml_path,
                                     const Options& opts) {
  toml::table root;
  try {
    root = toml::parse(text, toml_path);
  } catch (const toml::parse_error& e) {
    return Invalid(toml_path, std::string("cannot parse: ") + std::string(e.description()) +
                                  " at line " + std::to_string(e.source().begin.line));
  } catch (const std::exception& e) {
    return Invalid(toml_path, e.what());
  }
  const toml::table* t = root["template"].as_table();
  if (!t) return Invalid(toml_path, "missing [template] table");
  ResourceConfig c;
  c.toml_path = toml_path;
  auto str = [&](const char* key, std::string* out) -> Status {
    const toml::node* n = t->get(key);
    if (!n) return {};
    auto v = n->value<std::string>();
    if (!v) return Invalid(toml_path, std::string(key) + " must be a string");
    *out = *v;
    return {};
  };
  std::string src, mode, prefix;
  for (auto [k, out] : {std::pair<const char*, std::string*>{"src", &src},
                        {"dest", &c.dest},
                        {"prefix", &prefix},
                        {"check_cmd", &c.check_cmd},
                        {"reload_cmd", &c.reload_cmd}}) {
    if (auto st = str(k, out); !st) return tl::unexpected(st.error());
  }
  if (const toml::node* n = t->get("mode")) {
    if (auto s = n->value<std::string>()) {
      mode = *s;
    } else if (auto i = n->value_exact<int64_t>()) {
      mode = std::to_string(*i);  // a bare 644 or 0644 in TOML is an integer
    } else {
      return Invalid(toml_path, "mode must be a string like \"0644\"");
    }
    auto m = ParseMode(mode);
    if (!m) return Invalid(toml_path, m.error().message);
    c.mode = *m;
  }
  for (auto [k, out] : {std::pair<const char*, int*>{"uid", &c.uid}, {"gid", &c.gid}}) {
    if (const toml::node* n = t->get(k)) {
      auto v = n->value_exact<int64_t>();  // never a float converted (UB when out of range)
      if (!v || *v < -1 || *v > 0x7fffffff)
        return Invalid(toml_path, std::string(k) + " must be an integer");
      *out = static_cast<int>(*v);
    }
  }
  if (const toml::node* n = t->get("keys")) {
    const toml::array* a = n->as_array();
    if (!a) return Invalid(toml_path, "keys must be an array of strings");
    for (const auto& e : *a) {
      auto v = e.value<std::string>();
      if (!v) return Invalid(toml_path, "keys must be an array of strings");
      c.keys.push_back(*v);
    }
  }
  if (src.empty()) return Invalid(toml_path, "src is required");
  if (c.dest.empty()) return Invalid(toml_path, "dest is required");
  // confd joins it under templates/ too; refuse climbing out of it. Checked on the joined path:
  // a leading '/' hides ".." from a check of src alone ("/../x" cleans to "/x").
  const std::string templates = JoinPath(opts.confdir, "templates");
  c.src = JoinPath(templates, src);
  if (c.src.rfind(templates + "/", 0) != 0)
    return Invalid(toml_path, "src must stay inside templates/");
  // The same for the key prefix: confd joins it under the global prefix (-prefix), and ".."
  // must not reach keys outside it (in an etcd shared with Berth's own records, for one).
  const std::string global = JoinPath("/", opts.prefix);
  c.prefix = JoinPath(global, prefix);
  if (global != "/" && c.prefix != global && c.prefix.rfind(global + "/", 0) != 0)
    return Invalid(toml_path, "prefix must stay inside the global prefix " + global);
  return c;
}

TemplateResource::TemplateResource(ResourceConfig cfg, const Options& opts)
    : cfg_(std::move(cfg)),
      noop_(opts.noop),
      sync_only_(opts.sync_only),
      keep_stage_file_(opts.keep_stage_file),
      kv_(std::make_unique<KVStore>()) {
  for (const auto& k : cfg_.keys) store_keys_.push_back(JoinPath(cfg_.prefix, k));
}

bool TemplateResource::Watches(std::string_view key) const {
  for (const auto& k : store_keys_)
    if (key.substr(0, k.size()) == k) return true;
  return false;
}

Status TemplateResource::LoadValues(store::Store& store) {
  std::map<std::string, std::string> values;
  for (const auto& k : store_keys_) {
    auto snap = store.List(k);
    if (!snap) return Fail(Wrap(snap.error(), "reading " + k));
    for (auto& kv : snap->kvs) values[kv.key] = std::move(kv.value);
  }
  std::map<std::string, std::string> rel_values;
  std::string_view prefix = cfg_.prefix;
  for (auto& [k, v] : values) {
    std::string_view rel = k;
    if (rel.substr(0, prefix.size()) == prefix) rel.remove_prefix(prefix.size());
    rel_values[JoinPath("/", rel)] = std::move(v);
  }
  kv_->Replace(std::move(rel_values));
  return {};
}

Result<const tmpl::Template*> TemplateResource::Parsed() {
  auto text = util::ReadFile(cfg_.src);
  if (!text) return Fail(ErrorCode::kNotFound, "missing template: " + cfg_.src);
  if (!tmpl_ || *text != src_text_) {
    auto t = tmpl::Template::Parse(PathBase(cfg_.src), *text, ConfdFuncs(kv_.get()));
    if (!t) return tl::unexpected(t.error());
    tmpl_ = std::move(*t);
    src_text_ = std::move(*text);
  }
  return &*tmpl_;
}

Result<std::string> TemplateResource::Render() {
  auto t = Parsed();
  if (!t) return tl::unexpected(t.error());
  // confd's templates see no dot data; everything comes from the functions.
  return (*t)->Render(tmpl::Value());
}

Result<SyncResult> TemplateResource::Process(store::Store& store) {
  if (auto st = LoadValues(store); !st) return tl::unexpected(st.error());
  auto content = Render();
  if (!content) return tl::unexpected(content.error());
  return Sync(*content);
}

Status RunShell(const std::string& cmd, std::chrono::milliseconds timeout) {
  auto r = util::RunCommand({"/bin/sh", "-c", cmd}, timeout);
  if (!r) return Fail(Wrap(r.error(), "running \"" + cmd + "\""));
  std::string output = r->out + r->err;
  while (!output.empty() && (output.back() == '\n' || output.back() == ' ')) output.pop_back();
  if (r->timed_out) {
    return Fail(ErrorCode::kTimeout, "\"" + cmd + "\" timed out after " +
                                         std::to_string(timeout.count() / 1000) + "s: " + output);
  }
  if (r->exit_code != 0) {
    return Fail(ErrorCode::kFailed, "\"" + cmd + "\" exited with status " +
                                        std::to_string(r->exit_code) + ": " + output);
  }
  if (!output.empty()) LogInfo("\"" + cmd + "\": " + output);
  return {};
}

Result<SyncResult> TemplateResource::Sync(const std::string& content) {
  const std::string& dest = cfg_.dest;
  struct stat dst {};
  bool dest_exists = ::stat(dest.c_str(), &dst) == 0;
  mode_t mode = cfg_.mode ? *cfg_.mode : dest_exists ? (dst.st_mode & 07777) : 0644;

  // Stage next to dest so the final rename is atomic (same filesystem).
  std::string tmpl_path = JoinPath(PathDir(dest), "." + PathBase(dest) + "XXXXXX");
  std::vector<char> buf(tmpl_path.begin(), tmpl_path.end());
  buf.push_back('\0');
  int fd = ::mkstemp(buf.data());
  if (fd < 0) {
    return Fail(ErrorCode::kUnavailable,
                "creating stage file for " + dest + ": " + std::strerror(errno));
  }
  util::UniqueFd owned(fd);
  StageFile stage(buf.data(), keep_stage_file_);
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(ErrorCode::kUnavailable, "writing " + stage.path() + ": " + std::strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
  if (::fchmod(fd, mode) != 0 || ::fsync(fd) != 0) {
    return Fail(ErrorCode::kUnavailable, "preparing " + stage.path() + ": " + std::strerror(errno));
  }
  if (cfg_.uid >= 0 || cfg_.gid >= 0) {
    if (::fchown(fd, cfg_.uid >= 0 ? cfg_.uid : -1, cfg_.gid >= 0 ? cfg_.gid : -1) != 0) {
      return Fail(ErrorCode::kPermissionDenied,
                  "chown " + stage.path() + ": " + std::strerror(errno));
    }
  }
  owned = util::UniqueFd();

  // In sync when content, mode and owner all match (confd compares the same).
  if (dest_exists) {
    auto old = util::ReadFile(dest);
    bool same_owner = (cfg_.uid < 0 || dst.st_uid == static_cast<uid_t>(cfg_.uid)) &&
                      (cfg_.gid < 0 || dst.st_gid == static_cast<gid_t>(cfg_.gid));
    if (old && *old == content && (dst.st_mode & 07777) == mode && same_owner) {
      LogInfo(dest + " in sync");
      return SyncResult::kInSync;
    }
  }
  LogInfo("Target config " + dest + " out of sync");
  if (noop_) {
    LogWarn("Noop mode enabled. " + dest + " will not be modified");
    return SyncResult::kNoop;
  }
  if (!cfg_.check_cmd.empty() && !sync_only_) {
    // check_cmd is itself a template: {{.src}} is the staged file.
    auto ct = tmpl::Template::Parse("check_cmd", cfg_.check_cmd);
    if (!ct)
      return Fail(ErrorCode::kInvalidArgument,
                  cfg_.toml_path + ": check_cmd: " + ct.error().message);
    auto cmd = ct->Render(tmpl::Value(tmpl::Map({{"src", tmpl::Value(stage.path())}})));
    if (!cmd)
      return Fail(ErrorCode::kInvalidArgument,
                  cfg_.toml_path + ": check_cmd: " + cmd.error().message);
    if (auto st = RunShell(*cmd, kCommandTimeout); !st) {
      return Fail(ErrorCode::kFailed,
                  "config check failed for " + dest + " (left unchanged): " + st.error().message);
    }
  }
  if (::rename(stage.path().c_str(), dest.c_str()) != 0) {
    int e = errno;
    if (e != EBUSY && e != EXDEV) {
      return Fail(ErrorCode::kUnavailable, "rename to " + dest + ": " + std::strerror(e));
    }
    // A bind-mounted dest cannot be replaced; overwrite it in place, as confd does.
    util::UniqueFd out(::open(dest.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    if (!out || ::write(out.get(), content.data(), content.size()) !=
                    static_cast<ssize_t>(content.size())) {
      return Fail(ErrorCode::kUnavailable, "writing " + dest + ": " + std::strerror(errno));
    }
  } else {
    stage.Consumed();
  }
  if (!cfg_.reload_cmd.empty() && !sync_only_) {
    if (auto st = RunShell(cfg_.reload_cmd, kCommandTimeout); !st) {
      return Fail(ErrorCode::kFailed, "reload of " + dest + " failed: " + st.error().message);
    }
  }
  LogInfo("Target config " + dest + " has been updated");
  return SyncResult::kUpdated;
}

}  // namespace berth::confd
