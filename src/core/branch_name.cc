#include "core/branch_name.h"

#include <cstdint>

#include "berth/validate.h"

namespace berth::core {
namespace {

constexpr size_t kMaxName = 40;
constexpr size_t kHashDigits = 6;

// FNV-1a, 64 bits: stable across releases and machines (the name is a contract).
uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string Hex(uint64_t v, size_t digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(digits, '0');
  for (size_t i = digits; i-- > 0; v >>= 4) out[i] = kHex[v & 0xf];
  return out;
}

void TrimDashes(std::string& s) {
  while (!s.empty() && s.back() == '-') s.pop_back();
  size_t lead = 0;
  while (lead < s.size() && s[lead] == '-') ++lead;
  s.erase(0, lead);
}

}  // namespace

Status ValidateBranch(std::string_view branch) {
  if (branch.empty()) return Fail(ErrorCode::kInvalidArgument, "branch must not be empty");
  if (branch.size() > kMaxBranchLength)
    return Fail(ErrorCode::kInvalidArgument,
                "branch is longer than " + std::to_string(kMaxBranchLength) + " bytes");
  for (unsigned char c : branch)
    if (c < 0x20 || c == 0x7f)
      return Fail(ErrorCode::kInvalidArgument, "branch must not contain control characters");
  return {};
}

Result<std::string> NameForBranch(std::string_view branch) {
  if (auto s = ValidateBranch(branch); !s) return Fail(s.error());
  std::string name;
  name.reserve(branch.size());
  for (unsigned char c : branch) {
    if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c - 'A' + 'a');
    bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (keep)
      name += static_cast<char>(c);
    else if (!name.empty() && name.back() != '-')
      name += '-';
  }
  TrimDashes(name);
  if (name.empty()) name = "branch";
  if (name.front() < 'a' || name.front() > 'z') name = "b-" + name;
  if (name.size() > kMaxName) {
    name.resize(kMaxName - 1 - kHashDigits);
    TrimDashes(name);
    name += "-" + Hex(Fnv1a(branch), kHashDigits);
  }
  if (auto s = ValidateName(name); !s) return Fail(s.error());  // by construction; kept honest
  return name;
}

}  // namespace berth::core
