#include "confd/gotime.h"

#include <cstdio>
#include <memory>

namespace berth::confd {

namespace {
const char* kMonths[] = {"January", "February", "March",     "April",   "May",      "June",
                         "July",    "August",   "September", "October", "November", "December"};
const char* kDays[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                       "Thursday", "Friday", "Saturday"};

std::string Num(int v, int width, char pad = '0') {
  std::string s = std::to_string(v);
  if (static_cast<int>(s.size()) < width) s.insert(0, width - s.size(), pad);
  return s;
}

bool Has(std::string_view l, size_t i, std::string_view tok) {
  return l.substr(i, tok.size()) == tok;
}
bool LowerAt(std::string_view l, size_t i) {
  return i < l.size() && l[i] >= 'a' && l[i] <= 'z';
}

std::string Zone(long off, bool colon, bool secs, bool z, bool hours_only) {
  if (z && off == 0) return "Z";
  std::string s = off < 0 ? "-" : "+";
  long a = off < 0 ? -off : off;
  s += Num(a / 3600, 2);
  if (hours_only) return s;
  if (colon) s += ':';
  s += Num((a / 60) % 60, 2);
  if (secs) {
    if (colon) s += ':';
    s += Num(a % 60, 2);
  }
  return s;
}
}  // namespace

GoTime GoTime::Now() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return GoTime(ts, false);
}

std::string GoTime::Format(std::string_view l) const {
  tm t{};
  time_t secs = ts_.tv_sec;
  if (utc_) {
    gmtime_r(&secs, &t);
  } else {
    localtime_r(&secs, &t);
  }
  long off = utc_ ? 0 : t.tm_gmtoff;
  std::string zone_name = utc_ ? "UTC" : (t.tm_zone ? t.tm_zone : "");
  std::string out;
  size_t i = 0;
  while (i < l.size()) {
    char c = l[i];
    auto take = [&](std::string_view tok, const std::string& val) {
      if (!Has(l, i, tok)) return false;
      out += val;
      i += tok.size();
      return true;
    };
    switch (c) {
      case 'J':
        if (Has(l, i, "January")) {
          out += kMonths[t.tm_mon];
          i += 7;
          continue;
        }
        if (Has(l, i, "Jan") && !LowerAt(l, i + 3)) {
          out += std::string(kMonths[t.tm_mon]).substr(0, 3);
          i += 3;
          continue;
        }
        break;
      case 'M':
        if (Has(l, i, "Monday")) {
          out += kDays[t.tm_wday];
          i += 6;
          continue;
        }
        if (Has(l, i, "Mon") && !LowerAt(l, i + 3)) {
          out += std::string(kDays[t.tm_wday]).substr(0, 3);
          i += 3;
          continue;
        }
        if (take("MST", zone_name)) continue;
        break;
      case '0':
        if (take("002", Num(t.tm_yday + 1, 3))) continue;
        if (take("01", Num(t.tm_mon + 1, 2)) || take("02", Num(t.tm_mday, 2)) ||
            take("03", Num(t.tm_hour % 12 == 0 ? 12 : t.tm_hour % 12, 2)) ||
            take("04", Num(t.tm_min, 2)) || take("05", Num(t.tm_sec, 2)) ||
            take("06", Num(t.tm_year % 100, 2)))
          continue;
        break;
      case '1':
        if (take("15", Num(t.tm_hour, 2)) || take("1", std::to_string(t.tm_mon + 1))) continue;
        break;
      case '2':
        if (take("2006", std::to_string(t.tm_year + 1900)) || take("2", std::to_string(t.tm_mday)))
          continue;
        break;
      case '_':
        if (take("__2", Num(t.tm_yday + 1, 3, ' ')) || take("_2", Num(t.tm_mday, 2, ' '))) continue;
        break;
      case '3':
        out += std::to_string(t.tm_hour % 12 == 0 ? 12 : t.tm_hour % 12);
        ++i;
        continue;
      case '4':
        out += std::to_string(t.tm_min);
        ++i;
        continue;
      case '5':
        out += std::to_string(t.tm_sec);
        ++i;
        continue;
      case 'P':
        if (take("PM", t.tm_hour >= 12 ? "PM" : "AM")) continue;
        break;
      case 'p':
        if (take("pm", t.tm_hour >= 12 ? "pm" : "am")) continue;
        break;
      case '-':
      case 'Z': {
        bool z = c == 'Z';
        std::string p(1, c);
        if (take(p + "070000", Zone(off, false, true, z, false)) ||
            take(p + "07:00:00", Zone(off, true, true, z, false)) ||
            take(p + "0700", Zone(off, false, false, z, false)) ||
            take(p + "07:00", Zone(off, true, false, z, false)) ||
            take(p + "07", Zone(off, false, false, z, true)))
          continue;
        break;
      }
      case '.':
      case ',': {
        size_t j = i + 1;
        char d = j < l.size() ? l[j] : 0;
        if (d == '0' || d == '9') {
          while (j < l.size() && l[j] == d) ++j;
          if (!(j < l.size() && l[j] >= '0' && l[j] <= '9')) {
            size_t n = j - i - 1;
            std::string frac =
                Num(static_cast<int>(ts_.tv_nsec), 9).substr(0, std::min<size_t>(n, 9));
            if (d == '9') {
              while (!frac.empty() && frac.back() == '0') frac.pop_back();
              if (!frac.empty()) out += c + frac;
            } else {
              out += c + frac;
            }
            i = j;
            continue;
          }
        }
        break;
      }
      default:
        break;
    }
    out += c;
    ++i;
  }
  return out;
}

