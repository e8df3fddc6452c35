// Base64 with the standard alphabet (RFC 4648 section 4, "+/", '=' padding): etcd's JSON gateway
// carries keys and values so; kubeconfig *-data fields, ConfigMap payloads and HTTP Basic
// credentials are so too.
#pragma once

#include <string>
#include <string_view>

#include "berth/result.h"

namespace berth::util {

// Always padded.
std::string Base64Encode(std::string_view in);

struct Base64DecodeOptions {
  // Skip ' ', '\t', '\r' and '\n' anywhere (PEM data in a kubeconfig is often wrapped).
  bool ignore_whitespace = false;
  // Skip only '\r' and '\n' (Go's StdEncoding.DecodeString, confd's base64Decode).
  bool ignore_newlines = false;
  // With false, a final group of two or three characters may also come without its '='.
  // Padding that is there must still be complete and last.
  bool require_padding = true;
};

// Strict by default, as etcd writes it: every group of four characters complete, '=' only to
// fill the last one. Unused low bits of the last group are ignored (as Go's StdEncoding does).
// Fails with kInvalidArgument "illegal base64 data at input byte N", N the offset of the first
// bad character (the input's length when it ends mid-group).
Result<std::string> Base64Decode(std::string_view in, Base64DecodeOptions opts = {});

}  // namespace berth::util
