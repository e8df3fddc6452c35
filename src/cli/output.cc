#include "cli/output.h"

#include "cli/string_table.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <ostream>

namespace berth::cli {

bool ParseFormat(const std::string& s, Format& out) {
  if (s == "table" || s == "wide")
    out = Format::kTable;
  else if (s == "json")
    out = Format::kJson;
  else if (s == "yaml")
    out = Format::kYaml;
  else
    return false;
  return true;
}

void PrintTable(std::ostream& os, const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size(), 0);
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  size_t total = 0;
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], r[i].size());
      total += r[i].size() + 3;
    }
  // One buffer, one write: thousands of rows are a copy, not thousands of stream calls.
  std::string out;
  out.reserve(total + 256);
  auto line = [&](const std::vector<std::string>& cells) {
    const size_t start = out.size();
    for (size_t i = 0; i < cells.size(); ++i) {
      out += cells[i];
      if (i + 1 < cells.size() && i < width.size())
        out.append(width[i] - std::min(width[i], cells[i].size()) + 3, ' ');
    }
    while (out.size() > start && out.back() == ' ') out.pop_back();
    out += '\n';
  };
  line(header);
  for (const auto& r : rows) line(r);
  os.write(out.data(), static_cast<std::streamsize>(out.size()));
}

Status PrintServerTable(std::ostream& os, std::string_view table_json) {
  auto t = ParseStringTable(table_json);
  if (!t) return Fail(t.error());
  PrintTable(os, t->columns, t->rows);
  return {};
}

int PublishedPort(const nlohmann::json& view, const std::string& port_name) {
  const auto& st = view["status"];
  if (st.is_object() && st.contains("ports") && st["ports"].contains(port_name))
    return st["ports"][port_name].get<int>();
  for (const auto& p : view["spec"]["ports"])
    if (p.value("name", "") == port_name) return p.value("host_port", 0);
  return 0;
}

std::string StatusField(const nlohmann::json& view, const char* key) {
  const auto& st = view["status"];
  return st.is_object() && st.contains(key) && st[key].is_string() ? st[key].get<std::string>()
                                                                   : "";
}

void PrintJson(std::ostream& os, const nlohmann::json& j) {
  os << j.dump(2) << "\n";
}

namespace {
void Emit(YAML::Emitter& e, const nlohmann::json& j) {
  if (j.is_object()) {
    e << YAML::BeginMap;
    for (const auto& [k, v] : j.items()) {
      e << YAML::Key << k << YAML::Value;
      Emit(e, v);
    }
    e << YAML::EndMap;
  } else if (j.is_array()) {
    e << YAML::BeginSeq;
    for (const auto& v : j) Emit(e, v);
    e << YAML::EndSeq;
  } else if (j.is_string()) {
    e << YAML::DoubleQuoted << j.get<std::string>();
  } else if (j.is_null()) {
    e << YAML::Null;
  } else if (j.is_boolean()) {
    e << j.get<bool>();
  } else if (j.is_number_integer()) {
    e << j.get<int64_t>();
  } else {
    e << j.dump();
  }
}
}  // namespace

void PrintYaml(std::ostream& os, const nlohmann::json& j) {
  YAML::Emitter e;
  Emit(e, j);
  os << e.c_str() << "\n";
}

}  // namespace berth::cli
