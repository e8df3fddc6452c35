// The completion engine and the man pages read the real CLI definition (BuildApp): these tests
// catch a command or flag that would not complete, or a page that would not render.
#include "cli/completion.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "cli/cli.h"
#include "cli/manpage.h"

namespace berth::cli {
namespace {

class CompletionTest : public ::testing::Test {
 protected:
  CliState st_;
  std::unique_ptr<CLI::App> app_ = BuildApp(st_);

  Completion Run(std::vector<std::string> before, std::string current) {
    return Complete(*app_, std::move(before), std::move(current));
  }
  static bool Has(const Completion& c, const std::string& w) {
    return std::find(c.words.begin(), c.words.end(), w) != c.words.end();
  }
};

TEST_F(CompletionTest, CommandsByPrefixAndNoHiddenOnes) {
  auto c = Run({}, "re");
  EXPECT_TRUE(Has(c, "rebuild"));
  EXPECT_TRUE(Has(c, "re_create"));
  EXPECT_FALSE(Has(c, "list"));
  auto all = Run({}, "");
  EXPECT_TRUE(Has(all, "completion"));
  EXPECT_TRUE(Has(all, "status"));
  EXPECT_FALSE(Has(all, "__complete"));
  EXPECT_EQ(all.live, Completion::Live::kNone);
}

TEST_F(CompletionTest, GlobalOptionValuesAreSkippedWhenFindingTheCommand) {
  // "-o json" takes a value: "json" is not the command, "view" is.
  auto c = Run({"-o", "json", "view"}, "");
  EXPECT_EQ(c.live, Completion::Live::kEnvironments);
  EXPECT_TRUE(c.words.empty());
}

TEST_F(CompletionTest, FlagsOfTheCommandAndGlobalOnes) {
  auto c = Run({"create"}, "--i");
  EXPECT_TRUE(Has(c, "--image"));
  auto g = Run({"create"}, "--na");
  EXPECT_TRUE(Has(g, "--namespace"));  // global options stay valid below a command
}

TEST_F(CompletionTest, EnvironmentNamesForCommandsThatTakeOneButNotCreate) {
  for (const char* cmd : {"view", "get", "rebuild", "delete", "logs", "wait", "sleep", "wake"}) {
    auto c = Run({cmd}, "fe");
    EXPECT_EQ(c.live, Completion::Live::kEnvironments) << cmd;
    EXPECT_EQ(c.value_prefix, "fe") << cmd;
  }
  EXPECT_EQ(Run({"create"}, "").live, Completion::Live::kNone);
  // Only one name: after it, nothing more to offer.
  EXPECT_EQ(Run({"view", "demo"}, "").live, Completion::Live::kNone);
}

TEST_F(CompletionTest, TheOriginalsNameFlagWithEqualsAsEachShellSplitsIt) {
  auto zsh = Run({"re_view"}, "--name=te");
  EXPECT_EQ(zsh.live, Completion::Live::kEnvironments);
  EXPECT_EQ(zsh.emit_prefix, "--name=");
  EXPECT_EQ(zsh.value_prefix, "te");
  // bash splits at '=': "--name" "=" "te".
  auto bash = Run({"re_view", "--name", "="}, "te");
  EXPECT_EQ(bash.live, Completion::Live::kEnvironments);
  EXPECT_EQ(bash.value_prefix, "te");
  auto bash_empty = Run({"re_view", "--name"}, "=");
  EXPECT_EQ(bash_empty.live, Completion::Live::kEnvironments);
  EXPECT_EQ(bash_empty.value_prefix, "");
  // re_create names a new environment: nothing to look up.
  EXPECT_EQ(Run({"re_create"}, "--name=").live, Completion::Live::kNone);
}

TEST_F(CompletionTest, ChoicesAndNamespaceFromTheCommandLine) {
  auto o = Run({"list", "-o"}, "j");
  EXPECT_EQ(o.words, std::vector<std::string>{"json"});
  auto ns = Run({"-n"}, "");
  EXPECT_EQ(ns.live, Completion::Live::kNamespaces);
  auto in_ns = Run({"-n", "team-a", "view"}, "");
  EXPECT_EQ(in_ns.ns, "team-a");
  auto cfg = Run({"--config=/tmp/b.toml", "view"}, "");
  EXPECT_EQ(cfg.config, "/tmp/b.toml");
}

TEST_F(CompletionTest, ScriptsForEachShellAndAClearErrorOtherwise) {
  for (const char* sh : {"bash", "zsh", "fish"}) {
    auto s = CompletionScript(sh);
    ASSERT_TRUE(s) << sh;
    EXPECT_NE(s->find("__complete --shell " + std::string(sh)), std::string::npos) << sh;
  }
  auto bad = CompletionScript("tcsh");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(CompletionTest, AManPagePerVisibleCommandWithEscapedRoff) {
  auto pages = ManPages(*app_, "9.9");
  auto find = [&](const std::string& f) {
    return std::find_if(pages.begin(), pages.end(), [&](const ManPage& p) { return p.file == f; });
  };
  ASSERT_NE(find("berth.1"), pages.end());
  ASSERT_NE(find("berth-dns-show.1"), pages.end());
  EXPECT_EQ(find("berth-__complete.1"), pages.end());
  auto create = find("berth-create.1");
  ASSERT_NE(create, pages.end());
  EXPECT_NE(create->text.find(".TH BERTH\\-CREATE 1"), std::string::npos);
  EXPECT_NE(create->text.find("\\fB\\-\\-image\\fR"), std::string::npos);
  EXPECT_NE(create->text.find(".SH EXIT STATUS"), std::string::npos);
  for (const auto& p : pages)
    for (size_t at = 0; (at = p.text.find("\n.", at)) != std::string::npos; ++at) {
      // Every line that starts with '.' is a request this generator writes, not user text.
      const std::string req = p.text.substr(at + 1, 3);
      EXPECT_TRUE(req == ".TH" || req == ".SH" || req == ".TP" || req == ".B ")
          << p.file << ": " << p.text.substr(at + 1, 40);
    }
}

}  // namespace
}  // namespace berth::cli
