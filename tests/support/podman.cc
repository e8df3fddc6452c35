#include "support/podman.h"

#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "net/http_client.h"
#include "util/strings.h"

namespace berth::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

std::atomic<int> g_instance{0};

struct Needed {
  const char* path;
  const char* package;
};

// Binaries the service needs, with the Debian package that brings each.
constexpr Needed kNeeded[] = {
    {"/usr/bin/podman", "podman"},
    {"/usr/sbin/runc", "runc"},
    {"/usr/bin/conmon", "conmon"},
    {"/usr/lib/cni/bridge", "containernetworking-plugins"},
    {"/usr/lib/cni/portmap", "containernetworking-plugins"},
    {"/usr/sbin/iptables", "iptables"},
};

std::string ReadTail(const std::string& path, size_t bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > bytes ? s.substr(s.size() - bytes) : s;
}

// A /24 in 10.200-249.x.0 that no interface on this host uses yet: other Podman instances
// (other tests, the user's own) must not share our bridge's subnet.
std::string PickSubnetPrefix() {
  std::string used;
  if (auto r = util::RunCommand({"ip", "-o", "-4", "addr", "show"}, std::chrono::seconds(10)); r)
    used = r->out;
  std::mt19937 rng(
      static_cast<unsigned>(::getpid()) * 7919u +
      static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count()));
  for (int i = 0; i < 200; ++i) {
    std::string prefix =
        "10." + std::to_string(200 + rng() % 50) + "." + std::to_string(rng() % 256) + ".";
    if (used.find(" " + prefix) == std::string::npos) return prefix;
  }
  return "10.249.249.";
}