std::string GoTime::String() const {
  return Format("2006-01-02 15:04:05.999999999 -0700 MST");
}

bool GoTime::IsMethod(std::string_view n) const {
  return n == "Format" || n == "String" || n == "Unix" || n == "UnixNano" || n == "UTC" ||
         n == "Local" || n == "Year" || n == "Day" || n == "Hour" || n == "Minute" ||
         n == "Second" || n == "YearDay";
}

Result<tmpl::Value> GoTime::Member(std::string_view n, std::span<const tmpl::Value> args) const {
  using tmpl::Value;
  auto want = [&](size_t k) -> Status {
    if (args.size() != k) {
      return Fail(ErrorCode::kInvalidArgument, "wrong number of args for " + std::string(n) +
                                                   ": want " + std::to_string(k) + " got " +
                                                   std::to_string(args.size()));
    }
    return {};
  };
  if (n == "Format") {
    if (auto st = want(1); !st) return tl::unexpected(st.error());
    if (!args[0].is_string())
      return Fail(ErrorCode::kInvalidArgument, "Format wants a string layout");
    return Value(Format(args[0].as_string()));
  }
  if (auto st = want(0); !st) return tl::unexpected(st.error());
  if (n == "String") return Value(String());
  if (n == "Unix") return Value(static_cast<int64_t>(ts_.tv_sec));
  if (n == "UnixNano") return Value(static_cast<int64_t>(ts_.tv_sec) * 1000000000 + ts_.tv_nsec);
  if (n == "UTC" || n == "Local") {
    return Value(std::shared_ptr<const tmpl::Object>(std::make_shared<GoTime>(ts_, n == "UTC")));
  }
  tm t{};
  time_t secs = ts_.tv_sec;
  utc_ ? gmtime_r(&secs, &t) : localtime_r(&secs, &t);
  if (n == "Year") return Value(t.tm_year + 1900);
  if (n == "YearDay") return Value(t.tm_yday + 1);
  if (n == "Day") return Value(t.tm_mday);
  if (n == "Hour") return Value(t.tm_hour);
  if (n == "Minute") return Value(t.tm_min);
  if (n == "Second") return Value(t.tm_sec);
  return Fail(ErrorCode::kInvalidArgument,
              "can't evaluate field " + std::string(n) + " in type time.Time");
}

}  // namespace berth::confd
