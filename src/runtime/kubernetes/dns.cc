#include "runtime/kubernetes/dns.h"

#include <algorithm>
#include <set>

#include "berth/validate.h"
#include "runtime/kubernetes/client.h"
#include "runtime/kubernetes/corefile.h"
#include "util/strings.h"

namespace berth::kube {
namespace {

constexpr char kSystemCMs[] = "/api/v1/namespaces/kube-system/configmaps";

Status ValidateResolver(const std::string& a) {
  // "10.0.0.1", "10.0.0.1:5353" or an IPv6 literal.
  if (std::count(a.begin(), a.end(), ':') == 1) {
    auto colon = a.find(':');
    if (auto s = ValidateHostIp(a.substr(0, colon)); !s) return s;
    try {
      size_t used = 0;
      int port = std::stoi(a.substr(colon + 1), &used);
      if (used != a.size() - colon - 1) throw std::invalid_argument("port");
      return ValidatePort(port);
    } catch (const std::exception&) {
      return Fail(ErrorCode::kInvalidArgument, "bad port in name server \"" + a + "\"");
    }
  }
  return ValidateHostIp(a);
}

Status ValidateResolvers(const std::vector<std::string>& ips, const std::string& what) {
  std::set<std::string> seen;
  for (const auto& ip : ips) {
    if (auto s = ValidateResolver(ip); !s) return Fail(Wrap(s.error(), what));
    if (!seen.insert(ip).second)
      return Fail(ErrorCode::kInvalidArgument, what + ": " + ip + " is listed twice");
  }
  return {};
}

// Python json.dumps spacing, as the original wrote these values.
std::string PyDumps(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + nlohmann::json(v[i]).dump();
  return out + "]";
}
std::string PyDumps(const StubDomains& m) {
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : m) {
    out += (first ? "" : ", ") + nlohmann::json(k).dump() + ": " + PyDumps(v);
    first = false;
  }
  return out + "}";
}

std::string StubBlock(const std::string& domain, const std::vector<std::string>& ips) {
  return domain + ":53 {\n    errors\n    cache 30\n    forward . " + util::Join(ips, " ") +
         "\n}\n";
}

struct Splice {
  size_t begin, end;
  std::string text;
};

bool IsStub(const corefile::ServerBlock& b) {
  return !b.IsRoot() && b.keys.size() == 1 && b.forward && b.forward->from == ".";
}

}  // namespace

Result<std::pair<std::string, std::vector<std::string>>> ParseStubDomainFlag(const std::string& s) {
  auto eq = s.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == s.size())
    return Fail(ErrorCode::kInvalidArgument,
                "--stub-domain wants DOMAIN=IP[,IP...], got \"" + s + "\"");
  std::string domain = util::ToLower(s.substr(0, eq));
  if (domain.size() > 1 && domain.back() == '.') domain.pop_back();
  return std::make_pair(domain, util::Split(s.substr(eq + 1), ','));
}

Status ValidateDnsChange(const DnsChange& c) {
  if (c.stub_domains) {
    for (const auto& [domain, ips] : *c.stub_domains) {
      if (auto s = ValidateDomain(domain); !s)
        return Fail(Wrap(s.error(), "stub domain \"" + domain + "\""));
      if (ips.empty())
        return Fail(ErrorCode::kInvalidArgument, "stub domain " + domain + " has no name server");
      if (auto s = ValidateResolvers(ips, "stub domain " + domain); !s) return s;
    }
  }
  if (c.upstream) {
    if (c.upstream->size() > kMaxUpstreams)
      return Fail(ErrorCode::kInvalidArgument, "at most " + std::to_string(kMaxUpstreams) +
                                                   " upstream name servers, got " +
                                                   std::to_string(c.upstream->size()));
    if (auto s = ValidateResolvers(*c.upstream, "upstream"); !s) return s;
  }
  return {};
}

Result<DnsSettings> ReadCorefile(const std::string& text) {
  auto blocks = corefile::Scan(text);
  if (!blocks) return Fail(blocks.error());
  DnsSettings s;
  s.provider = "coredns";
  for (const auto& b : *blocks) {
    if (b.IsRoot()) {
      if (b.forward && b.forward->from == "." && s.upstream.empty())
        s.upstream = b.forward->targets;
    } else if (IsStub(b)) {
      s.stub_domains[b.Zone()] = b.forward->targets;
    }
  }
  return s;
}

