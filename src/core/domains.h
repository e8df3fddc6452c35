// Which domains an environment may claim. Pure logic; the claim itself is a store key
// (store/claims.h), so that a domain belongs to whoever claimed it first.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "berth/result.h"

namespace berth::core {

// The form a domain is claimed under: ASCII lower-case, without the trailing dot of a fully
// qualified name, so "Demo.Example.COM." and "demo.example.com" are one claim.
std::string NormalizeDomain(std::string_view domain);

// True for a bare IP address: no top-level domain is all digits, so "10.0.0.1" (and "127.1")
// end in a numeric label. Expects a valid DNS name (IPv6 literals already fail that).
bool IsIpLiteral(std::string_view domain);

// A normalized, valid domain may be claimed when it lies strictly under a base domain (the
// names Berth hands out: <name>.<base>) or equals or lies under a suffix of the admin's
// allow-list. Bare IPs never. kInvalidArgument naming the domain and what is allowed.
Status CheckDomainAllowed(std::string_view domain, const std::vector<std::string>& base_domains,
                          const std::vector<std::string>& allowed_domains);

}  // namespace berth::core
