// Durations as people type them ("90m", "8h", "3d", "1h30m", or plain seconds) and the times
// an environment expires at. Pure, linear in the input, overflow-checked.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "berth/result.h"

namespace berth::core {

// The longest TTL accepted: ten years. Far beyond any preview environment, and small enough
// that now + ttl never overflows a time_t or a 64-bit second count.
inline constexpr int64_t kMaxTtlSeconds = int64_t{10} * 366 * 24 * 3600;

// "0" = never; "3600" = seconds; otherwise one or more <number><unit> with unit s, m, h, d or
// w ("1h30m"). kInvalidArgument naming `what` for anything else or beyond kMaxTtlSeconds.
Result<int64_t> ParseDuration(std::string_view text, std::string_view what = "ttl");

// The two largest units, as typed: 90 -> "1m30s", 93784 -> "1d2h", 0 -> "0s".
std::string FormatDuration(int64_t seconds);

// "2026-11-30T10:05:06Z" <-> seconds since the epoch (UTC only: every time Berth writes).
Result<int64_t> ParseRfc3339Utc(std::string_view text);
std::string FormatRfc3339Utc(int64_t epoch_seconds);
int64_t NowEpochSeconds();

}  // namespace berth::core