Result<std::string> EditCorefile(const std::string& text, const DnsChange& change) {
  if (auto v = ValidateDnsChange(change); !v) return Fail(v.error());
  auto blocks = corefile::Scan(text);
  if (!blocks) return Fail(blocks.error());
  std::vector<Splice> edits;
  std::string appended;
  if (change.stub_domains) {
    std::set<std::string> existing;
    for (const auto& b : *blocks) {
      if (!IsStub(b)) continue;
      auto want = change.stub_domains->find(b.Zone());
      if (want == change.stub_domains->end()) {
        edits.push_back({b.whole.begin, b.whole.end, ""});  // no longer a stub domain
      } else {
        existing.insert(b.Zone());
        edits.push_back({b.forward->targets_range.begin, b.forward->targets_range.end,
                         (b.forward->targets.empty() ? " " : "") + util::Join(want->second, " ")});
      }
    }
    for (const auto& [domain, ips] : *change.stub_domains)
      if (!existing.count(domain)) appended += StubBlock(domain, ips);
  }
  if (change.upstream) {
    std::vector<std::string> targets = *change.upstream;
    if (targets.empty()) targets = {"/etc/resolv.conf"};
    auto root = std::find_if(blocks->begin(), blocks->end(),
                             [](const corefile::ServerBlock& b) { return b.IsRoot(); });
    if (root == blocks->end())
      return Fail(ErrorCode::kInvalidArgument, "Corefile has no root (.) server block");
    if (root->forward && root->forward->from == ".") {
      edits.push_back({root->forward->targets_range.begin, root->forward->targets_range.end,
                       (root->forward->targets.empty() ? " " : "") + util::Join(targets, " ")});
    } else {
      edits.push_back(
          {root->body_end, root->body_end, "    forward . " + util::Join(targets, " ") + "\n"});
    }
  }
  std::sort(edits.begin(), edits.end(),
            [](const Splice& a, const Splice& b) { return a.begin > b.begin; });
  std::string out = text;
  for (const auto& e : edits) out.replace(e.begin, e.end - e.begin, e.text);
  if (!appended.empty()) {
    if (!out.empty() && out.back() != '\n') out += '\n';
    out += appended;
  }
  if (auto check = corefile::Scan(out); !check)
    return Fail(ErrorCode::kInternal, "edited Corefile does not parse: " + check.error().message);
  return out;
}

Result<DnsSettings> ReadKubeDnsData(const nlohmann::json& data) {
  DnsSettings s;
  s.provider = "kube-dns";
  try {
    if (data.is_object() && data.contains("stubDomains")) {
      auto j = nlohmann::json::parse(data["stubDomains"].get<std::string>());
      for (auto& [k, v] : j.items()) s.stub_domains[k] = v.get<std::vector<std::string>>();
    }
    if (data.is_object() && data.contains("upstreamNameservers"))
      s.upstream = nlohmann::json::parse(data["upstreamNameservers"].get<std::string>())
                       .get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    return Fail(ErrorCode::kInvalidArgument, std::string("kube-dns ConfigMap: ") + e.what());
  }
  return s;
}

Result<nlohmann::json> EditKubeDnsData(const nlohmann::json& data, const DnsChange& change) {
  if (auto v = ValidateDnsChange(change); !v) return Fail(v.error());
  nlohmann::json out = data.is_object() ? data : nlohmann::json::object();
  if (change.stub_domains) {
    if (change.stub_domains->empty())
      out.erase("stubDomains");
    else
      out["stubDomains"] = PyDumps(*change.stub_domains);
  }
  if (change.upstream) {
    if (change.upstream->empty())
      out.erase("upstreamNameservers");
    else
      out["upstreamNameservers"] = PyDumps(*change.upstream);
  }
  return out;
}

