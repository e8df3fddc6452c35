// Shell completion as a person gets it: the scripts `berth completion bash|zsh` print, loaded
// by the real bash and zsh, complete a command and an environment name that a real
// `berth serve` (Podman's Docker API, SQLite) knows about — the names come from the API.
#include <gtest/gtest.h>

#include <filesystem>

#include "support/berth_server.h"
#include "support/images.h"
#include "support/podman.h"
#include "util/fs.h"
#include "util/process.h"

namespace berth::testing {
namespace {

class ShellCompletion : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (PodmanService::SkipRequested()) return;
    auto p = PodmanService::Start();
    ASSERT_TRUE(p) << p.error().message;
    podman_ = p->release();
    auto img = BuildTestImage(*podman_, "berth-completion:1");
    ASSERT_TRUE(img) << img.error().message;
    BerthServerOptions o;
    o.docker_host = podman_->docker_host();
    o.default_image = *img;
    o.pull_policy = "IfNotPresent";
    auto s = BerthServer::Start(o);
    ASSERT_TRUE(s) << s.error().message;
    server_ = s->release();
    for (const char* n : {"feature-42", "fix-7"}) {
      auto r = server_->Cli({"create", n, "--no-wait"});
      ASSERT_EQ(r.exit_code, 0) << r.err << server_->LogTail();
    }
    auto r = server_->Cli({"create", "other-1", "-n", "team-b", "--no-wait"});
    ASSERT_EQ(r.exit_code, 0) << r.err << server_->LogTail();
  }
  static void TearDownTestSuite() {
    if (server_)
      for (const char* n : {"feature-42", "fix-7"})
        server_->Cli({"delete", n, "--purge", "--wait"});
    if (server_) server_->Cli({"delete", "other-1", "-n", "team-b", "--purge", "--wait"});
    delete server_;
    delete podman_;
    server_ = nullptr;
    podman_ = nullptr;
  }
  void SetUp() override {
    if (PodmanService::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_PODMAN=1";
    ASSERT_NE(server_, nullptr);
  }

  // Runs `shell -c script` with the berth binary first on PATH and the server's config.
  util::CommandResult Shell(const std::string& shell, const std::string& script) {
    util::SpawnOptions so;
    so.env_set["BERTH_CONFIG"] = server_->config_path();
    so.env_set["PATH"] = std::filesystem::path(BerthBinary()).parent_path().string() + ":" +
                         std::string(std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin");
    auto r = util::RunCommand({shell, "-c", script}, std::chrono::seconds(60), so);
    if (!r) return util::CommandResult{-1, "", r.error().message, false};
    return *r;
  }

  // bash: the completion function with COMP_WORDS/COMP_CWORD as bash sets them.
  std::string Bash(const std::string& words, int cword) {
    auto r = Shell("bash", "source <(berth completion bash)\nCOMP_WORDS=(" + words +
                               ")\nCOMP_CWORD=" + std::to_string(cword) +
                               "\n_berth\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  // zsh: the completion function with words/CURRENT set and compadd recording its candidates.
  std::string Zsh(const std::string& words, int current) {
    auto r = Shell("zsh",
                   "source <(berth completion zsh)\n"
                   "compadd() { local s=0 a; for a in \"$@\"; do "
                   "if (( s )); then print -r -- \"$a\"; elif [[ $a == -- ]]; then s=1; fi; "
                   "done }\n"
                   "_files() { print -r -- FILES }\n"
                   "words=(" +
                       words + ")\nCURRENT=" + std::to_string(current) + "\n_berth\n");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  static PodmanService* podman_;
  static BerthServer* server_;
};

PodmanService* ShellCompletion::podman_ = nullptr;
BerthServer* ShellCompletion::server_ = nullptr;

TEST_F(ShellCompletion, BashCompletesCommandsAndEnvironmentNames) {
  EXPECT_EQ(Bash("berth reb", 1), "rebuild\n");
  EXPECT_EQ(Bash("berth view f", 2), "feature-42\nfix-7\n");
  EXPECT_EQ(Bash("berth logs fea", 2), "feature-42\n");
  // Another namespace, named on the command line.
  EXPECT_EQ(Bash("berth -n team-b delete ''", 4), "other-1\n");
  // The original's --name=NAME, which bash splits at '='.
  EXPECT_EQ(Bash("berth re_view --name = fi", 4), "fix-7\n");
  EXPECT_EQ(Bash("berth create --ima", 2), "--image\n");
}

TEST_F(ShellCompletion, ZshCompletesCommandsAndEnvironmentNames) {
  if (util::FindExecutable("zsh").find('/') == std::string::npos)
    GTEST_FAIL() << "zsh is not installed (scripts/deps.sh test installs it)";
  EXPECT_EQ(Zsh("berth reb", 2), "rebuild\n");
  EXPECT_EQ(Zsh("berth view f", 3), "feature-42\nfix-7\n");
  EXPECT_EQ(Zsh("berth re_view --name=fe", 3), "--name=feature-42\n");
  EXPECT_EQ(Zsh("berth -n team-b view ''", 5), "other-1\n");
}

TEST_F(ShellCompletion, AnUnreachableServerCompletesNothingAndQuickly) {
  auto r = Shell("bash",
                 "export BERTH_SOCKET=/nonexistent/berth.sock\n"
                 "source <(berth completion bash)\nCOMP_WORDS=(berth view '')\n"
                 "COMP_CWORD=2\n_berth\necho \"n=${#COMPREPLY[@]}\"\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "n=0\n");
}

}  // namespace
}  // namespace berth::testing
