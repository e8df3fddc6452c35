// Spec and status records as read back from the store (ParseSpec / ParseStatus). Another
// writer (an older Berth, an operator with etcdctl) may have put anything there; reading it
// must fail cleanly, never crash or throw.
#include <cstdint>
#include <string>

#include "berth/environment.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  if (auto s = berth::ParseSpec(text)) (void)berth::SerializeSpec(*s);
  if (auto s = berth::ParseStatus(text)) (void)berth::SerializeStatus(*s);
  return 0;
}
