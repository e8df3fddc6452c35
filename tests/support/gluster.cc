#include "support/gluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

namespace berth::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr long kFuseSuperMagic = 0x65735546;
// Where glusterd writes whatever its working directory is (see gluster.h).
const char* const kSystemDirs[] = {"/var/lib/glusterd", "/run/gluster", "/var/log/glusterfs"};

// True if nothing listens on addr:24007 (nor on the wildcard address).
bool ManagementPortFree(const std::string& addr) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(24007);
  bool ok = ::inet_pton(AF_INET, addr.c_str(), &sa.sin_addr) == 1 &&
            ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  ::close(fd);
  return ok;
}

// A random loopback address other than 127.0.0.1 (the CLI refuses that one for bricks), so
// test runs do not collide with each other or with a glusterd on 127.0.0.1.
std::string PickLoopbackAddress() {
  std::random_device rd;
  std::mt19937 gen(rd());
  std::uniform_int_distribution<int> b(16, 250), c(0, 255), d(2, 254);
  for (int i = 0; i < 50; ++i) {
    std::string addr = "127." + std::to_string(b(gen)) + "." + std::to_string(c(gen)) + "." +
                       std::to_string(d(gen));
    if (ManagementPortFree(addr)) return addr;
  }
  return "";
}

std::set<std::string> ListNames(const std::string& dir) {
  std::set<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    names.insert(it->path().filename().string());
  return names;
}

std::string Tail(const std::string& path, size_t bytes) {
  auto text = util::ReadFile(path);
  if (!text) return "";
  return text->size() > bytes ? text->substr(text->size() - bytes) : *text;
}

bool IsFuseMount(const std::string& path) {
  struct statfs st {};
  return ::statfs(path.c_str(), &st) == 0 && st.f_type == kFuseSuperMagic;
}

// PIDs whose command line mentions `needle` (our unique temp dir): the bricks and the FUSE
// client glusterd and mount started for this server, and nothing else.
std::vector<pid_t> ProcessesMentioning(const std::string& needle) {
  std::vector<pid_t> pids;
  std::error_code ec;
  for (fs::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t pid = static_cast<pid_t>(std::stol(name));
    if (pid == ::getpid()) continue;
    auto cmd = util::ReadFile("/proc/" + name + "/cmdline");
    if (cmd && cmd->find(needle) != std::string::npos) pids.push_back(pid);
  }
  return pids;
}

}  // namespace

bool GlusterServer::SkipRequested() {
  const char* v = std::getenv("BERTH_TEST_SKIP_GLUSTER");
  return v && std::string(v) == "1";
}

Result<std::unique_ptr<GlusterServer>> GlusterServer::Start(GlusterServerOptions opts) {
  for (const char* bin : {"glusterd", "gluster"}) {
    if (util::FindExecutable(bin).find('/') == std::string::npos)
      return Fail(ErrorCode::kUnavailable,
                  std::string(bin) +
                      " not found (apt-get install glusterfs-server, or set "
                      "BERTH_TEST_SKIP_GLUSTER=1)");
  }
  if (::geteuid() != 0)
    return Fail(ErrorCode::kUnavailable,
                "glusterd needs root (trusted.* xattrs on the brick); run as root or set "
                "BERTH_TEST_SKIP_GLUSTER=1");
  std::unique_ptr<GlusterServer> s(new GlusterServer());
  s->opts_ = std::move(opts);
  s->dir_ = std::make_unique<util::TempDir>("berth-gluster");
  if (s->dir_->path().empty())
    return Fail(ErrorCode::kUnavailable, "cannot create a temp dir for glusterd");
  s->host_ = PickLoopbackAddress();
  if (s->host_.empty())
    return Fail(ErrorCode::kUnavailable,
                "port 24007 is taken on every loopback address tried (a glusterd on 0.0.0.0?)");
  if (auto st = s->Launch(); !st)
    return Fail(ErrorCode::kUnavailable,
                st.error().message + "\n--- glusterd log ---\n" + s->LogTail());
  return s;
}

