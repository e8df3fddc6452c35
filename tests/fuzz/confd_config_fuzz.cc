// confd's own confd.toml (ParseConfigFile) over any text: parse or refuse, never crash.
#include <cstdint>
#include <string>

#include "confd/config_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  (void)berth::confd::ParseConfigFile(text, "/etc/confd/confd.toml");
  return 0;
}
