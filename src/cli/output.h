// Output formats for the CLI: aligned tables for people, JSON/YAML for programs.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace berth::cli {

enum class Format { kTable, kJson, kYaml };

// "table" | "json" | "yaml" (also "wide" = table); false on anything else.
bool ParseFormat(const std::string& s, Format& out);

void PrintTable(std::ostream& os, const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows);
void PrintJson(std::ostream& os, const nlohmann::json& j);
void PrintYaml(std::ostream& os, const nlohmann::json& j);

}  // namespace berth::cli
