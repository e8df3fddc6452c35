#include "confd/confd.h"

#include <signal.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "confd/log.h"
#include "confd/runner.h"
#include "store/informer.h"

namespace berth::confd {

namespace {

namespace fs = std::filesystem;

// Sleeps up to `d`, waking early when stop is set.
void SleepUnless(const std::atomic<bool>& stop, std::chrono::milliseconds d) {
  auto until = std::chrono::steady_clock::now() + d;
  while (!stop && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(
        std::chrono::milliseconds(100), std::chrono::duration_cast<std::chrono::milliseconds>(
                                            until - std::chrono::steady_clock::now()) +
                                            std::chrono::milliseconds(1)));
  }
}

// The longest common prefix of all watched keys: one watch covers every resource.
std::string WatchRoot(const std::vector<std::unique_ptr<TemplateResource>>& rs) {
  bool first = true;
  std::string root;
  for (const auto& r : rs) {
    for (const auto& k : r->store_keys()) {
      if (first) {
        root = k;
        first = false;
        continue;
      }
      size_t n = 0;
      while (n < root.size() && n < k.size() && root[n] == k[n]) ++n;
      root.resize(n);
    }
  }
  return root;
}

Status ProcessSome(const std::vector<std::unique_ptr<TemplateResource>>& rs,
                   const std::vector<bool>& which, store::Store& store) {
  std::string errors;
  for (size_t i = 0; i < rs.size(); ++i) {
    if (!which[i]) continue;
    auto r = rs[i]->Process(store);
    if (!r) {
      LogError(r.error().message);
      errors += (errors.empty() ? "" : "; ") + r.error().message;
    }
  }
  if (!errors.empty()) return Fail(ErrorCode::kFailed, errors);
  return {};
}

// Renders every resource once the informer has listed, then each resource whose keys changed.
// The informer (store/informer.h) does the list + watch + relist after compaction or errors,
// with its backoff; resources read the store themselves when they render, as confd's do.
Status WatchLoop(const Options& opts, store::Store& store,
                 const std::vector<std::unique_ptr<TemplateResource>>& rs,
                 const std::atomic<bool>& stop) {
  (void)opts;
  const std::string root = WatchRoot(rs);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<bool> pending(rs.size(), false);  // guarded by mu
  bool any = false;
  store::Informer informer(store, {.prefixes = {root}, .watch_root = root});
  auto feed = informer.AddHandlers({[&](const store::Snapshot&) {
                                      std::lock_guard<std::mutex> l(mu);
                                      pending.assign(rs.size(), true);
                                      any = true;
                                      cv.notify_one();
                                    },
                                    [&](const store::WatchEvent& e) {
                                      std::lock_guard<std::mutex> l(mu);
                                      for (size_t i = 0; i < rs.size(); ++i)
                                        if (rs[i]->Watches(e.kv.key)) pending[i] = any = true;
                                      cv.notify_one();
                                    }});
  informer.Start();
  while (!stop) {
    std::vector<bool> which(rs.size(), false);
    {
      std::unique_lock<std::mutex> l(mu);
      // `stop` is set from a signal handler: looked at every half second.
      cv.wait_for(l, std::chrono::milliseconds(500), [&] { return any; });
      if (!any) continue;
      which.swap(pending);
      any = false;
    }
    (void)ProcessSome(rs, which, store);  // errors are logged; the next change retries
  }
  feed.reset();
  informer.Stop();
  return {};
}

std::atomic<bool> g_stop{false};
void OnSignal(int) {
  g_stop = true;
}

}  // namespace

