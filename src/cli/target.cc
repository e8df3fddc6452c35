#include "cli/target.h"

#include "berth/validate.h"

namespace berth::cli {

Result<Target> OpenTarget(const GlobalOptions& g) {
  auto cfg = LoadEffectiveConfig(g);
  if (!cfg) return Fail(cfg.error());
  std::string ns = g.ns.empty() ? cfg->default_namespace : g.ns;
  ApiClient client(EndpointFor(g, *cfg));
  return Target{std::move(*cfg), std::move(ns), std::move(client)};
}

Status CheckTarget(const std::string& ns, const std::string& name) {
  if (auto s = ValidateNamespace(ns); !s) return s;
  return ValidateName(name);
}

Result<Target> ResolveTarget(const GlobalOptions& g, const std::string& name) {
  auto t = OpenTarget(g);
  if (!t) return t;
  if (auto s = CheckTarget(t->ns, name); !s) return Fail(s.error());
  return t;
}

}  // namespace berth::cli
