// Scale benchmark (docs/benchmarks.md, "Thousands of environments"): `berth serve` on the
// Kubernetes backend of the loopback kwok cluster, driven through the CLI as a pipeline would,
// side by side with kubectl in the same run. bench/scale/run.sh starts the cluster and runs this.
//   1. N environments created (`berth create --no-wait`, P at a time) until all are Running,
//      then deleted (`berth delete --no-wait`) until gone; kubectl: `kubectl apply -f` of the
//      same manifests then `kubectl wait` for the pod Running, P at a time, and
//      `kubectl delete --wait` then `kubectl wait --for=delete` of the pods, P at a time.
//   2. One environment created (`create --wait`) on the idle cluster, then again while S others
//      are stuck in an image pull that never finishes (start.sh's stuck.invalid/app:1 image).
//   3. M environments stored and Running: `berth list` p50/p99, `berth view` p50/p99, the RSS
//      of `berth serve`, and the CPU time of one full resync: `berth serve` restarted over the M
//      environments, from its start until it is idle again (the startup pass lists and
//      reconciles every environment), and the CPU of each periodic resync pass after it.
//   scale_bench --berth BIN --kubeconfig FILE --kubectl BIN --work DIR
//               [--count 1000] [--stuck 50] [--stored 5000] [--parallel 8]
//               [--port-range 20000-59999] [--phases create,stuck,stored] [--compare OLD_BERTH]
//               [--reuse yes]
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "berth/environment.h"
#include "common/parallel.h"
#include "runtime/kubernetes/manifests.h"
#include "util/fs.h"
#include "util/process.h"

using namespace berth;
using bench::Clock;
using bench::Parallel;
using bench::Seconds;
using nlohmann::json;

