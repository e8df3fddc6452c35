// The runner's parts, for tests and for callers that already hold a store.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "berth/store.h"
#include "confd/confd.h"
#include "confd/resource.h"

namespace berth::confd {

// The store URL the options select: "etcd://h1:p1,h2:p2" from nodes, or store_url.
Result<std::string> StoreUrl(const Options& opts);

// Loads confdir/conf.d/**/*.toml, sorted by path.
Result<std::vector<std::unique_ptr<TemplateResource>>> LoadResources(const Options& opts);

// Processes every resource; the error names each resource that failed.
Status ProcessAll(const std::vector<std::unique_ptr<TemplateResource>>& resources,
                  store::Store& store);

// onetime, watch or interval mode over `store` until `stop` becomes true (onetime returns after
// one pass). In watch and interval mode a failing pass is logged and retried, never fatal.
Status RunWithStore(const Options& opts, store::Store& store, const std::atomic<bool>& stop);

}  // namespace berth::confd
