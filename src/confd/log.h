// confd-style log lines on stderr: "2026-11-26T23:00:00Z host berth-confd[pid]: INFO msg".
#pragma once

#include <string>
#include <vector>

namespace berth::confd {

// confd's -log-level: lines below it are dropped ("debug"/"info" = all, "warn"/"warning",
// "error"; "fatal"/"panic" keep only errors, which are all Berth logs at that level).
// The names it takes (confd's, which are logrus's): the one list the flag and confd.toml check.
const std::vector<std::string>& LogLevelNames();
void SetLogLevel(const std::string& level);

void LogInfo(const std::string& msg);
void LogWarn(const std::string& msg);
void LogError(const std::string& msg);

}  // namespace berth::confd