namespace {

struct Args {
  std::string berth, kubeconfig, kubectl, work;
  std::string compare;  // --compare BIN: an earlier berth, measured over the same stored set
  int count = 1000, stuck = 50, stored = 5000, parallel = 8;
  int port_min = 20000, port_max = 59999;
  std::string phases = "create,stuck,stored";
  // --reuse yes: the stored environments (s0…) exist already in --work's state and cluster
  // (an earlier run's), so the stored phase only measures.
  bool reuse = false;
};
Args g;

Result<util::CommandResult> Run(std::vector<std::string> argv, int timeout_s = 300) {
  return util::RunCommand(argv, std::chrono::seconds(timeout_s));
}

Status Ok(const Result<util::CommandResult>& r, const std::string& what) {
  if (!r) return Fail(r.error());
  if (r->exit_code != 0) return Fail(ErrorCode::kFailed, what + ": " + r->err);
  return {};
}

// The CLI of the serve being measured (--compare measures an earlier binary's CLI and server
// together: a CLI speaks to a server of its own release).
std::string g_cli;

std::vector<std::string> Berth(std::vector<std::string> args) {
  args.insert(args.begin(), {g_cli.empty() ? g.berth : g_cli, "--socket", g.work + "/berth.sock"});
  return args;
}

std::vector<std::string> Kubectl(std::vector<std::string> args) {
  args.insert(args.begin(), {g.kubectl, "--kubeconfig=" + g.kubeconfig});
  return args;
}

// `berth serve` on the cluster, its log in the work dir.
struct Serve {
  util::Subprocess proc;
  Status Start(int resync_seconds, const std::string& binary = g.berth) {
    std::ofstream(g.work + "/berth.toml")
        << "[server]\nstate_dir = \"" << g.work << "/state\"\nsocket = \"" << g.work
        << "/berth.sock\"\nworkers = " << g.parallel << "\nresync_seconds = " << resync_seconds
        << "\n[environments]\ndefault_image = \"registry.invalid/berth/app:1\"\nport_range = ["
        << g.port_min << ", " << g.port_max
        << "]\n[runtime]\nkind = \"kubernetes\"\n[kubernetes]\nkubeconfig = \"" << g.kubeconfig
        << "\"\n[router]\nmode = \"off\"\n";
    util::SpawnOptions o;
    o.stdout_path = g.work + "/serve.log";
    o.stderr_path = "=stdout";
    auto p = util::Subprocess::Spawn({binary, "--config", g.work + "/berth.toml", "serve"}, o);
    if (!p) return Fail(p.error());
    proc = std::move(*p);
    for (int i = 0; i < 300; ++i) {
      auto r = Run(Berth({"status"}), 10);
      if (r && r->exit_code == 0) return {};
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return Fail(ErrorCode::kUnavailable,
                "berth serve did not answer; see " + g.work + "/serve.log");
  }
  // utime + stime of the process so far, in seconds.
  double CpuSeconds() const {
    std::ifstream f("/proc/" + std::to_string(proc.pid()) + "/stat");
    std::string s((std::istreambuf_iterator<char>(f)), {});
    auto close = s.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream in(s.substr(close + 2));
    std::string field;
    long long ut = 0, st = 0;
    for (int i = 3; in >> field; ++i) {  // field 3 is the state
      if (i == 14) ut = std::stoll(field);
      if (i == 15) {
        st = std::stoll(field);
        break;
      }
    }
    return double(ut + st) / double(sysconf(_SC_CLK_TCK));
  }
  // Waits until the process has used under 20 ms of CPU in each half second for 3 s; its CPU
  // seconds then.
  double WaitIdle() const {
    double cpu = CpuSeconds();
    for (double quiet = 0; quiet < 3;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      double now = CpuSeconds();
      quiet = now - cpu < 0.02 ? quiet + 0.5 : 0;
      cpu = now;
    }
    return cpu;
  }
  // VmRSS and VmHWM in MiB.
  std::pair<double, double> RssMiB() const {
    std::ifstream f("/proc/" + std::to_string(proc.pid()) + "/status");
    double rss = 0, hwm = 0;
    for (std::string line; std::getline(f, line);) {
      if (line.rfind("VmRSS:", 0) == 0) rss = std::stod(line.substr(6)) / 1024;
      if (line.rfind("VmHWM:", 0) == 0) hwm = std::stod(line.substr(6)) / 1024;
    }
    return {rss, hwm};
  }
};

// Counts environments by phase from `berth list -o json`; -1 when the list fails.
std::map<std::string, int> Phases() {
  std::map<std::string, int> n;
  auto r = Run(Berth({"list", "-o", "json"}), 60);
  if (!r || r->exit_code != 0) return {{"error", 1}};
  for (const auto& e : json::parse(r->out, nullptr, false)) {
    ++n["total"];
    if (e.contains("status") && e["status"].is_object()) ++n[e["status"].value("phase", "?")];
  }
  return n;
}

// Polls until pred(phases) holds, printing progress every 10 s; the time it took.
double WaitFor(const std::string& what,
               const std::function<bool(std::map<std::string, int>&)>& pred,
               Clock::time_point since) {
  auto last_print = Clock::now();
  for (;;) {
    auto n = Phases();
    if (pred(n)) return Seconds(since, Clock::now());
    if (Seconds(last_print, Clock::now()) >= 10) {
      std::fprintf(stderr, "  %s: %.0fs, total %d, Running %d, Pending %d, Deleting %d\n",
                   what.c_str(), Seconds(since, Clock::now()), n["total"], n["Running"],
                   n["Pending"], n["Deleting"]);
      last_print = Clock::now();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

int PodsLeft(const std::string& selector) {
  auto r = Run(Kubectl({"get", "pods", "-A", "-l", selector, "-o", "name"}), 120);
  if (!r || r->exit_code != 0) return -1;
  return int(std::count(r->out.begin(), r->out.end(), '\n'));
}

std::string Name(const std::string& prefix, int i) {
  return prefix + std::to_string(i);
}

// Creates n environments (prefix<i>) through the CLI, P at a time, until all are Running.
double CreateAll(const std::string& prefix, int n, int* failures) {
  auto t0 = Clock::now();
  *failures += Parallel(n, g.parallel, [&](int i) {
    return Ok(Run(Berth({"create", Name(prefix, i), "--no-wait"})), "create");
  });
  return WaitFor(
      "create", [&](auto& p) { return p["Running"] >= n; }, t0);
}

double DeleteAll(const std::string& prefix, int n, int* failures) {
  auto t0 = Clock::now();
  *failures += Parallel(n, g.parallel, [&](int i) {
    return Ok(Run(Berth({"delete", Name(prefix, i), "--no-wait"})), "delete");
  });
  double listed = WaitFor(
      "delete", [&](auto& p) { return p.count("error") == 0 && p["total"] == 0; }, t0);
  // Berth keeps a record until the cluster has removed everything; check what the cluster says.
  while (PodsLeft("app.kubernetes.io/managed-by=berth") > 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  return std::max(listed, Seconds(t0, Clock::now()));
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, size_t(p * double(v.size() - 1) + 0.5));
  return v[i];
}

// Wall time of each of `runs` invocations of make(i), in milliseconds.
std::vector<double> Latencies(int runs, const std::function<std::vector<std::string>(int)>& make) {
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    auto t0 = Clock::now();
    auto r = Run(make(i), 60);
    double d = Seconds(t0, Clock::now()) * 1000;
    if (!r || r->exit_code != 0) {
      std::fprintf(stderr, "  %s failed: %s\n", make(i)[3].c_str(), r ? r->err.c_str() : "");
      continue;
    }
    ms.push_back(d);
  }
  return ms;
}

int PhaseCreateDelete() {
  std::printf("\n== %d environments: create until Running, delete until gone (%d at a time)\n",
              g.count, g.parallel);
  std::fflush(stdout);
  int bf = 0;
  double bc = CreateAll("e", g.count, &bf);
  double bd = DeleteAll("e", g.count, &bf);

  // kubectl: the same Deployment + Service manifests Berth applies, in a namespace of its own.
  util::TempDir dir("berth-scale-bench");
  const std::string kns = "bench-kubectl";
  kube::ManifestOptions mo{kns, "deployment", {}, {VolumeMount::Kind::kNone, "", ""}};
  std::vector<std::string> files;
  for (int i = 0; i < g.count; ++i) {
    EnvironmentSpec s;
    s.ns = "kubectl";
    s.name = Name("e", i);
    s.image = "registry.invalid/berth/app:1";
    s.ports = DefaultPorts();
    s.volume_mount.clear();
    json list = {{"apiVersion", "v1"},
                 {"kind", "List"},
                 {"items", {kube::DeploymentManifest(s, mo), kube::ServiceManifest(s, mo)}}};
    files.push_back(dir.path() + "/" + s.name + ".json");
    (void)util::WriteFileAtomic(files.back(), list.dump(2));
  }
  (void)Run(Kubectl({"create", "namespace", kns}));
  auto selector = [](int i) { return kube::SelectorString("kubectl", Name("e", i)); };
  int kf = 0;
  auto t3 = Clock::now();
  kf += Parallel(g.count, g.parallel, [&](int i) {
    auto s = Ok(Run(Kubectl({"apply", "-f", files[i]})), "kubectl apply");
    // Until Running, as Berth's list says: the pod may not exist yet right after the apply.
    for (int tries = 0; s && tries < 600; ++tries) {
      auto w = Ok(Run(Kubectl({"-n", kns, "wait", "pod", "-l", selector(i),
                               "--for=jsonpath={.status.phase}=Running", "--timeout=300s"})),
                  "kubectl wait");
      if (w) break;
      if (w.error().message.find("no matching resources") == std::string::npos) s = w;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return s;
  });
  auto t4 = Clock::now();
  kf += Parallel(g.count, g.parallel, [&](int i) {
    auto s = Ok(Run(Kubectl({"delete", "-f", files[i], "--wait=true"})), "kubectl delete");
    if (s)
      s = Ok(Run(Kubectl(
                 {"-n", kns, "wait", "pod", "-l", selector(i), "--for=delete", "--timeout=300s"})),
             "kubectl wait --for=delete");
    return s;
  });
  auto t5 = Clock::now();
  double kc = Seconds(t3, t4), kd = Seconds(t4, t5);
  std::printf("%-44s %10s %10s %10s\n", "", "create(s)", "delete(s)", "total(s)");
  std::printf("%-44s %10.1f %10.1f %10.1f\n", "berth serve + CLI (create/delete --no-wait)", bc, bd,
              bc + bd);
  std::printf("%-44s %10.1f %10.1f %10.1f\n", "kubectl apply+wait / delete+wait", kc, kd, kc + kd);
  std::printf("ratio kubectl/berth: create %.2fx, delete %.2fx, total %.2fx\n", kc / bc, kd / bd,
              (kc + kd) / (bc + bd));
  std::printf("failures: berth %d, kubectl %d\n", bf, kf);
  std::fflush(stdout);
  return bf + kf;
}

// `berth create --wait` of one environment, then its delete; the create's wall time.
Result<double> OneCreate(const std::string& name) {
  auto t0 = Clock::now();
  auto r = Run(Berth({"create", name, "--wait", "--timeout", "120"}), 180);
  double d = Seconds(t0, Clock::now());
  if (auto s = Ok(r, "create " + name); !s) return Fail(s.error());
  if (auto s = Ok(Run(Berth({"delete", name, "--wait", "--timeout", "120"}), 180), "delete"); !s)
    return Fail(s.error());
  return d;
}

int PhaseStuck() {
  const int runs = 7;
  std::printf(
      "\n== one environment created (--wait) on an idle cluster, then beside %d stuck in "
      "an image pull (median of %d)\n",
      g.stuck, runs);
  std::fflush(stdout);
  int failures = 0;
  auto sample = [&](const std::string& prefix) {
    std::vector<double> v;
    for (int i = 0; i < runs; ++i) {
      auto d = OneCreate(prefix + std::to_string(i));
      if (!d) {
        ++failures;
        std::fprintf(stderr, "  %s\n", d.error().message.c_str());
        continue;
      }
      v.push_back(*d);
    }
    return v;
  };
  auto idle = sample("idle-");
  failures += Parallel(g.stuck, g.parallel, [&](int i) {
    return Ok(
        Run(Berth({"create", Name("stuck-", i), "--image", "stuck.invalid/app:1", "--no-wait"})),
        "create stuck");
  });
  // Every stuck one has a pod waiting on its pull before the measured creates start.
  auto t0 = Clock::now();
  WaitFor(
      "stuck", [&](auto&) { return PodsLeft("app.kubernetes.io/managed-by=berth") >= g.stuck; },
      t0);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  auto busy = sample("busy-");
  auto n = Phases();
  std::printf("%-44s %8s %8s %8s\n", "", "median", "min", "max");
  auto row = [](const char* label, const std::vector<double>& v) {
    std::printf("%-44s %7.2fs %7.2fs %7.2fs\n", label, Percentile(v, 0.5), Percentile(v, 0),
                Percentile(v, 1));
  };
  row("idle cluster", idle);
  row(("beside " + std::to_string(g.stuck) + " stuck in image pulls").c_str(), busy);
  std::printf("ratio stuck/idle (median): %.2f; stuck ones still Pending: %d of %d\n",
              Percentile(busy, 0.5) / Percentile(idle, 0.5), n["Pending"], g.stuck);
  int df = 0;
  DeleteAll("stuck-", g.stuck, &df);
  std::fflush(stdout);
  return failures + df;
}

// list/view latencies and RSS of the running serve, then one full resync: serve restarted
// (with `binary`) over the stored environments, from its start until it is idle again.
int MeasureStored(Serve& serve, const std::string& binary, const std::string& label) {
  std::printf("\n-- %s: %s\n", label.c_str(), binary.c_str());
  g_cli = binary;
  serve.WaitIdle();  // nothing left to converge
  auto list = Latencies(100, [](int) { return Berth({"list"}); });
  auto list_json = Latencies(50, [](int) { return Berth({"list", "-o", "json"}); });
  auto view = Latencies(200, [](int i) {
    return Berth({"view", Name("s", (i * 7919) % g.stored)});
  });
  auto [rss, hwm] = serve.RssMiB();
  std::printf("%-28s %8s %8s %8s\n", "", "p50", "p99", "max");
  auto row = [](const char* what, const std::vector<double>& v) {
    std::printf("%-28s %6.1fms %6.1fms %6.1fms   (%zu runs)\n", what, Percentile(v, 0.5),
                Percentile(v, 0.99), Percentile(v, 1), v.size());
  };
  row("berth list", list);
  row("berth list -o json", list_json);
  row("berth view NAME", view);
  std::printf("berth serve RSS: %.1f MiB (peak %.1f MiB)\n", rss, hwm);
  std::fflush(stdout);

  serve.proc.Stop();
  auto t0 = Clock::now();
  if (auto s = serve.Start(3600, binary); !s) {
    std::fprintf(stderr, "%s\n", s.error().message.c_str());
    return 1;
  }
  double cpu = serve.WaitIdle();
  double wall = Seconds(t0, Clock::now()) - 3;
  auto [rss2, hwm2] = serve.RssMiB();
  auto n = Phases();
  std::printf(
      "full resync (serve restarted over %d environments): %.2fs CPU, %.1fs until idle; "
      "RSS after %.1f MiB (peak %.1f MiB); %d listed, %d Running\n",
      g.stored, cpu, wall, rss2, hwm2, n["total"], n["Running"]);
  std::fflush(stdout);

  // The periodic resync (the controller's safety net: every key queued again, each reconcile a
  // pass over the caches, then the orphan collection): serve restarted with a short period and
  // its CPU measured over whole periods once idle. Everything else serve does in that time
  // (the usage sampler's rounds) is in the figure too.
  constexpr int kPeriod = 20, kPeriods = 3;
  serve.proc.Stop();
  if (auto s = serve.Start(kPeriod, binary); !s) {
    std::fprintf(stderr, "%s\n", s.error().message.c_str());
    return 1;
  }
  serve.WaitIdle();
  const double before = serve.CpuSeconds();
  std::this_thread::sleep_for(std::chrono::seconds(kPeriod * kPeriods));
  const double per_period = (serve.CpuSeconds() - before) / kPeriods;
  auto [rss3, hwm3] = serve.RssMiB();
  std::printf(
      "periodic resync every %ds over %d environments: %.2fs CPU per period (mean of %d); "
      "RSS %.1f MiB (peak %.1f MiB)\n",
      kPeriod, g.stored, per_period, kPeriods, rss3, hwm3);
  std::fflush(stdout);
  return 0;
}

int PhaseStored(Serve& serve) {
  std::printf("\n== %d environments stored and Running\n", g.stored);
  std::fflush(stdout);
  int f = 0;
  if (g.reuse) {
    double up = WaitFor(
        "reuse", [&](auto& p) { return p["Running"] >= g.stored; }, Clock::now());
    std::printf("reused the %d stored environments: all Running after %.1fs\n", g.stored, up);
  } else {
    double created = CreateAll("s", g.stored, &f);
    std::printf("created until Running: %.1fs (%.0f environments/s)\n", created,
                g.stored / created);
  }
  int failures = f;
  failures += MeasureStored(serve, g.berth, "this build");
  if (!g.compare.empty()) {
    // The same stored environments, the same cluster, an earlier binary.
    serve.proc.Stop();
    if (auto s = serve.Start(3600, g.compare); !s) {
      std::fprintf(stderr, "%s\n", s.error().message.c_str());
      return failures + 1;
    }
    failures += MeasureStored(serve, g.compare, "--compare");
  }
  return failures;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--berth")
      g.berth = v;
    else if (a == "--kubeconfig")
      g.kubeconfig = v;
    else if (a == "--kubectl")
      g.kubectl = v;
    else if (a == "--work")
      g.work = v;
    else if (a == "--count")
      g.count = std::stoi(v);
    else if (a == "--stuck")
      g.stuck = std::stoi(v);
    else if (a == "--stored")
      g.stored = std::stoi(v);
    else if (a == "--parallel")
      g.parallel = std::stoi(v);
    else if (a == "--phases")
      g.phases = v;
    else if (a == "--compare")
      g.compare = v;
    else if (a == "--reuse")
      g.reuse = v == "yes";
    else if (a == "--port-range") {
      auto dash = v.find('-');
      g.port_min = std::stoi(v.substr(0, dash));
      g.port_max = std::stoi(v.substr(dash + 1));
    } else {
      std::cerr << "unknown option " << a << "\n";
      return 2;
    }
  }
  if (g.berth.empty() || g.kubeconfig.empty() || g.kubectl.empty() || g.work.empty()) {
    std::cerr << "usage: scale_bench --berth BIN --kubeconfig FILE --kubectl BIN --work DIR "
                 "[--count N] [--stuck N] [--stored N] [--parallel P] [--phases a,b]\n";
    return 2;
  }
  Serve serve;
  if (auto s = serve.Start(30); !s) {
    std::cerr << s.error().message << "\n";
    return 1;
  }
  auto has = [](const char* p) {
    return ("," + g.phases + ",").find(std::string(",") + p + ",") != std::string::npos;
  };
  int failures = 0;
  if (has("create")) failures += PhaseCreateDelete();
  if (has("stuck")) failures += PhaseStuck();
  if (has("stored")) failures += PhaseStored(serve);
  serve.proc.Stop();
  return failures ? 1 : 0;
}
