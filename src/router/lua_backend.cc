// Lua mode: one fixed nginx config; routes go to a lua_shared_dict through the control socket.
#include <random>

#include <spdlog/spdlog.h>

#include "net/http_client.h"
#include "router/backend.h"
#include "router/nginx_conf.h"

namespace berth::router {

namespace {

std::string NewEpoch() {
  std::random_device rd;
  std::mt19937_64 gen(rd());
  return std::to_string(gen());
}

class LuaBackend : public Backend {
 public:
  explicit LuaBackend(const RouterOptions& o) : opts_(o), nginx_(o), epoch_(NewEpoch()) {}

  Status Start() override {
    auto text = RenderLuaConf(opts_);
    if (!text) return Fail(text.error());
    need_full_ = true;
    return nginx_.Start(*text);
  }

  bool NeedsFull() const override { return need_full_; }

  Status Apply(const ApplyInput& in) override {
    if (!in.full && in.hosts.empty()) return {};
    std::string body;
    body.reserve(in.hosts.size() * 64);
    for (const auto& h : in.hosts) {
      if (h.http_target.empty()) {
        if (in.full) continue;
        body += "-" + h.host + "\n";
      } else {
        body += "+" + h.host + " " + h.http_target + " " + h.https_target + " " +
                (h.key.empty() ? "-" : h.key) + (h.sleeping ? " 1" : " 0") + "\n";
      }
    }
    std::string path =
        std::string("/berth/routes?mode=") + (in.full ? "snapshot" : "delta") + "&epoch=" + epoch_;
    auto r = Post(path, body);
    if (!r) {
      client_.reset();  // a reload may have closed our kept-alive connection: retry once
      r = Post(path, body);
    }
    if (!r) {
      need_full_ = true;
      return Fail(Wrap(r.error(), "pushing routes to nginx"));
    }
    if (r->status == 409) {
      need_full_ = true;
      return Fail(ErrorCode::kConflict, "nginx route table has another epoch (restarted)");
    }
    if (r->status != 200) {
      need_full_ = true;
      return Fail(ErrorCode::kUnavailable,
                  "nginx route endpoint answered " + std::to_string(r->status) + ": " + r->body);
    }
    if (in.full) need_full_ = false;
    return {};
  }

  Result<bool> Health() override {
    auto restarted = nginx_.EnsureRunning();
    if (!restarted) return Fail(restarted.error());
    bool again = *restarted;
    auto text = RenderLuaConf(opts_);
    if (!text) return Fail(text.error());
    // A config nginx refused is not tried again until it changes.
    if (!nginx_.IsLive(*text) && *text != refused_) {
      spdlog::info("router: listeners, certificates or template changed; reloading nginx");
      if (auto s = nginx_.Apply(*text); !s) {
        refused_ = *text;
        return Fail(s.error());
      }
      client_.reset();
      again = true;  // the shared dict survives a reload; the epoch check confirms it
    }
    if (again) need_full_ = true;
    return again;
  }

  void Stop() override {
    client_.reset();
    nginx_.Stop();
  }
  bool Coalesces() const override { return false; }
  NginxStats Stats() const override { return nginx_.Stats(); }

 private:
  Result<net::HttpResponse> Post(const std::string& path, const std::string& body) {
    if (!client_) {
      net::ClientOptions co;
      co.base_url = "http://berth-control";
      co.unix_socket = NginxPaths(opts_.prefix).control_socket;
      co.connect_timeout = std::chrono::milliseconds(2000);
      co.timeout = std::chrono::milliseconds(30000);
      client_ = std::make_unique<net::HttpClient>(co);
    }
    return client_->Send(
        {"POST", path, {{"Content-Type", "text/plain"}}, body, std::chrono::milliseconds(-1)});
  }

  RouterOptions opts_;
  ManagedNginx nginx_;
  std::string epoch_;
  bool need_full_ = true;
  std::string refused_;
  std::unique_ptr<net::HttpClient> client_;
};

}  // namespace

std::unique_ptr<Backend> MakeLuaBackend(const RouterOptions& o) {
  return std::make_unique<LuaBackend>(o);
}

}  // namespace berth::router
