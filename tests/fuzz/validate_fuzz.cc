// Every validator of include/berth/validate.h over the same input. Whatever they accept must
// keep the promises other code relies on (a name is a DNS label, a domain cannot break out of
// an nginx server_name, an IP parses, a quantity converts), and every call must be fast:
// libFuzzer's -timeout catches a validator that is not linear in its input.
#include <arpa/inet.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "berth/validate.h"

namespace {

void Check(bool ok, const char* what, std::string_view in) {
  if (!ok) {
    fprintf(stderr, "validate_fuzz: %s: \"%.*s\"\n", what, static_cast<int>(in.size()), in.data());
    abort();
  }
}

bool Only(std::string_view s, std::string_view allowed_punct) {
  for (char c : s) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && allowed_punct.find(c) == std::string_view::npos) return false;
  }
  return true;
}

bool Lower(std::string_view s) {
  for (char c : s)
    if (c >= 'A' && c <= 'Z') return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  if (berth::ValidateName(in)) {
    Check(!in.empty() && in.size() <= berth::kMaxNameLength && Only(in, "-") && Lower(in) &&
              in.front() >= 'a' && in.front() <= 'z' && in.back() != '-',
          "ValidateName accepted a non-label", in);
  }
  if (berth::ValidateNamespace(in)) {
    Check(!in.empty() && in.size() <= 63 && Only(in, "-") && Lower(in) && in.front() != '-' &&
              in.back() != '-',
          "ValidateNamespace accepted a non-label", in);
  }
  if (berth::ValidateDomain(in)) {
    Check(!in.empty() && in.size() <= 253 && Only(in, ".-*") && Lower(in),
          "ValidateDomain accepted a character nginx would misread", in);
  }
  if (berth::ValidateImageRef(in)) {
    Check(!in.empty() && in.size() <= 512 && Only(in, "-._/:@+"),
          "ValidateImageRef accepted a character outside the reference grammar", in);
  }
  if (berth::ValidateHostIp(in)) {
    std::string s(in);
    unsigned char buf[16];
    // The whole input, not its C-string prefix: a NUL inside must not be accepted.
    Check(s.find('\0') == std::string::npos &&
              (inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1),
          "ValidateHostIp accepted a non-address", in);
  }
  if (berth::ValidateLabelKey(in)) {
    Check(!in.empty() && in.size() <= 253 + 1 + 63 && Only(in, "-._/"),
          "ValidateLabelKey accepted a bad key", in);
  }
  if (berth::ValidateLabelValue(in)) {
    Check(in.size() <= 63 && Only(in, "-._"), "ValidateLabelValue accepted a bad value", in);
  }
  if (berth::ValidateEnvName(in)) {
    Check(!in.empty() && Only(in, "_") && !(in.front() >= '0' && in.front() <= '9'),
          "ValidateEnvName accepted a non-identifier", in);
  }
  for (bool cpu : {true, false}) {
    if (berth::ValidateQuantity(in, cpu)) {
      auto v = cpu ? berth::CpuToNanoCpus(in) : berth::MemoryToBytes(in);
      Check(v.has_value() && *v > 0, "an accepted quantity does not convert to a positive count",
            in);
    }
  }
  if (size >= sizeof(int)) {
    int port;
    memcpy(&port, data, sizeof port);
    Check(static_cast<bool>(berth::ValidatePort(port)) == (port >= 1 && port <= 65535),
          "ValidatePort disagrees with 1..65535", in);
  }
  return 0;
}
