// SqliteStore costs behind the synchronous=FULL default: single-key commits with FULL and
// NORMAL, a 3-op CAS txn, listing 10,000 keys, and replaying them through a watch.
//
//   ninja -C build store_bench && ./build/store_bench [commits] [dir]
// Runs where [dir] is (default /var/tmp): put it on the disk the daemon would use, since fsync
// cost is the point.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "store/sqlite_store.h"
#include "util/fs.h"

using berth::store::Compare;
using berth::store::Op;
using berth::store::SqliteStore;
using berth::store::SqliteStoreOptions;
using berth::store::Txn;

namespace {

double Ms(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

std::unique_ptr<SqliteStore> Open(const std::string& path, bool full) {
  SqliteStoreOptions o;
  o.path = path;
  o.synchronous_full = full;
  auto s = SqliteStore::Open(o);
  if (!s) {
    std::fprintf(stderr, "open %s: %s\n", path.c_str(), s.error().message.c_str());
    std::exit(1);
  }
  return std::move(*s);
}

void Commits(const std::string& dir, bool full, int n) {
  auto s = Open(dir + (full ? "/full.db" : "/normal.db"), full);
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    if (!s->Put("/berth/status/default/env" + std::to_string(i % 100), std::string(300, 'x'))) {
      std::exit(1);
    }
  }
  double ms = Ms(std::chrono::steady_clock::now() - t0);
  std::printf("put, synchronous=%-6s %6d commits  %8.1f ms  %7.3f ms/commit\n",
              full ? "FULL" : "NORMAL", n, ms, ms / n);

  t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    std::string key = "/berth/envs/default/cas";
    auto cur = s->Get(key);
    int64_t rev = (cur && cur->has_value()) ? (*cur)->mod_revision : 0;
    Txn t{{Compare{key, rev}},
          {Op::Put(key, "spec"), Op::Put("/berth/status/default/cas", "st"),
           Op::Put("/devnginx/default/cas", "{}")}};
    if (!s->Commit(t)) std::exit(1);
  }
  ms = Ms(std::chrono::steady_clock::now() - t0);
  std::printf("cas 3-op txn, %-6s     %6d commits  %8.1f ms  %7.3f ms/commit\n",
              full ? "FULL" : "NORMAL", n, ms, ms / n);
}

void ListAndWatch(const std::string& dir) {
  auto s = Open(dir + "/list.db", false);
  constexpr int kKeys = 10000;
  int64_t start = s->Revision().value_or(0);
  for (int batch = 0; batch < kKeys / 500; ++batch) {
    Txn t;
    for (int i = 0; i < 500; ++i) {
      t.ops.push_back(Op::Put("/devnginx/default/env" + std::to_string(batch * 500 + i),
                              std::string(150, 'r')));
    }
    if (!s->Commit(t)) std::exit(1);
  }
  auto t0 = std::chrono::steady_clock::now();
  auto snap = s->List("/devnginx/");
  double ms = Ms(std::chrono::steady_clock::now() - t0);
  std::printf("list %zu keys                         %8.1f ms\n", snap ? snap->kvs.size() : 0, ms);

  auto w = s->WatchPrefix("/devnginx/", start);
  size_t events = 0;
  t0 = std::chrono::steady_clock::now();
  while (w && events < static_cast<size_t>(kKeys)) {
    auto b = (*w)->Next(std::chrono::milliseconds(0));
    if (!b || b->empty()) break;
    events += b->size();
  }
  ms = Ms(std::chrono::steady_clock::now() - t0);
  std::printf("watch replay %zu events                %8.1f ms\n", events, ms);
}

}  // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 500;
  std::string base = argc > 2 ? argv[2] : "/var/tmp";
  ::setenv("TMPDIR", base.c_str(), 1);  // TempDir creates its directory under $TMPDIR
  berth::util::TempDir dir("berth-store-bench");
  Commits(dir.path(), true, n);
  Commits(dir.path(), false, n);
  ListAndWatch(dir.path());
  return 0;
}
