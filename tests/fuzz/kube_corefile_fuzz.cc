// The cluster DNS configuration Berth reads and edits (`berth dns`): a CoreDNS Corefile
// (Scan, ReadCorefile, EditCorefile) and kube-dns ConfigMap data. The ConfigMap is the
// cluster's; any text must be read or refused, and an edit of a readable file must read back.
#include <cstdint>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/kubernetes/corefile.h"
#include "runtime/kubernetes/dns.h"

namespace kube = berth::kube;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  (void)kube::corefile::Scan(text);
  if (kube::ReadCorefile(text)) {
    kube::DnsChange change;
    change.stub_domains = kube::StubDomains{{"acme.local", {"10.0.0.1"}}};
    change.upstream = std::vector<std::string>{"8.8.8.8"};
    auto edited = kube::EditCorefile(text, change);
    if (edited) {
      auto back = kube::ReadCorefile(*edited);
      if (!back) {
        fprintf(stderr, "kube_corefile_fuzz: an edited Corefile does not read back: %s\n",
                back.error().message.c_str());
        abort();
      }
    }
  }
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded()) {
    if (kube::ReadKubeDnsData(j)) {
      kube::DnsChange change;
      change.upstream = std::vector<std::string>{};
      (void)kube::EditKubeDnsData(j, change);
    }
  }
  return 0;
}
