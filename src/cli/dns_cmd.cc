#include "cli/dns_cmd.h"

#include <cstdlib>
#include <iostream>
#include <memory>

#include "berth/config.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "runtime/kubernetes/client.h"
#include "runtime/kubernetes/dns.h"
#include "util/strings.h"

namespace berth::cli {
namespace {

struct DnsFlags {
  std::string kubeconfig;
  std::string context;
  std::string provider = "auto";
  std::vector<std::string> stub_domains;
  std::vector<std::string> upstream;
  bool clear_stub_domains = false;
  bool clear_upstream = false;
};

std::string RootOption(CLI::App& root, const char* name, const char* env) {
  auto* o = root.get_option_no_throw(name);
  if (!o || o->count() == 0) {
    const char* v = env ? std::getenv(env) : nullptr;
    return v ? v : "";
  }
  return o->as<std::string>();
}

Result<std::unique_ptr<kube::KubeClient>> Connect(CLI::App& root, const DnsFlags& f) {
  kube::LoadOptions lo;
  lo.kubeconfig = f.kubeconfig;
  lo.context = f.context;
  // Flags first, then the [kubernetes] keys of the config file.
  if (lo.kubeconfig.empty() || lo.context.empty()) {
    auto cfg = LoadConfig(RootOption(root, "--config", "BERTH_CONFIG"));
    if (!cfg) return Fail(cfg.error());
    if (lo.kubeconfig.empty()) lo.kubeconfig = cfg->kubeconfig;
    if (lo.context.empty()) lo.context = cfg->kube_context;
  }
  auto conn = kube::LoadConnection(lo);
  if (!conn) return Fail(conn.error());
  return std::make_unique<kube::KubeClient>(std::move(*conn));
}

void Print(const kube::DnsSettings& s, const std::string& output) {
  if (output == "json") {
    PrintJson(std::cout, kube::DnsSettingsJson(s));
    return;
  }
  if (output == "yaml") {
    PrintYaml(std::cout, kube::DnsSettingsJson(s));
    return;
  }
  std::cout << "provider:  " << s.provider << " (ConfigMap " << s.configmap << ")\n";
  std::cout << "upstream:  "
            << (s.upstream.empty() ? "(node resolv.conf)" : util::Join(s.upstream, " ")) << "\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& [d, ips] : s.stub_domains) rows.push_back({d, util::Join(ips, ",")});
  if (rows.empty()) {
    std::cout << "stub domains: none\n";
    return;
  }
  std::cout << "\n";
  PrintTable(std::cout, {"STUB DOMAIN", "NAME SERVERS"}, rows);
}

void AddCommon(CLI::App* c, DnsFlags& f) {
  c->add_option("--kubeconfig", f.kubeconfig,
                "kubeconfig file (default as kubectl: KUBECONFIG, "
                "~/.kube/config, in-cluster)");
  c->add_option("--context", f.context, "kubeconfig context (default: current-context)");
  c->add_option("--provider", f.provider, "auto (default), coredns or kube-dns")
      ->check(CLI::IsMember({"auto", "coredns", "kube-dns"}));
}

}  // namespace

void AddDnsCommand(CLI::App& app) {
  auto f = std::make_shared<DnsFlags>();
  auto* dns = app.add_subcommand(
      "dns",
      "Cluster DNS: stub domains (a domain answered by your own name servers) and up to three\n"
      "upstream resolvers, in CoreDNS's Corefile or kube-dns's ConfigMap (kube-system).");
  dns->require_subcommand(1);

  auto* show = dns->add_subcommand("show", "Show stub domains and upstream resolvers");
  AddCommon(show, *f);
  show->callback([f, &app] {
    auto client = Connect(app, *f);
    if (!client) std::exit(ReportError(client.error()));
    auto s = kube::ShowClusterDns(**client, f->provider);
    if (!s) std::exit(ReportError(s.error()));
    Print(*s, RootOption(app, "--output", nullptr));
  });

  auto* set = dns->add_subcommand(
      "set",
      "Set stub domains and/or upstream resolvers. --stub-domain replaces the whole set of stub\n"
      "domains; --upstream replaces the upstream list. Everything else in the configuration is\n"
      "left as it is.");
  AddCommon(set, *f);
  set->add_option("--stub-domain", f->stub_domains, "DOMAIN=IP[,IP...] (repeatable)");
  set->add_option("--upstream", f->upstream, "Upstream name server IP (repeatable, at most 3)")
      ->delimiter(',');
  set->add_flag("--clear-stub-domains", f->clear_stub_domains, "Remove every stub domain");
  set->add_flag("--clear-upstream", f->clear_upstream,
                "Go back to the nodes' resolv.conf for upstream resolution");
  set->callback([f, &app] {
    kube::DnsChange change;
    if (!f->stub_domains.empty() || f->clear_stub_domains) {
      if (!f->stub_domains.empty() && f->clear_stub_domains)
        std::exit(ReportError(Error(ErrorCode::kInvalidArgument,
                                    "--stub-domain and --clear-stub-domains exclude each other")));
      change.stub_domains.emplace();
      for (const auto& s : f->stub_domains) {
        auto p = kube::ParseStubDomainFlag(s);
        if (!p) std::exit(ReportError(p.error()));
        if (!change.stub_domains->emplace(p->first, p->second).second)
          std::exit(ReportError(
              Error(ErrorCode::kInvalidArgument, "stub domain " + p->first + " is given twice")));
      }
    }
    if (!f->upstream.empty() || f->clear_upstream) {
      if (!f->upstream.empty() && f->clear_upstream)
        std::exit(ReportError(Error(ErrorCode::kInvalidArgument,
                                    "--upstream and --clear-upstream exclude each other")));
      change.upstream = f->upstream;
    }
    if (!change.stub_domains && !change.upstream)
      std::exit(ReportError(
          Error(ErrorCode::kInvalidArgument, "nothing to set: give --stub-domain or --upstream")));
    if (auto v = kube::ValidateDnsChange(change); !v) std::exit(ReportError(v.error()));
    auto client = Connect(app, *f);
    if (!client) std::exit(ReportError(client.error()));
    auto s = kube::SetClusterDns(**client, f->provider, change);
    if (!s) std::exit(ReportError(s.error()));
    Print(*s, RootOption(app, "--output", nullptr));
  });
}

}  // namespace berth::cli
