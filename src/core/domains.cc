#include "core/domains.h"

#include "util/strings.h"

namespace berth::core {
namespace {

// `domain` is `suffix` or lies under it, on a label boundary ("xexample.com" is not under
// "example.com").
bool Under(std::string_view domain, std::string_view suffix, bool or_equal) {
  if (domain == suffix) return or_equal;
  return domain.size() > suffix.size() + 1 && domain.ends_with(suffix) &&
         domain[domain.size() - suffix.size() - 1] == '.';
}

}  // namespace

std::string NormalizeDomain(std::string_view domain) {
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  std::string out(domain);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool IsIpLiteral(std::string_view domain) {
  auto dot = domain.rfind('.');
  std::string_view top = dot == std::string_view::npos ? domain : domain.substr(dot + 1);
  return !top.empty() && top.find_first_not_of("0123456789") == std::string_view::npos;
}

Status CheckDomainAllowed(std::string_view domain, const std::vector<std::string>& base_domains,
                          const std::vector<std::string>& allowed_domains) {
  const std::string shown = "domain " + std::string(domain.substr(0, 253));
  if (IsIpLiteral(domain))
    return Fail(ErrorCode::kInvalidArgument, shown + " is an IP address; give a domain name");
  for (const auto& base : base_domains)
    if (Under(domain, base, /*or_equal=*/false)) return {};
  for (const auto& allowed : allowed_domains)
    if (Under(domain, allowed, /*or_equal=*/true)) return {};
  std::vector<std::string> under;
  for (const auto& base : base_domains) under.push_back("*." + base);
  for (const auto& allowed : allowed_domains) under.push_back(allowed + ", *." + allowed);
  return Fail(ErrorCode::kInvalidArgument,
              shown + " is not under a configured base domain (" +
                  (under.empty() ? std::string("none") : util::Join(under, ", ")) +
                  "); an admin may allow it in environments.allowed_domains");
}

}  // namespace berth::core
