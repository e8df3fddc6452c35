// Route records as the router reads them from the store (ParseRoute): the first line is the key,
// the rest the value. A record that parses must be safe to paste into an nginx config and must
// survive a serialize/parse round trip unchanged.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "berth/route.h"
#include "router/nginx_conf.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "route_fuzz: %s\n", what);
    abort();
  }
}

// Nothing that could end a directive, open a block, expand a variable or split a token.
bool NginxSafe(std::string_view s) {
  for (char c : s)
    if (std::string_view(";{}\"'$\\ \t\r\n#").find(c) != std::string_view::npos || c == '\0')
      return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string_view key = nl == std::string_view::npos ? in : in.substr(0, nl);
  std::string_view value = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  auto r = berth::ParseRoute(key, value);
  if (!r) return 0;
  Check(NginxSafe(r->ns) && NginxSafe(r->name) && NginxSafe(r->host_ip), "unsafe name or ip");
  for (const auto& d : r->domains) Check(!d.empty() && NginxSafe(d), "unsafe domain");
  Check(r->http_port >= 1 && r->http_port <= 65535, "http_port out of range");
  Check(r->https_port >= 0 && r->https_port <= 65535, "https_port out of range");

  auto again = berth::ParseRoute(key, berth::SerializeRoute(*r));
  Check(again.has_value(), "serialized route does not parse");
  Check(*again == *r, "round trip changed the route");

  berth::router::RouterOptions opts;
  opts.mode = "classic";
  opts.prefix = "/nonexistent/berth-fuzz";
  auto conf = berth::router::RenderClassicConf(opts, {*r});
  Check(conf.has_value(), "a parsed route does not render");
  return 0;
}