std::string Unescape(const std::string& s) {  // mountinfo escapes spaces etc. as \040
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      int v = 0;
      bool ok = true;
      for (size_t k = 1; k <= 3; ++k) {
        if (s[i + k] < '0' || s[i + k] > '7')
          ok = false;
        else
          v = v * 8 + (s[i + k] - '0');
      }
      if (ok) {
        out.push_back(static_cast<char>(v));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

}  // namespace

bool PodmanService::SkipRequested() {
  const char* v = std::getenv("BERTH_TEST_SKIP_PODMAN");
  return v && std::string(v) == "1";
}

Result<std::unique_ptr<PodmanService>> PodmanService::Start(PodmanOptions opts) {
  for (const auto& n : kNeeded)
    if (::access(n.path, X_OK) != 0)
      return Fail(ErrorCode::kUnavailable, std::string(n.path) + " is missing: apt-get install " +
                                               n.package + " (or set BERTH_TEST_SKIP_PODMAN=1)");
  std::unique_ptr<PodmanService> p(new PodmanService());
  p->dir_ = std::make_unique<util::TempDir>("berth-podman");
  if (p->dir().empty()) return Fail(ErrorCode::kInternal, "cannot create a temp dir");
  p->socket_ = p->dir() + "/podman.sock";
  p->log_path_ = p->dir() + "/service.log";
  // A bridge name of our own (<= 15 chars): the default cni-podman0 may belong to someone else.
  p->bridge_ =
      "bcni" + std::to_string(::getpid() % 10000000) + "x" + std::to_string(g_instance++ % 100);
  if (auto s = p->WriteConfig(opts); !s) return Fail(s.error());

  if (auto s = p->SpawnService(); !s) return Fail(s.error());
  if (auto s = p->WaitReady(opts.start_timeout); !s) return Fail(s.error());
  return p;
}

Status PodmanService::SpawnService() {
  util::SpawnOptions so;
  so.env_set = env();
  so.stdout_path = log_path_;
  so.stderr_path = "=stdout";
  std::vector<std::string> argv = {"/usr/bin/podman", "--root",           dir() + "/root",
                                   "--runroot",       dir() + "/runroot", "system",
                                   "service",         "--time=0",         "unix://" + socket_};
  auto proc = util::Subprocess::Spawn(argv, so);
  if (!proc) return Fail(proc.error());
  service_ = std::move(*proc);
  return {};
}

void PodmanService::StopService() {
  service_.Stop(milliseconds(5000));
  ::unlink(socket_.c_str());  // nothing answers there now: a connect fails at once
}

Status PodmanService::StartService(milliseconds timeout) {
  if (service_.running()) return {};
  if (auto s = SpawnService(); !s) return s;
  return WaitReady(timeout);
}

Status PodmanService::WriteConfig(const PodmanOptions& opts) {
  const std::string& d = dir();
  for (const char* sub : {"root", "runroot", "tmp", "cni", "ipam"})
    if (auto s = util::MakeDirs(d + "/" + sub, 0700); !s) return s;
  std::string prefix = PickSubnetPrefix();
  // Ulimits stay within this VM's hard limits (no CAP_SYS_RESOURCE); file locks and tmp_dir
  // keep this instance's lock and state files away from any other Podman on the host.
  std::string conf =
      "[containers]\n"
      "default_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\n"
      "log_driver = \"k8s-file\"\n"
      "[engine]\n"
      "runtime = \"runc\"\n"
      "cgroup_manager = \"cgroupfs\"\n"
      "events_logger = \"file\"\n"
      "lock_type = \"file\"\n"
      "tmp_dir = \"" +
      d +
      "/tmp\"\n"
      "[network]\n"
      "network_backend = \"cni\"\n"
      "network_config_dir = \"" +
      d +
      "/cni\"\n"
      "default_subnet = \"" +
      prefix + "0/24\"\n";
  std::string storage = "[storage]\ndriver = \"vfs\"\ngraphroot = \"" + d +
                        "/root\"\nrunroot = \"" + d + "/runroot\"\n";
  std::string registries = "unqualified-search-registries = []\n";
  for (const auto& r : opts.insecure_registries)
    registries += "\n[[registry]]\nlocation = \"" + r + "\"\ninsecure = true\n";
  // The default network "podman", but on our bridge, subnet and IPAM state directory.
  std::string cni =
      "{\"cniVersion\": \"0.4.0\", \"name\": \"podman\", \"plugins\": [\n"
      " {\"type\": \"bridge\", \"bridge\": \"" +
      bridge_ +
      "\", \"isGateway\": true,"
      " \"ipMasq\": true, \"hairpinMode\": true,\n"
      "  \"ipam\": {\"type\": \"host-local\", \"dataDir\": \"" +
      d +
      "/ipam\","
      " \"routes\": [{\"dst\": \"0.0.0.0/0\"}],"
      " \"ranges\": [[{\"subnet\": \"" +
      prefix + "0/24\", \"gateway\": \"" + prefix +
      "1\"}]]}},\n"
      " {\"type\": \"portmap\", \"capabilities\": {\"portMappings\": true}},\n"
      " {\"type\": \"firewall\"},\n"
      " {\"type\": \"tuning\"}]}\n";
  if (auto s = util::WriteFileAtomic(d + "/containers.conf", conf); !s) return s;
  if (auto s = util::WriteFileAtomic(d + "/storage.conf", storage); !s) return s;
  if (auto s = util::WriteFileAtomic(d + "/registries.conf", registries); !s) return s;
  return util::WriteFileAtomic(d + "/cni/podman.conflist", cni);
}

std::map<std::string, std::string> PodmanService::env() const {
  return {{"CONTAINERS_CONF", dir() + "/containers.conf"},
          {"CONTAINERS_STORAGE_CONF", dir() + "/storage.conf"},
          {"CONTAINERS_REGISTRIES_CONF", dir() + "/registries.conf"}};
}

Status PodmanService::WaitReady(milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  net::ClientOptions o;
  o.base_url = "http://podman";
  o.unix_socket = socket_;
  o.timeout = milliseconds(5000);
  net::HttpClient http(o);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!service_.running())
      return Fail(ErrorCode::kUnavailable, "podman system service exited:\n" + LogTail());
    if (util::PathExists(socket_)) {
      net::HttpRequest req;
      req.path = "/version";
      auto r = http.Send(req);
      if (r && r->status == 200) return {};
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
  return Fail(ErrorCode::kUnavailable,
              "podman system service did not answer on " + socket_ + ":\n" + LogTail());
}

Result<util::CommandResult> PodmanService::Podman(const std::vector<std::string>& args,
                                                  milliseconds timeout) {
  std::vector<std::string> argv = {"/usr/bin/podman", "--root", dir() + "/root", "--runroot",
                                   dir() + "/runroot"};
  argv.insert(argv.end(), args.begin(), args.end());
  util::SpawnOptions so;
  so.env_set = env();
  return util::RunCommand(argv, timeout, so);
}

Result<std::string> PodmanService::PodmanOk(const std::vector<std::string>& args,
                                            milliseconds timeout) {
  auto r = Podman(args, timeout);
  if (!r) return Fail(r.error());
  if (r->exit_code != 0)
    return Fail(ErrorCode::kInternal, "podman " + util::Join(args, " ") + " exited " +
                                          std::to_string(r->exit_code) + ": " + r->err);
  return r->out;
}

std::string PodmanService::LogTail(size_t bytes) const {
  return ReadTail(log_path_, bytes);
}

void PodmanService::CleanupLeftovers() {
  const std::string& d = dir();
  if (d.empty()) return;
  // Processes still working in our directory (a conmon whose container did not go away).
  for (const auto& e :
       fs::directory_iterator("/proc", fs::directory_options::skip_permission_denied)) {
    std::string name = e.path().filename();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    pid_t pid = std::stoi(name);
    if (pid == ::getpid()) continue;
    std::ifstream in(e.path() / "cmdline", std::ios::binary);
    std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmd.find(d + "/") != std::string::npos) ::kill(pid, SIGKILL);
  }
  // Mounts below our directory (container shm, overlay leftovers), deepest first.
  std::vector<std::string> mounts;
  std::ifstream mi("/proc/self/mountinfo");
  for (std::string line; std::getline(mi, line);) {
    auto f = util::SplitWhitespace(line);
    if (f.size() > 4) {
      std::string mp = Unescape(f[4]);
      if (util::StartsWith(mp, d + "/")) mounts.push_back(mp);
    }
  }
  std::sort(mounts.begin(), mounts.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const auto& m : mounts) ::umount2(m.c_str(), MNT_DETACH);
  if (util::PathExists("/sys/class/net/" + bridge_))
    (void)util::RunCommand({"ip", "link", "delete", bridge_}, std::chrono::seconds(10));
}

void PodmanService::Stop() {
  if (stopped_) return;
  stopped_ = true;
  (void)Podman({"rm", "--all", "--force", "--time", "0"}, std::chrono::seconds(120));
  service_.Stop(milliseconds(5000));
  CleanupLeftovers();
}

PodmanService::~PodmanService() {
  Stop();
}

}  // namespace berth::testing
