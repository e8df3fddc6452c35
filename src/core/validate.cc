#include "berth/validate.h"

#include <arpa/inet.h>

#include <cctype>
#include <regex>

#include "util/strings.h"

namespace berth {
namespace {

bool IsLowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

Status Invalid(std::string msg) {
  return Fail(ErrorCode::kInvalidArgument, std::move(msg));
}

// Quotes a user value for an error message without echoing control characters.
std::string Show(std::string_view v) {
  std::string out = "\"";
  for (char c : v.substr(0, 80)) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '"' || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  if (v.size() > 80) out += "...";
  return out + "\"";
}

Status ValidateDns1123Label(std::string_view what, std::string_view v, size_t max) {
  if (v.empty()) return Invalid(std::string(what) + " must not be empty");
  if (v.size() > max)
    return Invalid(std::string(what) + " " + Show(v) + " is longer than " + std::to_string(max) +
                   " characters");
  for (char c : v) {
    if (!IsLowerAlnum(c) && c != '-')
      return Invalid(std::string(what) + " " + Show(v) +
                     " may contain only lower-case letters, digits and '-'");
  }
  if (v.front() == '-' || v.back() == '-')
    return Invalid(std::string(what) + " " + Show(v) +
                   " must start and end with a letter or digit");
  return {};
}

}  // namespace

Status ValidateName(std::string_view name) {
  auto s = ValidateDns1123Label("name", name, kMaxNameLength);
  if (!s) return s;
  if (!std::isalpha(static_cast<unsigned char>(name.front())))
    return Invalid("name " + Show(name) + " must start with a letter");
  return {};
}

Status ValidateNamespace(std::string_view ns) {
  return ValidateDns1123Label("namespace", ns, 63);
}

Status ValidateDomain(std::string_view domain) {
  if (domain.empty()) return Invalid("domain must not be empty");
  if (domain.size() > 253)
    return Invalid("domain " + Show(domain) + " is longer than 253 characters");
  if (domain.back() == '.') return Invalid("domain " + Show(domain) + " must not end with '.'");
  for (const auto& label : util::Split(domain, '.', false)) {
    auto s = ValidateDns1123Label("domain label", label, 63);
    if (!s) return Invalid("domain " + Show(domain) + ": " + s.error().message);
  }
  return {};
}

Status ValidateImageRef(std::string_view image) {
  // The distribution reference grammar: [domain[:port]/]path[:tag][@algo:hex].
  static const std::regex re(
      R"(^((?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?/)?)"
      R"([a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*)*)"
      R"((?::[\w][\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$)");
  if (image.empty()) return Invalid("image must not be empty");
  if (image.size() > 512) return Invalid("image reference is longer than 512 characters");
  if (!std::regex_match(image.begin(), image.end(), re))
    return Invalid("image " + Show(image) +
                   " is not a valid image reference ([registry[:port]/]name[:tag][@digest], "
                   "lower-case name)");
  return {};
}

Status ValidatePort(int port) {
  if (port < 1 || port > 65535)
    return Invalid("port " + std::to_string(port) + " is out of range 1-65535");
  return {};
}

Status ValidateHostIp(std::string_view ip) {
  std::string s(ip);
  unsigned char buf[16];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1)
    return {};
  return Invalid("host IP " + Show(ip) + " is not an IPv4 or IPv6 address");
}

Status ValidateLabelKey(std::string_view key) {
  static const std::regex name_re(R"(^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$)");
  std::string_view name = key;
  auto slash = key.find('/');
  if (slash != std::string_view::npos) {
    auto s = ValidateDomain(key.substr(0, slash));
    if (!s) return Invalid("label key " + Show(key) + ": prefix " + s.error().message);
    name = key.substr(slash + 1);
  }
  if (!std::regex_match(name.begin(), name.end(), name_re))
    return Invalid("label key " + Show(key) + " is not a valid label name");
  return {};
}

Status ValidateLabelValue(std::string_view value) {
  static const std::regex re(R"(^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$)");
  if (!std::regex_match(value.begin(), value.end(), re))
    return Invalid("label value " + Show(value) + " is not valid (<= 63 chars of [-A-Za-z0-9_.])");
  return {};
}

Status ValidateEnvName(std::string_view name) {
  static const std::regex re(R"(^[A-Za-z_][A-Za-z0-9_]*$)");
  if (name.size() > 255 || !std::regex_match(name.begin(), name.end(), re))
    return Invalid("environment variable name " + Show(name) + " is not valid");
  return {};
}

Status ValidateQuantity(std::string_view q, bool cpu) {
  if (cpu ? !CpuToNanoCpus(q) : !MemoryToBytes(q))
    return Invalid(std::string(cpu ? "CPU" : "memory") + " quantity " + Show(q) +
                   (cpu ? " is not valid (e.g. 500m, 2)" : " is not valid (e.g. 100Mi, 2Gi)"));
  return {};
}

Result<int64_t> CpuToNanoCpus(std::string_view q) {
  static const std::regex re(R"(^([0-9]+)(\.[0-9]+)?(m?)$)");
  std::string s(q);
  std::smatch m;
  if (!std::regex_match(s, m, re) || s.size() > 20)
    return Fail(ErrorCode::kInvalidArgument, "bad CPU quantity " + Show(q));
  double v = std::stod(m[1].str() + m[2].str());
  if (m[3] == "m") v /= 1000.0;
  if (v <= 0 || v > 4096)
    return Fail(ErrorCode::kInvalidArgument, "CPU quantity out of range " + Show(q));
  return static_cast<int64_t>(v * 1e9);
}

