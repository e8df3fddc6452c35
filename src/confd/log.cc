#include "confd/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>

namespace berth::confd {

namespace {
std::atomic<int> g_min_level{0};  // 0 info, 1 warning, 2 error

void Log(int rank, const char* level, const std::string& msg) {
  if (rank < g_min_level.load()) return;
  char ts[32];
  time_t now = time(nullptr);
  tm t{};
  gmtime_r(&now, &t);
  strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &t);
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  // One write per line so concurrent lines do not interleave.
  std::string line = std::string(ts) + " " + host + " berth-confd[" + std::to_string(getpid()) +
                     "]: " + level + " " + msg + "\n";
  fwrite(line.data(), 1, line.size(), stderr);
}
}  // namespace

const std::vector<std::string>& LogLevelNames() {
  static const std::vector<std::string> names = {"trace",   "debug", "info",  "warn",
                                                 "warning", "error", "fatal", "panic"};
  return names;
}

void SetLogLevel(const std::string& level) {
  int rank = 0;
  if (level == "warn" || level == "warning") rank = 1;
  if (level == "error" || level == "fatal" || level == "panic") rank = 2;
  g_min_level = rank;
}

void LogInfo(const std::string& msg) {
  Log(0, "INFO", msg);
}
void LogWarn(const std::string& msg) {
  Log(1, "WARNING", msg);
}
void LogError(const std::string& msg) {
  Log(2, "ERROR", msg);
}

}  // namespace berth::confd
