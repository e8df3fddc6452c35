// Cluster DNS settings: stub domains (a domain answered by given name servers) and upstream
// resolvers (at most three), for CoreDNS (the "coredns" ConfigMap's Corefile) and kube-dns
// (the original's "kube-dns" ConfigMap keys stubDomains / upstreamNameservers). Edits touch
// only those settings and leave every other byte of the configuration alone.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/result.h"

namespace berth::kube {

class KubeClient;

inline constexpr size_t kMaxUpstreams = 3;

using StubDomains = std::map<std::string, std::vector<std::string>>;

struct DnsSettings {
  std::string provider;   // "coredns" | "kube-dns"
  std::string configmap;  // "kube-system/coredns"
  StubDomains stub_domains;
  std::vector<std::string> upstream;  // CoreDNS: may be "/etc/resolv.conf"
};

// What to change; an unset field is left as it is.
struct DnsChange {
  std::optional<StubDomains> stub_domains;           // replaces the whole set
  std::optional<std::vector<std::string>> upstream;  // empty = back to the node's resolv.conf
};

// "acme.local=10.0.0.1,10.0.0.2" -> {"acme.local", {"10.0.0.1","10.0.0.2"}}.
Result<std::pair<std::string, std::vector<std::string>>> ParseStubDomainFlag(const std::string& s);
// Domains must be DNS names; addresses IPv4/IPv6 (optionally "ipv4:port"); at most three upstreams.
Status ValidateDnsChange(const DnsChange& change);

// CoreDNS
Result<DnsSettings> ReadCorefile(const std::string& corefile);
Result<std::string> EditCorefile(const std::string& corefile, const DnsChange& change);
// kube-dns: `data` is the ConfigMap's data object.
Result<DnsSettings> ReadKubeDnsData(const nlohmann::json& data);
Result<nlohmann::json> EditKubeDnsData(const nlohmann::json& data, const DnsChange& change);

// Against a cluster. provider: "auto" (coredns if its ConfigMap exists, else kube-dns),
// "coredns" or "kube-dns".
Result<DnsSettings> ShowClusterDns(KubeClient& client, const std::string& provider);
Result<DnsSettings> SetClusterDns(KubeClient& client, const std::string& provider,
                                  const DnsChange& change);

nlohmann::json DnsSettingsJson(const DnsSettings& s);

}  // namespace berth::kube
