// confd-style log lines on stderr: "2026-11-26T23:00:00Z host berth-confd[pid]: INFO msg".
#pragma once

#include <string>

namespace berth::router::confd {

void LogInfo(const std::string& msg);
void LogWarn(const std::string& msg);
void LogError(const std::string& msg);

}  // namespace berth::router::confd
