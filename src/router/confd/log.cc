#include "router/confd/log.h"

#include <unistd.h>

#include <cstdio>
#include <ctime>

namespace berth::router::confd {

namespace {
void Log(const char* level, const std::string& msg) {
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

void LogInfo(const std::string& msg) {
  Log("INFO", msg);
}
void LogWarn(const std::string& msg) {
  Log("WARNING", msg);
}
void LogError(const std::string& msg) {
  Log("ERROR", msg);
}

}  // namespace berth::router::confd
