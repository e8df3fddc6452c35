// CI runs on branches, and branch names are not DNS labels: "feature/JIRA-123_Add stuff" must
// become one stable, valid environment name, the same every time the pipeline runs.
#pragma once

#include <string>
#include <string_view>

#include "berth/result.h"

namespace berth::core {

// The label a branch's environment carries: berth.dev/branch=<NameForBranch(branch)>.
inline constexpr std::string_view kBranchLabel = "berth.dev/branch";

// The longest branch name taken (git allows more; no CI system hands out longer ones).
inline constexpr size_t kMaxBranchLength = 255;

// Whether `branch` may be recorded: 1..255 bytes, no control characters, no NUL.
Status ValidateBranch(std::string_view branch);

// The environment name for a branch: ASCII lower-case, every run of other characters one "-",
// no "-" at either end, "b-" in front when it would not start with a letter ("branch" when
// nothing is left), and at most 40 characters: a longer one is cut to 33 and given "-" and six
// hex digits of a hash of the whole branch name, so two long branches that share a prefix do
// not meet. Linear in the input; the result always passes ValidateName.
Result<std::string> NameForBranch(std::string_view branch);

}  // namespace berth::core
