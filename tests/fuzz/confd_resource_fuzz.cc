// confd template resources (conf.d/*.toml): ParseResource over any text. Whatever parses must
// keep src inside confdir/templates and have a sane mode, uid and gid.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "confd/resource.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "confd_resource_fuzz: %s\n", what);
    abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  berth::confd::Options opts;
  opts.confdir = "/etc/confd";
  opts.prefix = "/devnginx";
  auto c = berth::confd::ParseResource(text, "/etc/confd/conf.d/fuzz.toml", opts);
  if (!c) return 0;
  Check(c->src.rfind("/etc/confd/templates/", 0) == 0, "src escapes confdir/templates");
  Check(c->src.find("/../") == std::string::npos, "src keeps a .. component");
  Check(!c->dest.empty(), "empty dest");
  Check(!c->mode || *c->mode <= 07777, "mode out of range");
  Check(c->uid >= -1 && c->gid >= -1, "negative uid or gid");
  Check(c->prefix.rfind("/devnginx", 0) == 0, "prefix lost the global prefix");
  return 0;
}
