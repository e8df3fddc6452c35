// `berth top`: what each environment uses (GET /v1/usage) as a sorted table or JSON, and the
// "Usage:" line of `berth view`.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"

namespace berth::cli {

void AddTopCommand(CLI::App& app, GlobalOptions& g, int& rc);

// 1536 -> "1.5Ki", 2097152000 -> "2000Mi", 12 -> "12B"; null -> "-".
std::string FormatBytes(const nlohmann::json& v);
// Cores with 3 decimals ("0.012"); null -> "-".
std::string FormatCores(const nlohmann::json& v);
// A usage item (api/usage.h's JSON) as one line for `berth view`.
std::string UsageLine(const nlohmann::json& item);
// Sorts usage items: "cpu" and "memory" highest first, "name" by namespace then name; ties by
// namespace/name.
void SortUsage(std::vector<nlohmann::json>& items, const std::string& by);

}  // namespace berth::cli