Status GlusterServer::Launch() {
  const std::string& d = dir_->path();
  brick_dir_ = d + "/brick";
  mount_point_ = d + "/mnt";
  glusterd_log_ = d + "/log/glusterd.log";
  for (const char* sub : {"wd", "run", "log", "brick", "mnt"}) {
    if (auto st = util::MakeDirs(d + "/" + sub, 0755); !st) return st;
  }
  for (const char* sys : kSystemDirs) system_before_.emplace_back(sys, ListNames(sys));

  auto opt = [](const std::string& kv) { return "management." + kv; };
  std::vector<std::string> argv = {
      util::FindExecutable("glusterd"),
      "-N",  // foreground: ours to stop
      "--xlator-option",
      opt("working-directory=" + d + "/wd"),
      "--xlator-option",
      opt("run-directory=" + d + "/run"),
      "--xlator-option",
      opt("glusterd-sockfile=" + d + "/run/glusterd.socket"),
      "--xlator-option",
      opt("logging-directory=" + d + "/log"),
      "--xlator-option",
      opt("transport.socket.bind-address=" + host_),
      "--log-file=" + glusterd_log_,
      "--pid-file=" + d + "/run/glusterd.pid",
  };
  util::SpawnOptions so;
  so.stdout_path = d + "/log/glusterd.out";
  so.stderr_path = "=stdout";
  auto proc = util::Subprocess::Spawn(argv, so);
  if (!proc) return Fail(Wrap(proc.error(), "starting glusterd"));
  glusterd_ = std::move(*proc);
  if (auto st = WaitForGlusterd(); !st) return st;
  if (auto st = CreateVolume(); !st) return st;
  if (auto st = WaitBrickOnline(); !st) return st;
  return Mount();
}

Result<util::CommandResult> GlusterServer::Cli(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {util::FindExecutable("gluster"), "--mode=script",
                                   "--glusterd-sock=" + dir_->path() + "/run/glusterd.socket",
                                   "--log-file=" + dir_->path() + "/log/cli.log"};
  argv.insert(argv.end(), args.begin(), args.end());
  return util::RunCommand(argv, std::chrono::seconds(60));
}

Status GlusterServer::WaitForGlusterd() {
  auto deadline = Clock::now() + opts_.start_timeout;
  std::string last;
  while (Clock::now() < deadline) {
    if (!glusterd_.running()) return Fail(ErrorCode::kUnavailable, "glusterd exited at start");
    auto r = Cli({"volume", "list"});
    if (r && r->exit_code == 0) return {};
    last = r ? r->out + r->err : r.error().message;
    std::this_thread::sleep_for(milliseconds(200));
  }
  return Fail(ErrorCode::kUnavailable, "glusterd did not answer the CLI in time: " + last);
}

Status GlusterServer::CreateVolume() {
  auto check = [](const Result<util::CommandResult>& r, const std::string& what) -> Status {
    if (!r) return Fail(Wrap(r.error(), what));
    if (r->exit_code != 0)
      return Fail(ErrorCode::kUnavailable, what + " failed: " + r->out + r->err);
    return {};
  };
  // `force`: the brick is a plain directory on the root filesystem, which gluster would refuse.
  auto created = Cli({"volume", "create", opts_.volume, host_ + ":" + brick_dir_, "force"});
  if (auto st = check(created, "gluster volume create"); !st) return st;
  volume_created_ = true;
  for (const auto& [key, value] : opts_.volume_set) {
    auto set = Cli({"volume", "set", opts_.volume, key, value});
    if (auto st = check(set, "gluster volume set " + key); !st) return st;
  }
  return check(Cli({"volume", "start", opts_.volume}), "gluster volume start");
}

Status GlusterServer::WaitBrickOnline() {
  auto deadline = Clock::now() + opts_.start_timeout;
  std::string last;
  while (Clock::now() < deadline) {
    auto r = Cli({"volume", "status", opts_.volume, "--xml"});
    if (r && r->exit_code == 0 && r->out.find("<status>1</status>") != std::string::npos) return {};
    last = r ? r->out + r->err : r.error().message;
    std::this_thread::sleep_for(milliseconds(200));
  }
  return Fail(ErrorCode::kUnavailable, "the brick did not come online: " + last);
}

