// KubernetesRuntime::WatchChanges: list + watch of every pod Berth owns, as an informer does,
// so status follows the pods by watch rather than by polling. Relists when the watch's resource
// version is gone (410) and reconnects with backoff.
#include <spdlog/spdlog.h>

#include "berth/validate.h"
#include "runtime/kubernetes/kubernetes_runtime.h"
#include "runtime/kubernetes/manifests.h"
#include "runtime/watch_loop.h"

namespace berth::kube {

using nlohmann::json;

std::unique_ptr<runtime::ChangeWatch> KubernetesRuntime::WatchChanges(runtime::ChangeFn fn) {
  const std::string selector = std::string(runtime::kLabelManagedBy) + "=" + kManagedByValue;
  auto notify = [this, fn](const json& pod) {
    if (InstallationOwner(pod) == runtime::Owner::kOther) return;  // its own Berth follows it
    auto owner = OwnerOf(pod);
    if (owner && ValidateNamespace(owner->first) && ValidateName(owner->second))
      fn(owner->first, owner->second);
  };
  return std::make_unique<runtime::WatchLoop>([this, notify, selector](runtime::WatchLoop& loop) {
    util::Backoff backoff;
    std::string rv;
    while (!loop.stopping()) {
      if (rv.empty()) {
        auto list = client_->List("/api/v1/pods", selector);
        if (!list) {
          spdlog::warn("pod watch: listing pods: {}", list.error().message);
          loop.Sleep(backoff.Next());
          continue;
        }
        rv = (*list)["metadata"].value("resourceVersion", "");
        // Whatever changed while we were not watching is reconciled now.
        for (const auto& pod : (*list)["items"]) notify(pod);
      }
      auto s = client_->Watch(
          "/api/v1/pods", selector, rv, 300,
          [&](const WatchEvent& ev) {
            backoff.Reset();
            if (ev.object.contains("metadata"))
              rv = ev.object["metadata"].value("resourceVersion", rv);
            if (ev.type != "BOOKMARK") notify(ev.object);
            return !loop.stopping();
          },
          "", &loop.stopping());
      if (loop.stopping()) break;
      if (!s) {
        if (s.error().code == ErrorCode::kGone) {
          rv.clear();  // compacted: relist
          continue;
        }
        spdlog::warn("pod watch: {}; reconnecting", s.error().message);
        loop.Sleep(backoff.Next());
      }
      // An OK end is the server closing the watch after its timeout: resume from rv.
    }
  });
}

}  // namespace berth::kube
