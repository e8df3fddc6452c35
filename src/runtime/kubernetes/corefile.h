// A minimal Corefile (Caddyfile syntax) scanner: finds the top-level server blocks and, inside
// a block, the "forward" directive, as byte ranges of the original text so edits can splice
// exactly the parts they change.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "berth/result.h"

namespace berth::kube::corefile {

struct Range {
  size_t begin = 0;
  size_t end = 0;
};

struct ForwardDirective {
  std::string from;                  // "." for everything
  std::vector<std::string> targets;  // "10.0.0.1", "/etc/resolv.conf", "tls://..."
  Range targets_range;               // the bytes holding the targets
};

struct ServerBlock {
  std::vector<std::string> keys;  // ".:53", "acme.local:53"
  Range whole;                    // from the first key to after the closing brace's newline
  size_t body_begin = 0;          // just after '{'
  size_t body_end = 0;            // at the closing '}'
  std::optional<ForwardDirective> forward;  // a top-level "forward" of this block
  // The zone a single-key block serves: "acme.local" (scheme, port and trailing dot dropped).
  std::string Zone() const;
  bool IsRoot() const;
};

// kInvalidArgument for unbalanced braces or unterminated quotes.
Result<std::vector<ServerBlock>> Scan(const std::string& text);

}  // namespace berth::kube::corefile
