#include "confd/config_file.h"

#include <algorithm>
#include <set>

#include <toml++/toml.h>

#include "confd/log.h"
#include "util/fs.h"
#include "util/strings.h"

namespace berth::confd {
namespace {

Error Invalid(const std::string& path, const std::string& what) {
  return Error{ErrorCode::kInvalidArgument, path + ": " + what};
}

// confd keys with no Berth equivalent: refusing them beats running without what they ask for.
const std::set<std::string>& Unsupported() {
  static const std::set<std::string> keys = {
      "auth_token",      "auth_type", "basic_auth", "client_cakeys", "client_cert", "client_key",
      "client_insecure", "password",  "username",   "scheme",        "srv_domain",  "srv_record",
      "secret_keyring",  "table",     "separator",  "file",          "filter",      "app_id",
      "user_id",         "role_id",   "secret_id",  "path"};
  return keys;
}

}  // namespace

Result<FileSettings> ParseConfigFile(const std::string& text, const std::string& path) {
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    return Fail(Invalid(path, std::string("cannot parse: ") + std::string(e.description()) +
                                  " at line " + std::to_string(e.source().begin.line)));
  }
  FileSettings s;
  auto str = [&](std::string_view key, const toml::node& n,
                 std::optional<std::string>* out) -> Status {
    auto v = n.value<std::string>();
    if (!v) return Fail(Invalid(path, std::string(key) + " must be a string"));
    *out = *v;
    return {};
  };
  auto boolean = [&](std::string_view key, const toml::node& n,
                     std::optional<bool>* out) -> Status {
    auto v = n.value<bool>();
    if (!v) return Fail(Invalid(path, std::string(key) + " must be true or false"));
    *out = *v;
    return {};
  };
  for (const auto& [k, node] : root) {
    const std::string key(k.str());
    Status st;
    if (key == "confdir") {
      st = str(key, node, &s.confdir);
    } else if (key == "backend") {
      st = str(key, node, &s.backend);
      if (st && *s.backend != "etcdv3")
        return Fail(Invalid(
            path, "backend \"" + *s.backend + "\" is not supported by berth router (etcdv3 is)"));
    } else if (key == "prefix") {
      st = str(key, node, &s.prefix);
    } else if (key == "log-level") {
      st = str(key, node, &s.log_level);
      const auto& names = LogLevelNames();
      if (st && std::find(names.begin(), names.end(), *s.log_level) == names.end())
        return Fail(Invalid(
            path, "log-level \"" + *s.log_level + "\" is not one of " + util::Join(names, ", ")));
    } else if (key == "watch") {
      st = boolean(key, node, &s.watch);
    } else if (key == "noop") {
      st = boolean(key, node, &s.noop);
    } else if (key == "sync-only") {
      st = boolean(key, node, &s.sync_only);
    } else if (key == "interval") {
      // value_exact: value<int64_t> converts a float, and 2.2e37 does not fit (UB in toml++;
      // found by fuzzing).
      auto v = node.value_exact<int64_t>();
      if (!v || *v < 1 || *v > 86400 * 365)
        return Fail(Invalid(path, "interval must be a positive number of seconds"));
      s.interval = static_cast<int>(*v);
    } else if (key == "nodes") {
      const toml::array* a = node.as_array();
      if (!a) return Fail(Invalid(path, "nodes must be an array of strings"));
      std::vector<std::string> nodes;
      for (const auto& e : *a) {
        auto v = e.value<std::string>();
        if (!v || v->empty()) return Fail(Invalid(path, "nodes must be an array of strings"));
        nodes.push_back(*v);
      }
      s.nodes = std::move(nodes);
    } else if (Unsupported().count(key)) {
      return Fail(Invalid(path, key + " is not supported by berth router (docs/confd.md)"));
    } else {
      s.ignored.push_back(key);
    }
    if (!st) return Fail(st.error());
  }
  return s;
}

Result<FileSettings> LoadConfigFile(const std::string& path, bool optional) {
  auto text = util::ReadFile(path);
  if (!text) {
    if (optional && text.error().code == ErrorCode::kNotFound) return FileSettings{};
    return Fail(text.error());
  }
  return ParseConfigFile(*text, path);
}

}  // namespace berth::confd
