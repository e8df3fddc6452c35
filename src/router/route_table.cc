#include "router/route_table.h"

#include <spdlog/spdlog.h>

#include "router/nginx_conf.h"

namespace berth::router {

void RouteTable::Remove(const std::string& key) {
  auto it = routes_.find(key);
  if (it == routes_.end()) return;
  const Claim claim{created_[key], key};
  for (const auto& d : it->second.domains) {
    auto c = claims_.find(d);
    if (c == claims_.end()) continue;
    c->second.erase(claim);
    if (c->second.empty()) claims_.erase(c);
    dirty_.insert(d);
  }
  routes_.erase(it);
  created_.erase(key);
}

bool RouteTable::Owns(const std::string& key, const std::string& host) const {
  auto c = claims_.find(host);
  return c != claims_.end() && !c->second.empty() && c->second.begin()->second == key;
}

bool RouteTable::Put(const std::string& key, const std::string& value, int64_t create_revision) {
  auto r = ParseRoute(key, value);
  if (!r) {
    // A record that can no longer be trusted routes nowhere.
    Remove(key);
    if (rejected_.size() < 10000) rejected_[key] = r.error().message;
    spdlog::warn("router: rejected {}", r.error().message);
    return false;
  }
  rejected_.erase(key);
  auto old = routes_.find(key);
  if (old != routes_.end() && old->second == *r && created_[key] == create_revision) return true;
  Remove(key);
  const Claim claim{create_revision, key};
  for (const auto& d : r->domains) {
    auto& claims = claims_[d];
    claims.insert(claim);
    if (claims.size() > 1) {
      // Defence in depth: the API refuses a second claim, so this is a record written around
      // it (by hand, an older release). The first claim keeps the host.
      ++conflicts_;
      const auto& owner = claims.begin()->second;
      const auto& loser = owner == key ? std::next(claims.begin())->second : key;
      spdlog::warn("router: conflict: {} and {} both name {}; it stays with {}", owner, loser, d,
                   owner);
    }
    dirty_.insert(d);
  }
  routes_[key] = std::move(*r);
  created_[key] = create_revision;
  return true;
}

void RouteTable::Delete(const std::string& key) {
  rejected_.erase(key);
  Remove(key);
}

void RouteTable::Reset(const std::map<std::string, std::string>& records,
                       const std::map<std::string, int64_t>& create_revisions) {
  std::vector<std::string> gone;
  for (const auto& [k, _] : routes_)
    if (!records.count(k)) gone.push_back(k);
  for (const auto& k : gone) Remove(k);
  rejected_.clear();
  for (const auto& [k, v] : records) {
    auto rev = create_revisions.find(k);
    Put(k, v, rev == create_revisions.end() ? 0 : rev->second);
  }
}

HostEntry RouteTable::Entry(const std::string& host) const {
  HostEntry e{host, "", "-"};
  auto c = claims_.find(host);
  if (c == claims_.end() || c->second.empty()) return e;
  const Route& r = routes_.at(c->second.begin()->second);
  e.http_target = HostPort(r.host_ip, r.http_port);
  if (r.https_port > 0) e.https_target = HostPort(r.host_ip, r.https_port);
  e.key = r.ns + "/" + r.name;
  e.sleeping = r.sleeping;
  return e;
}

std::vector<HostEntry> RouteTable::TakeDirty() {
  std::vector<HostEntry> out;
  out.reserve(dirty_.size());
  for (const auto& h : dirty_) out.push_back(Entry(h));
  dirty_.clear();
  return out;
}

std::vector<HostEntry> RouteTable::AllHosts() const {
  std::vector<HostEntry> out;
  out.reserve(claims_.size());
  for (const auto& [h, _] : claims_) out.push_back(Entry(h));
  return out;
}

std::vector<Route> RouteTable::Effective() const {
  std::vector<Route> out;
  out.reserve(routes_.size());
  for (const auto& [k, r] : routes_) {
    Route e = r;
    e.domains.clear();
    for (const auto& d : r.domains)
      if (Owns(k, d)) e.domains.push_back(d);
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<std::string> RouteTable::DomainsOf(const std::string& key) const {
  std::vector<std::string> out;
  auto it = routes_.find(key);
  if (it == routes_.end()) return out;
  for (const auto& d : it->second.domains)
    if (Owns(key, d)) out.push_back(d);
  return out;
}

}  // namespace berth::router
