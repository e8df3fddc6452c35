// Output formats for the CLI: aligned tables for people, JSON/YAML for programs.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/result.h"

namespace berth::cli {

enum class Format { kTable, kJson, kYaml };

// "table" | "json" | "yaml" (also "wide" = table); false on anything else.
bool ParseFormat(const std::string& s, Format& out);

void PrintTable(std::ostream& os, const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows);
// A table the server printed ({"columns": [string...], "rows": [[string...]...]}, as
// GET /v1/environments?view=table answers: cli/string_table.h); kInvalidArgument for any
// other shape, and nothing printed.
Status PrintServerTable(std::ostream& os, std::string_view table_json);
void PrintJson(std::ostream& os, const nlohmann::json& j);
void PrintYaml(std::ostream& os, const nlohmann::json& j);

// Reading a View (api/environment_service.h): the published port of a named port (status
// first, then the spec's reservation; 0 if none) and a status string field ("" if absent).
int PublishedPort(const nlohmann::json& view, const std::string& port_name);
std::string StatusField(const nlohmann::json& view, const char* key);

}  // namespace berth::cli