nlohmann::json DnsSettingsJson(const DnsSettings& s) {
  return {{"provider", s.provider},
          {"configmap", s.configmap},
          {"stubDomains", s.stub_domains},
          {"upstreamNameservers", s.upstream}};
}

namespace {

Result<std::string> DetectProvider(KubeClient& client, const std::string& provider,
                                   nlohmann::json* cm) {
  if (provider != "auto" && provider != "coredns" && provider != "kube-dns")
    return Fail(ErrorCode::kInvalidArgument,
                "DNS provider \"" + provider + "\" must be auto, coredns or kube-dns");
  for (const char* p : {"coredns", "kube-dns"}) {
    if (provider != "auto" && provider != p) continue;
    auto got = client.Get(std::string(kSystemCMs) + "/" + p);
    if (got) {
      *cm = std::move(*got);
      return std::string(p);
    }
    if (got.error().code != ErrorCode::kNotFound) return Fail(got.error());
  }
  // Neither exists: kube-dns reads an optional ConfigMap, so one can be created for it.
  if (provider == "coredns")
    return Fail(ErrorCode::kNotFound, "ConfigMap kube-system/coredns not found");
  *cm = nullptr;
  return std::string("kube-dns");
}

Result<DnsSettings> Read(const std::string& provider, const nlohmann::json& cm) {
  nlohmann::json data =
      cm.is_object() && cm.contains("data") ? cm["data"] : nlohmann::json::object();
  Result<DnsSettings> s;
  if (provider == "coredns") {
    if (!data.contains("Corefile") || !data["Corefile"].is_string())
      return Fail(ErrorCode::kInvalidArgument, "ConfigMap kube-system/coredns has no Corefile");
    s = ReadCorefile(data["Corefile"].get<std::string>());
  } else {
    s = ReadKubeDnsData(data);
  }
  if (s) s->configmap = "kube-system/" + provider;
  return s;
}

}  // namespace

Result<DnsSettings> ShowClusterDns(KubeClient& client, const std::string& provider) {
  nlohmann::json cm;
  auto p = DetectProvider(client, provider, &cm);
  if (!p) return Fail(p.error());
  return Read(*p, cm);
}

Result<DnsSettings> SetClusterDns(KubeClient& client, const std::string& provider,
                                  const DnsChange& change) {
  if (auto v = ValidateDnsChange(change); !v) return Fail(v.error());
  // Read-modify-write guarded by resourceVersion: a concurrent edit makes the PUT fail with
  // Conflict, and the edit is redone on the fresh object.
  for (int attempt = 0; attempt < 5; ++attempt) {
    nlohmann::json cm;
    auto p = DetectProvider(client, provider, &cm);
    if (!p) return Fail(p.error());
    Result<nlohmann::json> written;
    if (cm.is_null()) {
      auto data = EditKubeDnsData(nlohmann::json::object(), change);
      if (!data) return Fail(data.error());
      nlohmann::json obj = {{"apiVersion", "v1"},
                            {"kind", "ConfigMap"},
                            {"metadata", {{"name", "kube-dns"}, {"namespace", "kube-system"}}},
                            {"data", *data}};
      written = client.Create(kSystemCMs, obj);
    } else {
      nlohmann::json data = cm.contains("data") ? cm["data"] : nlohmann::json::object();
      if (*p == "coredns") {
        if (!data.contains("Corefile") || !data["Corefile"].is_string())
          return Fail(ErrorCode::kInvalidArgument, "ConfigMap kube-system/coredns has no Corefile");
        auto edited = EditCorefile(data["Corefile"].get<std::string>(), change);
        if (!edited) return Fail(edited.error());
        data["Corefile"] = *edited;
      } else {
        auto edited = EditKubeDnsData(data, change);
        if (!edited) return Fail(edited.error());
        data = *edited;
      }
      cm["data"] = data;
      written = client.Update(std::string(kSystemCMs) + "/" + *p, cm);
    }
    if (written) return Read(*p, *written);
    if (written.error().code != ErrorCode::kConflict &&
        written.error().code != ErrorCode::kAlreadyExists)
      return Fail(written.error());
  }
  return Fail(ErrorCode::kConflict, "the DNS ConfigMap kept changing under us; try again");
}

}  // namespace berth::kube