Result<int64_t> MemoryToBytes(std::string_view q) {
  static const std::regex re(R"(^([0-9]+)(Ki|Mi|Gi|Ti|k|M|G|T)?$)");
  std::string s(q);
  std::smatch m;
  if (!std::regex_match(s, m, re) || s.size() > 20)
    return Fail(ErrorCode::kInvalidArgument, "bad memory quantity " + Show(q));
  int64_t v = std::stoll(m[1].str());
  std::string u = m[2].str();
  int64_t mul = 1;
  if (u == "Ki")
    mul = 1024;
  else if (u == "Mi")
    mul = 1024LL * 1024;
  else if (u == "Gi")
    mul = 1024LL * 1024 * 1024;
  else if (u == "Ti")
    mul = 1024LL * 1024 * 1024 * 1024;
  else if (u == "k")
    mul = 1000;
  else if (u == "M")
    mul = 1000LL * 1000;
  else if (u == "G")
    mul = 1000LL * 1000 * 1000;
  else if (u == "T")
    mul = 1000LL * 1000 * 1000 * 1000;
  if (v <= 0 || v > (int64_t{1} << 50) / mul)
    return Fail(ErrorCode::kInvalidArgument, "memory quantity out of range " + Show(q));
  return v * mul;
}

void ApplyDefaults(EnvironmentSpec& spec, const std::vector<std::string>& base_domains) {
  if (spec.ns.empty()) spec.ns = "default";
  if (spec.ports.empty()) spec.ports = DefaultPorts();
  if (spec.domains.empty())
    for (const auto& base : base_domains) spec.domains.push_back(spec.name + "." + base);
  if (spec.created_at.empty()) spec.created_at = NowRfc3339();
  if (spec.generation < 1) spec.generation = 1;
}

Status ValidateSpec(const EnvironmentSpec& spec) {
  if (auto s = ValidateNamespace(spec.ns); !s) return s;
  if (auto s = ValidateName(spec.name); !s) return s;
  if (auto s = ValidateImageRef(spec.image); !s) return s;
  if (spec.replicas < 0 || spec.replicas > 100)
    return Invalid("replicas must be between 0 and 100");
  if (spec.ports.size() > 16) return Invalid("at most 16 ports");
  std::vector<std::string> seen_names;
  std::vector<int> seen_ports;
  for (const auto& p : spec.ports) {
    if (auto s = ValidateDns1123Label("port name", p.name, 15); !s) return s;
    if (auto s = ValidatePort(p.container_port); !s)
      return Invalid("port " + p.name + ": container " + s.error().message);
    if (p.host_port != 0) {
      if (auto s = ValidatePort(p.host_port); !s)
        return Invalid("port " + p.name + ": host " + s.error().message);
    }
    for (const auto& n : seen_names)
      if (n == p.name) return Invalid("port name \"" + p.name + "\" is used twice");
    for (int c : seen_ports)
      if (c == p.container_port)
        return Invalid("container port " + std::to_string(c) + " is used twice");
    seen_names.push_back(p.name);
    seen_ports.push_back(p.container_port);
  }
  if (auto s = ValidateQuantity(spec.resources.cpu_limit, true); !s) return s;
  if (auto s = ValidateQuantity(spec.resources.cpu_request, true); !s) return s;
  if (auto s = ValidateQuantity(spec.resources.memory_limit, false); !s) return s;
  if (auto s = ValidateQuantity(spec.resources.memory_request, false); !s) return s;
  if (*CpuToNanoCpus(spec.resources.cpu_request) > *CpuToNanoCpus(spec.resources.cpu_limit))
    return Invalid("CPU request is above the CPU limit");
  if (*MemoryToBytes(spec.resources.memory_request) > *MemoryToBytes(spec.resources.memory_limit))
    return Invalid("memory request is above the memory limit");
  for (const auto& [k, v] : spec.env) {
    if (auto s = ValidateEnvName(k); !s) return s;
    if (v.find('\0') != std::string::npos || v.size() > 32768)
      return Invalid("environment variable " + k + " has an invalid value");
  }
  for (const auto& [k, v] : spec.labels) {
    if (auto s = ValidateLabelKey(k); !s) return s;
    if (auto s = ValidateLabelValue(v); !s) return s;
  }
  if (spec.domains.size() > 16) return Invalid("at most 16 domains");
  for (const auto& d : spec.domains)
    if (auto s = ValidateDomain(d); !s) return s;
  if (!spec.volume_mount.empty()) {
    if (spec.volume_mount.front() != '/' || spec.volume_mount.find("..") != std::string::npos ||
        spec.volume_mount.size() > 255)
      return Invalid("volume mount " + Show(spec.volume_mount) + " must be an absolute path");
    for (char c : spec.volume_mount)
      if (static_cast<unsigned char>(c) < 0x20 || c == ':' || c == ',')
        return Invalid("volume mount " + Show(spec.volume_mount) + " has invalid characters");
  }
  if (!spec.controller.empty() && spec.controller != "deployment" && spec.controller != "rc")
    return Invalid("controller must be \"deployment\" or \"rc\"");
  if (spec.command.size() > 256) return Invalid("command has too many arguments");
  for (const auto& a : spec.command)
    if (a.find('\0') != std::string::npos) return Invalid("command arguments must not contain NUL");
  if (spec.ttl_seconds < 0) return Invalid("ttl must not be negative");
  return {};
}

}  // namespace berth
