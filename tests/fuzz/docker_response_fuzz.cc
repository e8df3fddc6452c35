// The Docker Engine API's other replies, each a text an engine (or anything listening on its
// socket) sends: the /version body, pull-progress lines, error bodies, timestamps, container
// names. Every parser must answer or refuse, never crash or throw.
#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/docker/docker_api.h"

namespace docker = berth::runtime::docker;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)docker::ParseApiVersion(in);
  (void)docker::NegotiateApiVersion(in);
  (void)docker::PullLineError(in);
  (void)docker::PullLineProgress(in);
  for (long status : {400L, 404L, 409L, 500L}) (void)docker::ErrorFromResponse(status, in, "fuzz");
  (void)docker::ParseEngineTime(in);
  if (auto p = docker::ParseContainerName(in)) {
    // The mapping is one to one: a parsed name must map back to the same container name.
    if (docker::ContainerName(p->first, p->second) != in) __builtin_trap();
  }
  (void)docker::SplitImageRef(in);
  return 0;
}
