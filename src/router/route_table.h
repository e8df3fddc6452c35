// The router's view of /devnginx/: valid routes by key, the host -> route index (a domain
// claimed by two routes goes to the lower key), rejected records with their reasons, and the
// hosts changed since the last apply.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "berth/route.h"

namespace berth::router {

struct HostEntry {
  std::string host;
  std::string http_target;   // "ip:port"; "" = the host has no route (delete it)
  std::string https_target;  // "ip:port" or "-" when the route has no https port
};

class RouteTable {
 public:
  // Parses and stores a record; a bad one is dropped (with its old route) and recorded.
  // Returns false when rejected.
  bool Put(const std::string& key, const std::string& value);
  void Delete(const std::string& key);
  // Replaces everything (a relist); hosts that changed are marked dirty.
  void Reset(const std::map<std::string, std::string>& records);

  // Hosts changed since the last call, with their current targets.
  std::vector<HostEntry> TakeDirty();
  // Every routed host.
  std::vector<HostEntry> AllHosts() const;
  // Valid routes in key order, each keeping only the domains it owns.
  std::vector<Route> Effective() const;

  size_t routes() const { return routes_.size(); }
  size_t hosts() const { return claims_.size(); }
  const std::map<std::string, std::string>& rejected() const { return rejected_; }

 private:
  void Remove(const std::string& key);
  HostEntry Entry(const std::string& host) const;

  std::map<std::string, Route> routes_;
  std::map<std::string, std::set<std::string>> claims_;  // host -> keys claiming it
  std::map<std::string, std::string> rejected_;          // key -> reason
  std::set<std::string> dirty_;
};

}  // namespace berth::router
