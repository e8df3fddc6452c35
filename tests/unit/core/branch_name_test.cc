#include "core/branch_name.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "berth/validate.h"

namespace berth::core {
namespace {

TEST(NameForBranch, MakesAStableDnsLabel) {
  EXPECT_EQ(NameForBranch("feature/JIRA-123_Add stuff").value(), "feature-jira-123-add-stuff");
  EXPECT_EQ(NameForBranch("main").value(), "main");
  EXPECT_EQ(NameForBranch("Release/2.3").value(), "release-2-3");
  EXPECT_EQ(NameForBranch("--x--").value(), "x");
  EXPECT_EQ(NameForBranch("123-hotfix").value(), "b-123-hotfix");
  EXPECT_EQ(NameForBranch("///").value(), "branch");
  EXPECT_EQ(NameForBranch("f\xc3\xbcr-m\xc3\xbcller").value(), "f-r-m-ller");
  // The same branch, the same name, every run.
  EXPECT_EQ(NameForBranch("feature/JIRA-123_Add stuff").value(),
            NameForBranch("feature/JIRA-123_Add stuff").value());
}

TEST(NameForBranch, LongBranchesAreCutWithAHashSuffix) {
  const std::string a = "feature/PROJ-4711-a-very-long-description-of-the-change-one";
  const std::string b = "feature/PROJ-4711-a-very-long-description-of-the-change-two";
  auto na = NameForBranch(a), nb = NameForBranch(b);
  ASSERT_TRUE(na && nb);
  EXPECT_LE(na->size(), 40u);
  EXPECT_NE(*na, *nb);  // same 33-character prefix, different branches
  EXPECT_EQ(na->substr(0, 33), "feature-proj-4711-a-very-long-des");
  EXPECT_EQ((*na)[33], '-');
  EXPECT_EQ(*na, NameForBranch(a).value());
  // A cut that ends on a "-" does not leave "--".
  auto n = NameForBranch(std::string(32, 'a') + "/" + std::string(20, 'b'));
  ASSERT_TRUE(n);
  EXPECT_EQ(n->find("--"), std::string::npos) << *n;
  // Exactly 40 stays as it is.
  EXPECT_EQ(NameForBranch(std::string(40, 'x')).value(), std::string(40, 'x'));
  EXPECT_EQ(NameForBranch(std::string(41, 'x')).value().size(), 40u);
}

TEST(NameForBranch, EveryResultIsAValidNameAndBadInputIsRefused) {
  std::set<std::string> seen;
  for (int c = 0; c < 256; ++c) {
    std::string branch = "x" + std::string(1, static_cast<char>(c)) + "y";
    auto n = NameForBranch(branch);
    if (c < 0x20 || c == 0x7f) {
      EXPECT_FALSE(n) << c;
      continue;
    }
    ASSERT_TRUE(n) << c;
    EXPECT_TRUE(ValidateName(*n)) << *n;
  }
  EXPECT_FALSE(NameForBranch(""));
  EXPECT_FALSE(NameForBranch(std::string(256, 'a')));
  EXPECT_TRUE(NameForBranch(std::string(255, '-')));
  EXPECT_FALSE(NameForBranch("a\nb"));
  EXPECT_FALSE(NameForBranch(std::string("a\0b", 3)));
}

}  // namespace
}  // namespace berth::core
