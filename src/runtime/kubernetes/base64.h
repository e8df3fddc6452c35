// Base64 (RFC 4648, standard alphabet) for kubeconfig *-data fields and ConfigMap payloads.
#pragma once

#include <string>
#include <string_view>

#include "berth/result.h"

namespace berth::kube {

std::string Base64Encode(std::string_view in);
// Ignores whitespace (PEM data is often wrapped); rejects other non-alphabet characters.
Result<std::string> Base64Decode(std::string_view in);

}  // namespace berth::kube
