// Input validation, in one place. Everything a user types is checked here before it may
// reach a store key, a container name, an nginx config, a shell or a path. Every validator runs
// in time linear in its input (hand-written scanners; no std::regex: see validate.cc).
#pragma once

#include <string>
#include <string_view>

#include "berth/environment.h"
#include "berth/result.h"

namespace berth {

// Longest environment name: leaves room in a 63-char DNS label for prefixes Berth adds
// ("berth-" container names, Kubernetes generated pod suffixes).
inline constexpr size_t kMaxNameLength = 40;

Status ValidateName(std::string_view name);       // DNS-1123 label, <= kMaxNameLength
Status ValidateNamespace(std::string_view ns);    // DNS-1123 label, <= 63
Status ValidateDomain(std::string_view domain);   // lower-case DNS name, labels <= 63, total <= 253
Status ValidateImageRef(std::string_view image);  // [registry[:port]/]path[:tag][@sha256:...]
Status ValidatePort(int port);                    // 1..65535
Status ValidateHostIp(std::string_view ip);       // IPv4 dotted quad or IPv6 literal
Status ValidateLabelKey(std::string_view key);    // Kubernetes label key rules
Status ValidateLabelValue(std::string_view value);
Status ValidateEnvName(std::string_view name);          // C identifier
Status ValidateQuantity(std::string_view q, bool cpu);  // "500m", "2", "2000Mi", "1Gi"
// An absolute, normalized path that is not "/", a system directory or a parent of one, and not
// inside /proc, /sys or /dev (the rule is written out in validate.cc).
Status ValidateVolumeMount(std::string_view path);

// Checks a whole spec (after defaults are applied); the first problem found, naming the field.
Status ValidateSpec(const EnvironmentSpec& spec);

// Fills defaults: ports, domains from base domains, created_at.
void ApplyDefaults(EnvironmentSpec& spec, const std::vector<std::string>& base_domains);

// Quantities in Docker units.
Result<int64_t> CpuToNanoCpus(std::string_view q);  // "500m" -> 500000000
Result<int64_t> MemoryToBytes(std::string_view q);  // "2000Mi" -> 2097152000

}  // namespace berth
