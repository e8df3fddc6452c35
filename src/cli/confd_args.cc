#include "cli/confd_args.h"

#include <map>
#include <string_view>

namespace berth::cli {
namespace {

struct ConfdFlag {
  const char* berth;  // berth router's spelling; nullptr: not implemented
  bool takes_value;
};

// Every flag of confd (0.16 and later), by name.
const std::map<std::string, ConfdFlag, std::less<>>& ConfdFlags() {
  static const std::map<std::string, ConfdFlag, std::less<>> flags = {
      {"confdir", {"--confdir", true}},
      {"onetime", {"--onetime", false}},
      {"watch", {"--watch", false}},
      {"interval", {"--interval", true}},
      {"node", {"--node", true}},
      {"prefix", {"--confd-prefix", true}},
      {"noop", {"--noop", false}},
      {"keep-stage-file", {"--keep-stage-file", false}},
      {"backend", {"--backend", true}},
      {"log-level", {"--log-level", true}},
      {"app-id", {nullptr, true}},
      {"auth-token", {nullptr, true}},
      {"auth-type", {nullptr, true}},
      {"basic-auth", {nullptr, false}},
      {"client-ca-keys", {nullptr, true}},
      {"client-cert", {nullptr, true}},
      {"client-insecure", {nullptr, false}},
      {"client-key", {nullptr, true}},
      {"config-file", {"--confd-config-file", true}},
      {"file", {nullptr, true}},
      {"filter", {nullptr, true}},
      {"password", {nullptr, true}},
      {"path", {nullptr, true}},
      {"role-id", {nullptr, true}},
      {"scheme", {nullptr, true}},
      {"secret-id", {nullptr, true}},
      {"secret-keyring", {nullptr, true}},
      {"separator", {nullptr, true}},
      {"srv-domain", {nullptr, true}},
      {"srv-record", {nullptr, true}},
      {"sync-only", {"--sync-only", false}},
      {"table", {nullptr, true}},
      {"user-id", {nullptr, true}},
      {"username", {nullptr, true}},
      {"version", {nullptr, false}},
  };
  return flags;
}

bool IsSingleDashLong(std::string_view a) {
  return a.size() > 2 && a[0] == '-' && a[1] != '-';
}

}  // namespace

Result<std::vector<std::string>> RewriteConfdRouterArgs(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  out.reserve(args.size() + 2);
  bool rewrote = false, has_confdir = false;
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") break;  // the rest is positional
    if (a == "--confdir" || a.starts_with("--confdir=")) has_confdir = true;
    if (!IsSingleDashLong(a)) {
      out.push_back(a);
      continue;
    }
    std::string_view name(a);
    name.remove_prefix(1);
    size_t eq = name.find('=');
    std::string_view value_part = eq == std::string_view::npos ? "" : name.substr(eq);
    name = name.substr(0, eq);
    auto it = ConfdFlags().find(name);
    if (it == ConfdFlags().end()) {  // not confd's: a short option, or CLI11 reports it
      out.push_back(a);
      continue;
    }
    const ConfdFlag& f = it->second;
    if (!f.berth)
      return Fail(ErrorCode::kInvalidArgument,
                  "confd flag -" + std::string(name) +
                      " is not supported by berth router (docs/confd.md lists what is)");
    out.push_back(f.berth + std::string(value_part));
    rewrote = true;
    if (name == "confdir") has_confdir = true;
    // "-flag value": the value is copied as it is, even when it starts with '-'.
    if (f.takes_value && eq == std::string_view::npos && i + 1 < args.size())
      out.push_back(args[++i]);
  }
  if (rewrote && !has_confdir) out.push_back("--confd");
  out.insert(out.end(), args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
  return out;
}

Result<std::vector<std::string>> RewriteConfdArgv(const std::vector<std::string>& argv,
                                                  const std::set<std::string>& value_options) {
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--") break;
    if (a.size() > 1 && a[0] == '-') {
      // "--opt value" or "-o value": skip the value too; "--opt=value" and "-ovalue" are whole.
      if (value_options.count(a)) ++i;
      continue;
    }
    if (a != "router") break;
    auto rest =
        RewriteConfdRouterArgs({argv.begin() + static_cast<std::ptrdiff_t>(i) + 1, argv.end()});
    if (!rest) return rest;
    std::vector<std::string> out(argv.begin(), argv.begin() + static_cast<std::ptrdiff_t>(i) + 1);
    out.insert(out.end(), rest->begin(), rest->end());
    return out;
  }
  return argv;
}

}  // namespace berth::cli
