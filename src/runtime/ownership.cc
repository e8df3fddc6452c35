// Which installation an engine object belongs to (include/berth/runtime.h): the one rule every
// runtime applies before it changes, removes or collects anything.
#include <spdlog/spdlog.h>

#include "berth/runtime.h"

namespace berth::runtime {

Owner Ownership::Of(std::string_view managed_by, std::string_view installation_label,
                    std::string_view workload_id) const {
  if (managed_by != "berth") return Owner::kNotBerth;
  if (installation.empty()) return Owner::kThis;  // no ids in use: the old behaviour
  if (installation_label == installation) return Owner::kThis;
  if (!installation_label.empty()) return Owner::kOther;
  return adopted.count(std::string(workload_id)) ? Owner::kThis : Owner::kLegacy;
}

std::string Ownership::Refusal(const std::string& what, std::string_view installation_label) const {
  if (installation_label.empty())
    return what + " belongs to a Berth without an installation id (an earlier release) whose " +
           "store is not this one; remove it there, or by hand, to use the name here";
  return what + " belongs to another Berth installation (" + std::string(installation_label) +
         "; this is " + installation + "): the name is taken on this engine";
}

Result<std::vector<OwnedWorkload>> Runtime::ListOwned() {
  auto all = ListManaged();
  if (!all) return all;
  std::vector<OwnedWorkload> out;
  for (auto& w : *all) {
    Owner o = ownership_.Of("berth", w.installation, w.id);
    if (o == Owner::kThis) {
      out.push_back(std::move(w));
    } else if (o == Owner::kLegacy) {
      std::lock_guard<std::mutex> l(legacy_mu_);
      if (legacy_logged_.insert(w.id).second)
        spdlog::warn(
            "leaving workload {} ({}/{}) alone: made by a Berth without installation ids and "
            "not adopted by this installation (its store had no spec for it)",
            w.id, w.ns, w.name);
    }
  }
  return out;
}

}  // namespace berth::runtime