Status GlusterServer::Mount() {
  using Fuse = GlusterServerOptions::Fuse;
  if (opts_.fuse == Fuse::kNever) {
    fuse_note_ = "not asked to mount";
    return {};
  }
  auto unavailable = [&](const std::string& why) -> Status {
    fuse_note_ = why;
    if (opts_.fuse == Fuse::kRequired) return Fail(ErrorCode::kUnavailable, why);
    return {};
  };
  if (::access("/dev/fuse", R_OK | W_OK) != 0) return unavailable("/dev/fuse is not usable");
  std::string helper = util::FindExecutable("mount.glusterfs");
  if (helper.find('/') == std::string::npos && ::access("/sbin/mount.glusterfs", X_OK) != 0)
    return unavailable("mount.glusterfs not found (apt-get install glusterfs-client)");
  auto r = util::RunCommand({"mount", "-t", "glusterfs", "-o",
                             "log-file=" + dir_->path() +
                                 "/log/fuse.log,attribute-timeout=0,entry-timeout=0,"
                                 "negative-timeout=0",
                             host_ + ":/" + opts_.volume, mount_point_},
                            std::chrono::seconds(60));
  if (!r) return unavailable("mount: " + r.error().message);
  if (r->exit_code != 0 || !IsFuseMount(mount_point_))
    return unavailable("mount -t glusterfs failed: " + r->out + r->err +
                       Tail(dir_->path() + "/log/fuse.log", 2000));
  mount_dir_ = mount_point_;
  return {};
}

std::string GlusterServer::LogTail(size_t bytes) const {
  std::string out = Tail(glusterd_log_, bytes);
  std::error_code ec;
  for (fs::directory_iterator it(dir_->path() + "/log/bricks", ec), end; !ec && it != end;
       it.increment(ec)) {
    out += "\n--- " + it->path().filename().string() + " ---\n" + Tail(it->path(), bytes / 2);
  }
  return out;
}

GlusterServer::~GlusterServer() {
  Shutdown();
}

void GlusterServer::Shutdown() {
  if (!dir_) return;
  // Unmount first: removing the temp dir must not walk into a live mount.
  if (IsFuseMount(mount_point_)) {
    auto r = util::RunCommand({"umount", mount_point_}, std::chrono::seconds(30));
    if (!r || r->exit_code != 0)
      (void)util::RunCommand({"umount", "-l", mount_point_}, std::chrono::seconds(30));
  }
  mount_dir_.clear();
  if (volume_created_ && glusterd_.running()) {
    (void)Cli({"volume", "stop", opts_.volume, "force"});
    (void)Cli({"volume", "delete", opts_.volume});
  }
  volume_created_ = false;
  glusterd_.Stop(milliseconds(5000));
  KillLeftoverBricks();
  RemoveSystemLeftovers();
}

void GlusterServer::KillLeftoverBricks() {
  // Bricks and the FUSE client daemonize away from glusterd's process group; they are found by
  // our unique temp dir in their command lines.
  auto pids = ProcessesMentioning(dir_->path());
  for (pid_t pid : pids) ::kill(pid, SIGTERM);
  auto deadline = Clock::now() + milliseconds(5000);
  while (!pids.empty() && Clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(100));
    pids = ProcessesMentioning(dir_->path());
  }
  for (pid_t pid : pids) ::kill(pid, SIGKILL);
}

void GlusterServer::RemoveSystemLeftovers() {
  for (const auto& [dir, before] : system_before_) {
    for (const auto& name : ListNames(dir)) {
      if (before.count(name)) continue;
      std::error_code ec;
      fs::remove_all(fs::path(dir) / name, ec);
    }
  }
  system_before_.clear();
}

}  // namespace berth::testing
