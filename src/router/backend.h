// How routes reach nginx: the Lua backend pushes host changes into shared memory (no reload);
// the classic backend renders server blocks and reloads through safe apply.
#pragma once

#include <memory>
#include <vector>

#include "berth/result.h"
#include "router/managed_nginx.h"
#include "router/route_table.h"
#include "router/router_options.h"

namespace berth::router {

struct ApplyInput {
  bool full = false;             // lua: `hosts` is the whole table
  std::vector<HostEntry> hosts;  // lua
  std::vector<Route> routes;     // classic: every route
};

class Backend {
 public:
  virtual ~Backend() = default;
  // Starts nginx on a config without routes.
  virtual Status Start() = 0;
  // True when the next Apply must carry the whole table (lua: nginx lost or never had it).
  virtual bool NeedsFull() const = 0;
  // kConflict: the table must be sent whole (call again with full input).
  virtual Status Apply(const ApplyInput& in) = 0;
  // Periodic: restarts a dead master, reloads when certificates, snippet or template changed.
  // True when routes must be applied again (whole).
  virtual Result<bool> Health() = 0;
  virtual void Stop() = 0;
  // Classic mode reloads per apply, so bursts are coalesced.
  virtual bool Coalesces() const = 0;
  virtual NginxStats Stats() const = 0;
};

std::unique_ptr<Backend> MakeLuaBackend(const RouterOptions& o);
std::unique_ptr<Backend> MakeClassicBackend(const RouterOptions& o);

}  // namespace berth::router
