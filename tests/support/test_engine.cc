#include "support/test_engine.h"

#include "support/images.h"

namespace berth::testing {

Result<std::unique_ptr<TestEngine>> StartTestEngine(const std::vector<std::string>& tags) {
  auto e = std::make_unique<TestEngine>();
  auto r = Registry::Start();
  if (!r) return Fail(r.error());
  e->registry = std::move(*r);
  PodmanOptions po;
  po.insecure_registries = {e->registry->address()};
  auto p = PodmanService::Start(po);
  if (!p) return Fail(p.error());
  e->podman = std::move(*p);
  for (const auto& tag : tags) {
    auto img = BuildTestImage(*e->podman, tag, e->registry.get());
    if (!img) return Fail(img.error());
    e->images.push_back(*img);
  }
  return e;
}

}  // namespace berth::testing
