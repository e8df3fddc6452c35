// The output of a kubeconfig exec plugin (ParseExecCredential): another program's stdout,
// read for a token, a client certificate and an expiry time.
#include <cstdint>
#include <string>

#include "runtime/kubernetes/credentials.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  (void)berth::kube::ParseExecCredential(text, "client.authentication.k8s.io/v1");
  (void)berth::kube::ParseExecCredential(text, "client.authentication.k8s.io/v1beta1");
  return 0;
}
