// confd's own configuration file, confd.toml (default /etc/confd/confd.toml): the settings an
// existing confd deployment keeps there rather than on its command line. `berth router` reads
// it in confd mode; flags given on the command line win over it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "berth/result.h"

namespace berth::confd {

inline constexpr const char* kDefaultConfigFile = "/etc/confd/confd.toml";

// The keys of confd.toml Berth honours; a key the file leaves out stays empty.
struct FileSettings {
  std::optional<std::string> confdir;
  std::optional<std::string> backend;  // only "etcdv3" is accepted
  std::optional<std::vector<std::string>> nodes;
  std::optional<std::string> prefix;
  std::optional<int> interval;
  std::optional<bool> watch;
  std::optional<bool> noop;
  std::optional<bool> sync_only;
  std::optional<std::string> log_level;
  std::vector<std::string> ignored;  // unknown keys, which confd ignores too (for a warning)
};

// Parses confd.toml text; `path` names it in errors. Keys confd has but Berth cannot honour
// (TLS client certificates, auth, SRV discovery, other backends) are kInvalidArgument rather
// than silently dropped: connecting without the certificate the file asks for would be wrong.
Result<FileSettings> ParseConfigFile(const std::string& text, const std::string& path);

// Reads and parses `path`. A missing file is an empty FileSettings when `optional` (confd
// skips an absent default file), kNotFound otherwise.
Result<FileSettings> LoadConfigFile(const std::string& path, bool optional);

}  // namespace berth::confd
