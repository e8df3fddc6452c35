#include "router/route_table.h"

#include <spdlog/spdlog.h>

#include "router/nginx_conf.h"

namespace berth::router {

void RouteTable::Remove(const std::string& key) {
  auto it = routes_.find(key);
  if (it == routes_.end()) return;
  for (const auto& d : it->second.domains) {
    auto c = claims_.find(d);
    if (c == claims_.end()) continue;
    c->second.erase(key);
    if (c->second.empty()) claims_.erase(c);
    dirty_.insert(d);
  }
  routes_.erase(it);
}

bool RouteTable::Put(const std::string& key, const std::string& value) {
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
  if (old != routes_.end() && old->second == *r) return true;
  Remove(key);
  for (const auto& d : r->domains) {
    auto& keys = claims_[d];
    keys.insert(key);
    if (keys.size() > 1 && *keys.begin() != key)
      spdlog::warn("router: {} claims {} which {} already routes; ignored for it", key, d,
                   *keys.begin());
    dirty_.insert(d);
  }
  routes_[key] = std::move(*r);
  return true;
}

void RouteTable::Delete(const std::string& key) {
  rejected_.erase(key);
  Remove(key);
}

void RouteTable::Reset(const std::map<std::string, std::string>& records) {
  std::vector<std::string> gone;
  for (const auto& [k, _] : routes_)
    if (!records.count(k)) gone.push_back(k);
  for (const auto& k : gone) Remove(k);
  rejected_.clear();
  for (const auto& [k, v] : records) Put(k, v);
}

HostEntry RouteTable::Entry(const std::string& host) const {
  HostEntry e{host, "", "-"};
  auto c = claims_.find(host);
  if (c == claims_.end() || c->second.empty()) return e;
  const Route& r = routes_.at(*c->second.begin());
  e.http_target = HostPort(r.host_ip, r.http_port);
  if (r.https_port > 0) e.https_target = HostPort(r.host_ip, r.https_port);
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
    for (const auto& d : r.domains) {
      auto c = claims_.find(d);
      if (c != claims_.end() && *c->second.begin() == k) e.domains.push_back(d);
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace berth::router
