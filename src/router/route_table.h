// The router's view of /devnginx/: valid routes by key, the host -> route index, rejected
// records with their reasons, and the hosts changed since the last apply. Two environments
// never share a domain: a host named by two records stays with the one created first (its
// store create_revision, then the lower key), and the conflict is logged.
#pragma once

#include <cstdint>
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
  std::string key;           // "ns/name" of the route that owns the host ("" with no route)
  bool sleeping = false;     // the route's environment sleeps: wake it on a request
};

class RouteTable {
 public:
  // Parses and stores a record; a bad one is dropped (with its old route) and recorded.
  // `create_revision` is the record's, from the store (0 = unknown: then the key decides).
  // Returns false when rejected.
  bool Put(const std::string& key, const std::string& value, int64_t create_revision = 0);
  void Delete(const std::string& key);
  // Replaces everything (a relist); hosts that changed are marked dirty. `create_revisions`
  // as for Put (missing = 0).
  void Reset(const std::map<std::string, std::string>& records,
             const std::map<std::string, int64_t>& create_revisions = {});

  // Hosts changed since the last call, with their current targets.
  std::vector<HostEntry> TakeDirty();
  // Every routed host.
  std::vector<HostEntry> AllHosts() const;
  // Valid routes in key order, each keeping only the domains it owns.
  std::vector<Route> Effective() const;
  // The domains route `key` is served for (those it owns), in its record's order.
  std::vector<std::string> DomainsOf(const std::string& key) const;
  // Records that named a host another record owns, since start.
  size_t conflicts() const { return conflicts_; }

  size_t routes() const { return routes_.size(); }
  size_t hosts() const { return claims_.size(); }
  const std::map<std::string, std::string>& rejected() const { return rejected_; }

 private:
  void Remove(const std::string& key);
  HostEntry Entry(const std::string& host) const;
  bool Owns(const std::string& key, const std::string& host) const;

  // A claim on a host, ordered first-come: (record create_revision, key).
  using Claim = std::pair<int64_t, std::string>;
  std::map<std::string, Route> routes_;
  std::map<std::string, int64_t> created_;         // key -> record create_revision
  std::map<std::string, std::set<Claim>> claims_;  // host -> claims, the owner first
  std::map<std::string, std::string> rejected_;    // key -> reason
  std::set<std::string> dirty_;
  size_t conflicts_ = 0;
};

}  // namespace berth::router