Result<std::string> StoreUrl(const Options& opts) {
  if (opts.backend == "store") {
    if (opts.store_url.empty())
      return Fail(ErrorCode::kInvalidArgument, "backend \"store\" needs a store URL");
    return opts.store_url;
  }
  if (opts.backend != "etcdv3" && opts.backend != "etcd") {
    return Fail(ErrorCode::kInvalidArgument,
                "unsupported backend \"" + opts.backend + "\" (want etcdv3 or store)");
  }
  std::vector<std::string> nodes = opts.nodes;
  if (nodes.empty()) nodes.push_back("http://127.0.0.1:2379");
  std::string url = "etcd://";
  for (size_t i = 0; i < nodes.size(); ++i) {
    std::string n = nodes[i];
    if (n.rfind("https://", 0) == 0)
      return Fail(ErrorCode::kInvalidArgument,
                  "etcd node \"" + nodes[i] + "\": TLS to etcd is not supported in confd mode");
    for (const char* scheme : {"http://", "etcd://"}) {
      if (n.rfind(scheme, 0) == 0) n = n.substr(std::string_view(scheme).size());
    }
    while (!n.empty() && n.back() == '/') n.pop_back();
    if (n.empty() || n.find_first_of("/?#@ ,") != std::string::npos) {
      return Fail(ErrorCode::kInvalidArgument, "bad etcd node \"" + nodes[i] + "\"");
    }
    url += (i ? "," : "") + n;
  }
  return url;
}

Result<std::vector<std::unique_ptr<TemplateResource>>> LoadResources(const Options& opts) {
  std::string confd_dir = JoinPath(opts.confdir, "conf.d");
  std::error_code ec;
  if (!fs::is_directory(confd_dir, ec)) {
    return Fail(ErrorCode::kNotFound, "no conf.d directory at " + confd_dir);
  }
  std::vector<std::string> files;
  for (auto it = fs::recursive_directory_iterator(confd_dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file() && it->path().extension() == ".toml") files.push_back(it->path());
  }
  if (ec) return Fail(ErrorCode::kUnavailable, "reading " + confd_dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  std::vector<std::unique_ptr<TemplateResource>> out;
  for (const auto& f : files) {
    auto cfg = ParseResourceFile(f, opts);
    if (!cfg) return tl::unexpected(cfg.error());
    out.push_back(std::make_unique<TemplateResource>(std::move(*cfg), opts));
  }
  if (out.empty()) LogWarn("found no templates in " + confd_dir);
  return out;
}

Status ProcessAll(const std::vector<std::unique_ptr<TemplateResource>>& resources,
                  store::Store& store) {
  return ProcessSome(resources, std::vector<bool>(resources.size(), true), store);
}

Status RunWithStore(const Options& opts, store::Store& store, const std::atomic<bool>& stop) {
  auto rs = LoadResources(opts);
  if (!rs) return tl::unexpected(rs.error());
  if (opts.onetime) return ProcessAll(*rs, store);
  if (opts.watch) return WatchLoop(opts, store, *rs, stop);
  int secs = std::max(1, opts.interval_seconds);
  while (!stop) {
    (void)ProcessAll(*rs, store);  // logged; the next pass retries
    SleepUnless(stop, std::chrono::seconds(secs));
  }
  return {};
}

Status RunOnce(const Options& opts) {
  auto url = StoreUrl(opts);
  if (!url) return tl::unexpected(url.error());
  auto store = store::OpenStore(*url);
  if (!store) return Fail(Wrap(store.error(), "opening " + *url));
  Options once = opts;
  once.onetime = true;
  std::atomic<bool> stop{false};
  return RunWithStore(once, **store, stop);
}

int Run(const Options& opts) {
  auto url = StoreUrl(opts);
  if (!url) {
    LogError(url.error().message);
    return ExitCodeFor(url.error().code);
  }
  auto store = store::OpenStore(*url);
  if (!store) {
    LogError("opening " + *url + ": " + store.error().message);
    return ExitCodeFor(store.error().code);
  }
  LogInfo("starting; confdir " + opts.confdir + ", backend " + opts.backend +
          (opts.onetime ? ", onetime"
           : opts.watch ? ", watch"
                        : ", interval " + std::to_string(opts.interval_seconds) + "s"));
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  struct sigaction old_int {
  }, old_term{};
  if (!opts.onetime) {
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
  }
  auto st = RunWithStore(opts, **store, g_stop);
  if (!opts.onetime) {
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
  }
  if (!st) {
    LogError(st.error().message);
    return 1;
  }
  return 0;
}

}  // namespace berth::confd
