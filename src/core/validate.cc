// Input validation. Every validator here is a hand-written scanner: it reads its input once,
// left to right, so its time is linear in the length whatever the input. There is no std::regex
// anywhere in Berth's product code, and there must not be: libstdc++'s backtracking matcher took
// seconds for a 27-character image reference, doubling per character (issue 11), and recurses
// once per character. Each grammar is written down above its scanner; the accepted languages are
// those of the regular expressions the scanners replaced (tests/unit/core/validate_test.cc).
#include "berth/validate.h"

#include "core/branch_name.h"
#include "core/duration.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdint>

#include "util/strings.h"

namespace berth {
namespace {

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}
bool IsLowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || IsDigit(c);
}
bool IsAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool IsAlnum(char c) {
  return IsAlpha(c) || IsDigit(c);
}
bool IsHex(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
template <typename Pred>
bool AllOf(std::string_view s, Pred p) {
  return std::all_of(s.begin(), s.end(), p);
}

Status Invalid(std::string msg) {
  return Fail(ErrorCode::kInvalidArgument, std::move(msg));
}

// Quotes a user value for an error message: control characters, quotes and every byte above
// 0x7f are escaped, so the message is one line of ASCII whatever the input (a cut through a
// UTF-8 sequence would make the JSON error body unserializable).
std::string Show(std::string_view v) {
  std::string out = "\"";
  for (char c : v.substr(0, 80)) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '"' || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  if (v.size() > 80) out += "...";
  return out + "\"";
}

// domain-component := [A-Za-z0-9] | [A-Za-z0-9] [A-Za-z0-9-]* [A-Za-z0-9]
// domain-name      := domain-component ('.' domain-component)*
bool IsRegistryDomainName(std::string_view s) {
  for (size_t i = 0; i <= s.size();) {
    size_t end = std::min(s.find('.', i), s.size());
    auto c = s.substr(i, end - i);
    if (c.empty() || c.front() == '-' || c.back() == '-' ||
        !AllOf(c, [](char x) { return IsAlnum(x) || x == '-'; }))
      return false;
    i = end + 1;
  }
  return true;
}

// domain := domain-name [':' [0-9]+]      (a domain-name holds no ':')
bool IsRegistryDomain(std::string_view s) {
  auto colon = s.find(':');
  if (colon != std::string_view::npos) {
    auto port = s.substr(colon + 1);
    if (port.empty() || !AllOf(port, IsDigit)) return false;
    s = s.substr(0, colon);
  }
  return IsRegistryDomainName(s);
}

// path-component := [a-z0-9]+ (separator [a-z0-9]+)*,  separator := '.' | '_' | '__' | '-'+
// i.e. starts and ends alphanumeric, and every run of other characters is one separator.
bool IsPathComponent(std::string_view s) {
  if (s.empty() || !IsLowerAlnum(s.front()) || !IsLowerAlnum(s.back())) return false;
  for (size_t i = 0; i < s.size();) {
    if (IsLowerAlnum(s[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < s.size() && !IsLowerAlnum(s[j])) ++j;
    auto sep = s.substr(i, j - i);
    if (sep != "." && sep != "_" && sep != "__" && !AllOf(sep, [](char x) { return x == '-'; }))
      return false;
    i = j;
  }
  return true;
}

// path := path-component ('/' path-component)*
bool IsPath(std::string_view s) {
  for (size_t i = 0; i <= s.size();) {
    size_t end = std::min(s.find('/', i), s.size());
    if (!IsPathComponent(s.substr(i, end - i))) return false;
    i = end + 1;
  }
  return true;
}

// tag := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
bool IsTag(std::string_view s) {
  if (s.empty() || s.size() > 128 || s.front() == '.' || s.front() == '-') return false;
  return AllOf(s, [](char x) { return IsAlnum(x) || x == '_' || x == '.' || x == '-'; });
}

// digest    := algorithm ':' [0-9a-fA-F]{32,}
// algorithm := [A-Za-z][A-Za-z0-9]* ([-_+.] [A-Za-z][A-Za-z0-9]*)*
bool IsDigest(std::string_view s) {
  auto colon = s.find(':');
  if (colon == std::string_view::npos) return false;
  auto hex = s.substr(colon + 1);
  if (hex.size() < 32 || !AllOf(hex, IsHex)) return false;
  bool want_letter = true;  // at the start and after each separator
  for (char c : s.substr(0, colon)) {
    if (want_letter) {
      if (!IsAlpha(c)) return false;
      want_letter = false;
    } else if (c == '-' || c == '_' || c == '+' || c == '.') {
      want_letter = true;
    } else if (!IsAlnum(c)) {
      return false;
    }
  }
  return !want_letter;
}

// The grammar is above ValidateImageRef.
bool IsImageReference(std::string_view s) {
  if (auto at = s.find('@'); at != std::string_view::npos) {
    if (!IsDigest(s.substr(at + 1))) return false;
    s = s.substr(0, at);
  }
  auto colon = s.rfind(':');
  auto slash = s.rfind('/');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    if (!IsTag(s.substr(colon + 1))) return false;
    s = s.substr(0, colon);
  }
  if (IsPath(s)) return true;
  auto first = s.find('/');
  return first != std::string_view::npos && IsRegistryDomain(s.substr(0, first)) &&
         IsPath(s.substr(first + 1));
}

// label-name := [A-Za-z0-9] | [A-Za-z0-9] [-A-Za-z0-9_.]{0,61} [A-Za-z0-9]
bool IsLabelName(std::string_view s) {
  if (s.empty() || s.size() > 63 || !IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  return AllOf(s, [](char x) { return IsAlnum(x) || x == '-' || x == '_' || x == '.'; });
}

enum class QuantityError { kNone, kSyntax, kRange };

// cpu := [0-9]+ ['.' [0-9]+] ['m']     (at most 20 characters; 1 nano-CPU to 4096 CPUs)
// Exact decimal arithmetic: the integer part times 10^9 (10^6 with 'm') plus as many fraction
// digits; further digits only decide whether 4096 is exceeded. A positive quantity below one
// nano-CPU is out of range: Docker would read its 0 as "no limit".
QuantityError ParseCpu(std::string_view q, int64_t& nanos) {
  if (q.empty() || q.size() > 20) return QuantityError::kSyntax;
  const bool milli = q.back() == 'm';
  if (milli) q.remove_suffix(1);
  auto dot = q.find('.');
  auto whole = q.substr(0, dot);
  auto frac = dot == std::string_view::npos ? std::string_view() : q.substr(dot + 1);
  if (whole.empty() || !AllOf(whole, IsDigit)) return QuantityError::kSyntax;
  if (dot != std::string_view::npos && (frac.empty() || !AllOf(frac, IsDigit)))
    return QuantityError::kSyntax;
  whole.remove_prefix(std::min(whole.find_first_not_of('0'), whole.size()));
  if (whole.size() > 7) return QuantityError::kRange;  // above 4096000m
  const size_t scale = milli ? 6 : 9;
  uint64_t v = 0;
  for (char c : whole) v = v * 10 + static_cast<uint64_t>(c - '0');
  for (size_t k = 0; k < scale; ++k)
    v = v * 10 + (k < frac.size() ? static_cast<uint64_t>(frac[k] - '0') : 0);
  const bool more = frac.size() > scale && frac.find_first_not_of('0', scale) != frac.npos;
  constexpr uint64_t kMax = 4096ULL * 1000000000ULL;
  if (v == 0 || v > kMax || (v == kMax && more)) return QuantityError::kRange;
  nanos = static_cast<int64_t>(v);
  return QuantityError::kNone;
}

// memory := [0-9]+ [unit],  unit := 'Ki' | 'Mi' | 'Gi' | 'Ti' | 'k' | 'M' | 'G' | 'T'
// (at most 20 characters; 1 byte to 2^50 bytes). Digits are accumulated with a cap, so no
// number overflows (std::stoll threw out_of_range here: a 500 for "99999999999999999999").
QuantityError ParseMemory(std::string_view q, int64_t& bytes) {
  if (q.empty() || q.size() > 20) return QuantityError::kSyntax;
  struct Unit {
    std::string_view suffix;
    int64_t mul;
  };
  static constexpr Unit kUnits[] = {{"Ki", int64_t{1} << 10},
                                    {"Mi", int64_t{1} << 20},
                                    {"Gi", int64_t{1} << 30},
                                    {"Ti", int64_t{1} << 40},
                                    {"k", 1000},
                                    {"M", 1000 * 1000},
                                    {"G", 1000 * 1000 * 1000},
                                    {"T", int64_t{1000} * 1000 * 1000 * 1000}};
  int64_t mul = 1;
  for (const auto& u : kUnits) {
    if (util::EndsWith(q, u.suffix)) {
      mul = u.mul;
      q.remove_suffix(u.suffix.size());
      break;
    }
  }
  if (q.empty() || !AllOf(q, IsDigit)) return QuantityError::kSyntax;
  constexpr int64_t kMax = int64_t{1} << 50;
  int64_t v = 0;
  for (char c : q) v = std::min(v * 10 + (c - '0'), kMax + 1);  // v <= 2^50+1: no overflow
  if (v <= 0 || v > kMax / mul) return QuantityError::kRange;
  bytes = v * mul;
  return QuantityError::kNone;
}

// Directories a volume must not replace (nor any parent of them: "/", "/usr" for "/usr/lib").
constexpr std::string_view kSystemDirs[] = {
    "/bin",      "/boot",    "/dev",     "/etc",       "/lib",       "/lib32",
    "/lib64",    "/libx32",  "/proc",    "/run",       "/sbin",      "/sys",
    "/usr",      "/usr/bin", "/usr/lib", "/usr/lib32", "/usr/lib64", "/usr/libexec",
    "/usr/sbin", "/var",     "/var/lib", "/var/run"};
// The kernel's pseudo-filesystems: nothing inside them either.
constexpr std::string_view kKernelDirs[] = {"/proc", "/sys", "/dev"};

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

// Docker's reference grammar (github.com/distribution/reference), as Berth accepts it:
//   reference        := name [':' tag] ['@' digest]
//   name             := [domain '/'] path
//   domain           := domain-name [':' port]
//   domain-name      := domain-component ('.' domain-component)*
//   domain-component := [A-Za-z0-9] | [A-Za-z0-9] [A-Za-z0-9-]* [A-Za-z0-9]
//   port             := [0-9]+
//   path             := path-component ('/' path-component)*
//   path-component   := [a-z0-9]+ (separator [a-z0-9]+)*
//   separator        := '.' | '_' | '__' | '-'+
//   tag              := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
//   digest           := algorithm ':' [0-9a-fA-F]{32,}
//   algorithm        := [A-Za-z][A-Za-z0-9]* ([-_+.] [A-Za-z][A-Za-z0-9]*)*
// At most 512 characters. The grammar is ambiguous only in where the domain ends; the scanner
// resolves it by position: '@' starts the digest (no other part holds one), a ':' after the last
// '/' starts the tag (a port is always followed by '/'), and a domain, having no '/', is exactly
// the first '/'-separated segment, tried only when the whole name is not a path.
Status ValidateImageRef(std::string_view image) {
  if (image.empty()) return Invalid("image must not be empty");
  if (image.size() > 512) return Invalid("image reference is longer than 512 characters");
  if (!IsImageReference(image))
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
  // inet_pton reads a C string: a NUL inside would hide what follows it (fuzzing found
  // "172.21.133.1\0" "2" accepted). The longest IPv6 text is 45 characters.
  if (ip.size() > 45 || ip.find('\0') != std::string_view::npos)
    return Invalid("host IP " + Show(ip) + " is not an IPv4 or IPv6 address");
  std::string s(ip);
  unsigned char buf[16];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1)
    return {};
  return Invalid("host IP " + Show(ip) + " is not an IPv4 or IPv6 address");
}

// Kubernetes' label key: [prefix '/'] label-name, prefix a DNS subdomain (ValidateDomain).
Status ValidateLabelKey(std::string_view key) {
  std::string_view name = key;
  auto slash = key.find('/');
  if (slash != std::string_view::npos) {
    auto s = ValidateDomain(key.substr(0, slash));
    if (!s) return Invalid("label key " + Show(key) + ": prefix " + s.error().message);
    name = key.substr(slash + 1);
  }
  if (!IsLabelName(name)) return Invalid("label key " + Show(key) + " is not a valid label name");
  return {};
}

// label-value := "" | label-name
Status ValidateLabelValue(std::string_view value) {
  if (!value.empty() && !IsLabelName(value))
    return Invalid("label value " + Show(value) + " is not valid (<= 63 chars of [-A-Za-z0-9_.])");
  return {};
}

// env-name := [A-Za-z_] [A-Za-z0-9_]*     (at most 255 characters)
Status ValidateEnvName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 255 && !IsDigit(name.front());
  for (char c : name) ok = ok && (IsAlnum(c) || c == '_');
  if (!ok) return Invalid("environment variable name " + Show(name) + " is not valid");
  return {};
}

Status ValidateQuantity(std::string_view q, bool cpu) {
  int64_t unused = 0;
  switch (cpu ? ParseCpu(q, unused) : ParseMemory(q, unused)) {
    case QuantityError::kNone:
      return {};
    case QuantityError::kSyntax:
      return Invalid(std::string(cpu ? "CPU" : "memory") + " quantity " + Show(q) +
                     (cpu ? " is not valid (e.g. 500m, 2)" : " is not valid (e.g. 100Mi, 2Gi)"));
    case QuantityError::kRange:
      break;
  }
  return Invalid(
      std::string(cpu ? "CPU" : "memory") + " quantity " + Show(q) +
      (cpu ? " is out of range (1 nano-CPU to 4096 CPUs)" : " is out of range (1 to 1Pi)"));
}

Result<int64_t> CpuToNanoCpus(std::string_view q) {
  int64_t v = 0;
  switch (ParseCpu(q, v)) {
    case QuantityError::kNone:
      return v;
    case QuantityError::kSyntax:
      return Fail(ErrorCode::kInvalidArgument, "bad CPU quantity " + Show(q));
    case QuantityError::kRange:
      break;
  }
  return Fail(ErrorCode::kInvalidArgument, "CPU quantity out of range " + Show(q));
}

Result<int64_t> MemoryToBytes(std::string_view q) {
  int64_t v = 0;
  switch (ParseMemory(q, v)) {
    case QuantityError::kNone:
      return v;
    case QuantityError::kSyntax:
      return Fail(ErrorCode::kInvalidArgument, "bad memory quantity " + Show(q));
    case QuantityError::kRange:
      break;
  }
  return Fail(ErrorCode::kInvalidArgument, "memory quantity out of range " + Show(q));
}

// A mount point for the persistent volume: an absolute, normalized path -- '/' first, no empty,
// "." or ".." component (so no "//" and no trailing '/'), at most 255 bytes, no control character
// (NUL included), no ':' or ',' (the engine's mount-spec separators) -- that is not "/", not a
// system directory and not a parent of one (the volume would hide the image's programs,
// libraries or configuration), and not inside /proc, /sys or /dev (the kernel's interfaces).
// Normalized rather than normalized-for-you: "/proc/" or "/x/../proc" must not slip past the
// list, and a path means one thing to every engine.
Status ValidateVolumeMount(std::string_view path) {
  const std::string what = "volume mount " + Show(path);
  if (path.empty() || path.front() != '/')
    return Invalid(what + " must be an absolute path (e.g. /apps)");
  if (path.size() > 255) return Invalid(what + " is longer than 255 characters");
  for (char c : path)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == ':' || c == ',')
      return Invalid(what + " has invalid characters (control characters, ':' or ',')");
  if (path == "/") return Invalid(what + " is the root directory; use a directory of its own");
  for (size_t i = 1; i <= path.size();) {
    size_t end = std::min(path.find('/', i), path.size());
    auto part = path.substr(i, end - i);
    if (part.empty() || part == "." || part == "..")
      return Invalid(what +
                     " must be an absolute path without empty, '.' or '..' components "
                     "or a trailing '/'");
    i = end + 1;
  }
  for (std::string_view dir : kSystemDirs) {
    if (path == dir) return Invalid(what + " is a system directory; use a directory of its own");
    if (dir.size() > path.size() && dir.substr(0, path.size()) == path && dir[path.size()] == '/')
      return Invalid(what + " contains the system directory " + std::string(dir) +
                     "; use a directory of its own");
  }
  for (std::string_view dir : kKernelDirs)
    if (path.size() > dir.size() && path.substr(0, dir.size()) == dir && path[dir.size()] == '/')
      return Invalid(what + " is inside " + std::string(dir) +
                     ", the kernel's interface; use a directory of its own");
  return {};
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
  const struct {
    const char* field;
    const std::string& value;
    bool cpu;
  } quantities[] = {{"resources.limits.cpu", spec.resources.cpu_limit, true},
                    {"resources.requests.cpu", spec.resources.cpu_request, true},
                    {"resources.limits.memory", spec.resources.memory_limit, false},
                    {"resources.requests.memory", spec.resources.memory_request, false}};
  for (const auto& q : quantities)
    if (auto s = ValidateQuantity(q.value, q.cpu); !s)
      return Invalid(std::string(q.field) + ": " + s.error().message);
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
  if (!spec.volume_mount.empty())
    if (auto s = ValidateVolumeMount(spec.volume_mount); !s) return s;
  if (!spec.controller.empty() && spec.controller != "deployment" && spec.controller != "rc")
    return Invalid("controller must be \"deployment\" or \"rc\"");
  if (spec.command.size() > 256) return Invalid("command has too many arguments");
  for (const auto& a : spec.command)
    if (a.find('\0') != std::string::npos) return Invalid("command arguments must not contain NUL");
  if (!spec.branch.empty())
    if (auto s = core::ValidateBranch(spec.branch); !s) return s;
  if (spec.reload_command.size() > 4096) return Invalid("reload_command is longer than 4096 bytes");
  for (char c : spec.reload_command)
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
      return Invalid("reload_command holds a control character");
  if (spec.ttl_seconds < 0) return Invalid("ttl must not be negative");
  if (spec.ttl_seconds > core::kMaxTtlSeconds) return Invalid("ttl must be at most ten years");
  if (spec.idle_sleep_seconds < -1 || spec.idle_sleep_seconds > core::kMaxTtlSeconds)
    return Invalid("idle sleep must be -1 (never), 0 (the configured default) or a duration");
  return {};
}

}  // namespace berth
