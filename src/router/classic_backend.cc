// Classic mode: server blocks per route, applied by stage/check/swap/reload/confirm.
#include "router/backend.h"
#include "router/nginx_conf.h"

namespace berth::router {

namespace {

class ClassicBackend : public Backend {
 public:
  explicit ClassicBackend(const RouterOptions& o) : opts_(o), nginx_(o) {}

  Status Start() override {
    auto text = RenderClassicConf(opts_, {});
    if (!text) return Fail(text.error());
    // An adopted nginx keeps its routes until the first Apply renders the table.
    return nginx_.Start(*text, /*keep_adopted_config=*/true);
  }
  bool NeedsFull() const override { return true; }
  Status Apply(const ApplyInput& in) override {
    auto text = RenderClassicConf(opts_, in.routes);
    if (!text) return Fail(Wrap(text.error(), "rendering nginx config"));
    return nginx_.Apply(*text);
  }
  Result<bool> Health() override {
    auto restarted = nginx_.EnsureRunning();
    if (!restarted) return Fail(restarted.error());
    // Certificates and the snippet are re-read on the next render.
    return *restarted;
  }
  void Stop() override { nginx_.Stop(); }
  bool Coalesces() const override { return true; }
  NginxStats Stats() const override { return nginx_.Stats(); }

 private:
  RouterOptions opts_;
  ManagedNginx nginx_;
};

}  // namespace

std::unique_ptr<Backend> MakeClassicBackend(const RouterOptions& o) {
  return std::make_unique<ClassicBackend>(o);
}

}  // namespace berth::router
