#include "core/duration.h"

#include <chrono>
#include <ctime>

namespace berth::core {
namespace {

Error Bad(std::string_view what, std::string_view text, std::string_view why) {
  std::string shown(text.substr(0, 40));
  if (text.size() > 40) shown += "...";
  return Error{ErrorCode::kInvalidArgument, std::string(what) + " \"" + shown +
                                                "\": " + std::string(why) +
                                                " (seconds, or a duration such as 90m, 8h, 3d)"};
}

int64_t UnitSeconds(char u) {
  switch (u) {
    case 's':
      return 1;
    case 'm':
      return 60;
    case 'h':
      return 3600;
    case 'd':
      return 86400;
    case 'w':
      return 7 * 86400;
    default:
      return 0;
  }
}

}  // namespace

Result<int64_t> ParseDuration(std::string_view text, std::string_view what) {
  if (text.empty()) return Fail(Bad(what, text, "empty"));
  if (text.size() > 64) return Fail(Bad(what, text, "too long"));
  int64_t total = 0;
  size_t i = 0;
  bool any_unit = false;
  while (i < text.size()) {
    if (text[i] < '0' || text[i] > '9') return Fail(Bad(what, text, "expected a number"));
    int64_t n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      n = n * 10 + (text[i] - '0');
      if (n > kMaxTtlSeconds) return Fail(Bad(what, text, "longer than ten years"));
      ++i;
    }
    int64_t unit = 1;
    if (i < text.size()) {
      unit = UnitSeconds(text[i]);
      if (unit == 0) return Fail(Bad(what, text, "unknown unit"));
      any_unit = true;
      ++i;
    } else if (any_unit) {
      return Fail(Bad(what, text, "a number without a unit after one with"));
    }
    // n and unit are both bounded, so the product fits; the sum is checked against the cap.
    total += n * unit;
    if (total > kMaxTtlSeconds) return Fail(Bad(what, text, "longer than ten years"));
  }
  return total;
}

std::string FormatDuration(int64_t seconds) {
  if (seconds <= 0) return "0s";
  static constexpr std::pair<int64_t, char> kUnits[] = {
      {86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
  std::string out;
  int parts = 0;
  for (auto [size, letter] : kUnits) {
    if (seconds >= size) {
      out += std::to_string(seconds / size) + letter;
      seconds %= size;
      if (++parts == 2) break;
    } else if (parts == 1) {
      break;  // "1d" not "1d0h5s": only adjacent units
    }
  }
  return out;
}

Result<int64_t> ParseRfc3339Utc(std::string_view text) {
  // Exactly YYYY-MM-DDTHH:MM:SSZ, the form NowRfc3339 writes.
  auto bad = [&] {
    return Fail(ErrorCode::kInvalidArgument,
                "time \"" + std::string(text.substr(0, 40)) + "\" is not YYYY-MM-DDTHH:MM:SSZ");
  };
  if (text.size() != 20) return bad();
  auto num = [&](size_t pos, size_t len, int& out) {
    out = 0;
    for (size_t k = pos; k < pos + len; ++k) {
      if (text[k] < '0' || text[k] > '9') return false;
      out = out * 10 + (text[k] - '0');
    }
    return true;
  };
  int y, mo, d, h, mi, s;
  if (!num(0, 4, y) || text[4] != '-' || !num(5, 2, mo) || text[7] != '-' || !num(8, 2, d) ||
      text[10] != 'T' || !num(11, 2, h) || text[13] != ':' || !num(14, 2, mi) || text[16] != ':' ||
      !num(17, 2, s) || text[19] != 'Z')
    return bad();
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return bad();
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<int64_t>(timegm(&tm));
}

std::string FormatRfc3339Utc(int64_t epoch_seconds) {
  std::time_t t = static_cast<std::time_t>(epoch_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int64_t NowEpochSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace berth::core
