// The pipelines of contrib/ against a real `berth serve` (Podman, its nginx, a real registry):
// Jenkins itself, GitLab and GitHub cannot run here, so every shell step their files contain is
// run as the CI would run it — the Jenkinsfiles' `sh` steps, the shared library's berth-ci calls
// (as vars/berth.groovy quotes them), the GitLab template's script lines with its variables, the
// GitHub action's script with its inputs — with each CI's variables set, `docker` being this
// test's Podman and `origin` a local Git remote. What each release serves is checked through the
// router. The last test fails when a file gains a shell step this test does not run.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "net/http_client.h"
#include "support/berth_server.h"
#include "support/images.h"
#include "support/nginx.h"
#include "support/podman.h"
#include "support/ports.h"
#include "support/registry.h"
#include "util/fs.h"
#include "util/process.h"
#include "util/strings.h"

namespace berth::testing {
namespace {

using nlohmann::json;
using Env = std::map<std::string, std::string>;

const std::string kContrib = std::string(BERTH_SOURCE_DIR) + "/contrib";

// The shell steps each file runs: what the coverage test holds the runs below to.
std::vector<std::string> JenkinsfileSteps(const std::string& path) {
  auto text = util::ReadFile(path);
  EXPECT_TRUE(text) << path;
  std::vector<std::string> out;
  static const std::regex sh(R"re(\bsh\s+'([^']*)')re");
  for (std::sregex_iterator it(text->begin(), text->end(), sh), end; it != end; ++it)
    out.push_back((*it)[1]);
  return out;
}

std::vector<std::string> GitlabScriptLines(const std::string& path) {
  YAML::Node doc = YAML::LoadFile(path);
  std::vector<std::string> out;
  for (const auto& job : doc)
    if (job.second.IsMap() && job.second["script"])
      for (const auto& line : job.second["script"]) out.push_back(line.as<std::string>());
  return out;
}

std::string ActionScript() {
  YAML::Node doc = YAML::LoadFile(kContrib + "/github/berth/action.yml");
  return doc["runs"]["steps"][0]["run"].as<std::string>();
}

// The berth-ci subcommands vars/berth.groovy calls.
std::set<std::string> GroovySubcommands() {
  auto text = util::ReadFile(kContrib + "/jenkins/vars/berth.groovy");
  EXPECT_TRUE(text);
  std::set<std::string> out;
  static const std::regex call(R"re(berth-ci ([a-z-]+))re");
  for (std::sregex_iterator it(text->begin(), text->end(), call), end; it != end; ++it)
    out.insert((*it)[1]);
  return out;
}

// What the shell steps ran (the coverage test reads it).
std::set<std::string> g_ran;
std::set<std::string> g_subcommands;

class Pipeline : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (PodmanService::SkipRequested() || Registry::SkipRequested()) return;
    auto reg = Registry::Start();
    if (!reg) return void(setup_error_ = reg.error().message);
    registry_ = std::move(*reg).release();
    PodmanOptions po;
    po.insecure_registries = {registry_->address()};
    auto p = PodmanService::Start(po);
    if (!p) return void(setup_error_ = p.error().message);
    podman_ = std::move(*p).release();
    auto base = BuildTestImage(*podman_, "berth-pipeline:1");
    if (!base) return void(setup_error_ = base.error().message);
    base_ = *base;
    // Code mode's runtime image: serves the release the volume's `current` points at (the
    // volume itself before the first release), resolved when it starts, as most servers do.
    const std::string ctx = podman_->dir() + "/runtime-image";
    if (auto s = util::MakeDirs(ctx); !s) return void(setup_error_ = s.error().message);
    if (auto s = util::WriteFileAtomic(
            ctx + "/Containerfile",
            "FROM " + base_ +
                "\nCMD [\"/bin/sh\", \"-c\", \"trap 'exit 0' TERM; cd /apps/current 2>/dev/null || "
                "cd /apps; httpd -f -p 80 & wait\"]\n");
        !s)
      return void(setup_error_ = s.error().message);
    runtime_ = "localhost/berth-pipeline-runtime:1";
    if (auto b = podman_->PodmanOk(
            {"build", "--pull=never", "-t", runtime_, "-f", ctx + "/Containerfile", ctx});
        !b)
      return void(setup_error_ = b.error().message);
  }
  static void TearDownTestSuite() {
    delete podman_;
    podman_ = nullptr;
    delete registry_;
    registry_ = nullptr;
  }

  void SetUp() override {
    if (PodmanService::SkipRequested() || Registry::SkipRequested())
      GTEST_SKIP() << "BERTH_TEST_SKIP_PODMAN / BERTH_TEST_SKIP_REGISTRY";
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
    ASSERT_NE(podman_, nullptr);
    BerthServerOptions o;
    o.docker_host = podman_->docker_host();
    o.default_image = base_;
    o.pull_policy = "IfNotPresent";
    const int block = FreeLoopbackPortBlock(30);
    ASSERT_GT(block, 0);
    o.port_min = block;
    o.port_max = block + 29;
    auto s = BerthServer::Start(o);
    ASSERT_TRUE(s) << s.error().message;
    server_ = std::move(*s);

    // The agent's PATH: berth, berth-ci (as the package installs them) and docker = Podman.
    bin_ = tmp_.path() + "/bin";
    ASSERT_TRUE(util::MakeDirs(bin_));
    std::filesystem::create_symlink(BerthBinary(), bin_ + "/berth");
    std::filesystem::create_symlink(kContrib + "/ci/berth-ci", bin_ + "/berth-ci");
    std::string shim = "#!/bin/sh\nexec env";
    for (const auto& [k, v] : podman_->env()) shim += " " + k + "='" + v + "'";
    shim += " /usr/bin/podman --root '" + podman_->dir() + "/root' --runroot '" + podman_->dir() +
            "/runroot' \"$@\"\n";
    ASSERT_TRUE(util::WriteFileAtomic(bin_ + "/docker", shim, 0755));
  }

  // The environment every CI step sees: the agent's PATH, berth's config, and URLs that name the
  // router's port (the test's nginx is not on 80/443).
  Env AgentEnv(Env ci) {
    ci["PATH"] = bin_ + ":/usr/local/bin:/usr/bin:/bin";
    ci["BERTH_CONFIG"] = server_->config_path();
    ci["BERTH_CI_SCHEME"] = "http";
    ci["BERTH_CI_PORT"] = std::to_string(server_->nginx_port());
    ci["HOME"] = tmp_.path();
    ci["GIT_CONFIG_NOSYSTEM"] = "1";
    return ci;
  }

  // One shell step, as a CI runs it: `sh -c STEP` in the workspace, failing the test on a non-zero
  // exit. Returns its standard output, trimmed.
  std::string Step(const std::string& step, const Env& env, const std::string& cwd) {
    util::SpawnOptions so;
    so.cwd = cwd;
    so.env_set = AgentEnv(env);
    auto r = util::RunCommand({"/bin/sh", "-c", step}, std::chrono::minutes(5), so);
    EXPECT_TRUE(r) << step;
    if (!r) return "";
    EXPECT_EQ(r->exit_code, 0) << "step: " << step << "\nstdout: " << r->out
                               << "\nstderr: " << r->err;
    g_ran.insert(step);
    static const std::regex call(R"re(berth-ci ([a-z-]+))re");
    for (std::sregex_iterator it(step.begin(), step.end(), call), end; it != end; ++it)
      g_subcommands.insert((*it)[1]);
    return util::Trim(r->out);
  }

  // GET / of `url` ("http://<domain>:<nginx port>/") through the router.
  std::string Fetch(const std::string& url) {
    static const std::regex parts(R"re(^http://([^:/]+):(\d+)/$)re");
    std::smatch m;
    EXPECT_TRUE(std::regex_match(url, m, parts)) << "not a URL of this router: " << url;
    if (m.empty()) return "";
    EXPECT_EQ(m[2].str(), std::to_string(server_->nginx_port()));
    auto r = GetWithHost(server_->nginx_port(), m[1].str());
    EXPECT_TRUE(r) << r.error().message;
    if (!r) return "";
    EXPECT_EQ(r->status, 200) << url << ": " << r->body;
    return util::Trim(r->body);
  }

  json CliJson(const std::vector<std::string>& args) {
    auto r = server_->Cli(args);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    try {
      return json::parse(r.out);
    } catch (...) {
      ADD_FAILURE() << "not JSON: " << r.out;
      return json();
    }
  }

  std::string Workspace(const std::string& name) {
    const std::string ws = tmp_.path() + "/" + name;
    EXPECT_TRUE(util::MakeDirs(ws));
    return ws;
  }

  static inline PodmanService* podman_ = nullptr;
  static inline Registry* registry_ = nullptr;
  static inline std::string setup_error_;
  static inline std::string base_;
  static inline std::string runtime_;
  util::TempDir tmp_{"berth-pipeline"};
  std::string bin_;
  std::unique_ptr<BerthServer> server_;
};

// Jenkinsfile.code with vars/berth.groovy: build, up, deploy-code; a second run of the pipeline
// reuses the environment and releases v2.
TEST_F(Pipeline, JenkinsCodeModeBuildsAndReleasesIntoTheBranchsEnvironment) {
  const std::string ws = Workspace("jenkins-code");
  ASSERT_TRUE(util::WriteFileAtomic(
      ws + "/build.sh",
      "#!/bin/sh\nset -e\nmkdir -p build/site\necho \"$SITE_TEXT\" > build/site/index.html\n",
      0755));
  Env ci = {{"BRANCH_NAME", "feature/JIRA-123_Add stuff"},
            {"BUILD_TAG", "jenkins-review-42"},
            {"BUILD_URL", "http://jenkins.invalid/job/review/42/"},
            {"RUNTIME_IMAGE", runtime_}};
  const std::string name = Step("berth-ci name", ci, ws);
  EXPECT_EQ(name, "feature-jira-123-add-stuff");
  // What berth.up(createArgs: [...]) and berth.deployCode(dir: 'build/site') run (quoted()).
  const std::string up = "berth-ci up '--image' '" + runtime_ + "' '--release-mode' 'code'";
  const std::string deploy = "berth-ci deploy-code 'build/site'";

  ci["SITE_TEXT"] = "release one";
  Step("./build.sh", ci, ws);
  const std::string url = Step(up, ci, ws);
  EXPECT_EQ(url,
            "http://" + name + ".ctest.localhost:" + std::to_string(server_->nginx_port()) + "/");
  const std::string r1 = Step(deploy, ci, ws);
  EXPECT_FALSE(r1.empty());
  EXPECT_EQ(Fetch(url), "release one");

  ci["SITE_TEXT"] = "release two";
  ci["BUILD_TAG"] = "jenkins-review-43";
  Step("./build.sh", ci, ws);
  EXPECT_EQ(Step(up, ci, ws), url) << "the second run reuses the branch's environment";
  const std::string r2 = Step(deploy, ci, ws);
  EXPECT_NE(r2, r1);
  EXPECT_EQ(Fetch(url), "release two");
  EXPECT_EQ(Step("berth-ci url", ci, ws), url);

  auto releases = CliJson({"releases", name, "-o", "json"})["items"];
  ASSERT_TRUE(releases.is_array()) << releases.dump();
  ASSERT_EQ(releases.size(), 2u) << releases.dump();
  EXPECT_NE(releases.dump().find("jenkins-review-43"), std::string::npos)
      << "the release message comes from Jenkins' BUILD_TAG: " << releases.dump();

  Step("berth-ci down", ci, ws);
  EXPECT_EQ(server_->Cli({"view", name}).exit_code, 3);
  Step("berth-ci down", ci, ws);  // already gone: still fine
}

// Jenkinsfile.image: docker build + push to the registry, up, deploy-image; then the next tag.
TEST_F(Pipeline, JenkinsImageModeBuildsPushesAndReleasesTheTag) {
  const std::string ws = Workspace("jenkins-image");
  ASSERT_TRUE(util::MakeDirs(ws + "/site"));
  ASSERT_TRUE(util::WriteFileAtomic(
      ws + "/Dockerfile", "FROM " + base_ +
                              "\nCOPY site /site\nCMD [\"/bin/httpd\", \"-f\", \"-p\", \"80\", "
                              "\"-h\", \"/site\"]\n"));
  const auto steps = JenkinsfileSteps(kContrib + "/jenkins/Jenkinsfile.image");
  ASSERT_EQ(steps.size(), 2u) << "docker build, docker push";
  Env ci = {{"BRANCH_NAME", "feature/image"}, {"BUILD_TAG", "jenkins-image-7"}};
  std::string url;
  for (const char* t : {"v3", "v4"}) {
    const std::string tag = t;
    ci["IMAGE"] = registry_->address() + "/pipeline-app:" + tag;
    ASSERT_TRUE(util::WriteFileAtomic(ws + "/site/index.html", "image " + tag + "\n"));
    for (const auto& s : steps) Step(s, ci, ws);
    url = Step("berth-ci up '--image' '" + ci["IMAGE"] + "'", ci, ws);
    EXPECT_FALSE(Step("berth-ci deploy-image '" + ci["IMAGE"] + "'", ci, ws).empty());
    EXPECT_EQ(Fetch(url), "image " + tag);
  }
  // The pushes reached the registry.
  net::ClientOptions co;
  co.base_url = "http://" + registry_->address();
  net::HttpClient reg(co);
  auto tags =
      reg.Send({"GET", "/v2/pipeline-app/tags/list", {}, "", std::chrono::milliseconds(-1)});
  ASSERT_TRUE(tags) << tags.error().message;
  EXPECT_NE(tags->body.find("v3"), std::string::npos) << tags->body;
  EXPECT_NE(tags->body.find("v4"), std::string::npos) << tags->body;
  auto releases = CliJson({"releases", "feature-image", "-o", "json"})["items"];
  EXPECT_EQ(releases.size(), 2u) << releases.dump();
  Step("berth-ci down", ci, ws);
}

// The GitLab template: .berth-review-code's script with the template's variables, the dotenv
// report it leaves (name, url, release), then the on_stop job's script.
TEST_F(Pipeline, GitlabReviewAppAndItsStopJob) {
  const std::string ws = Workspace("gitlab");
  ASSERT_TRUE(util::MakeDirs(ws + "/build/site"));
  ASSERT_TRUE(util::WriteFileAtomic(ws + "/build/site/index.html", "from gitlab\n"));
  YAML::Node doc = YAML::LoadFile(kContrib + "/gitlab/berth.gitlab-ci.yml");
  Env ci = {{"CI_COMMIT_REF_NAME", "review/MR-7"},
            {"CI_JOB_URL", "http://gitlab.invalid/group/app/-/jobs/7"},
            {"BERTH_IMAGE", runtime_},
            {"BERTH_CODE_DIR", "build/site"}};
  for (const auto& v : doc[".berth"]["variables"])
    ci[v.first.as<std::string>()] = v.second.as<std::string>();
  ASSERT_EQ(ci["BERTH_CI_OUTPUT"], "berth.env");
  for (const auto& line : doc[".berth-review-code"]["script"]) Step(line.as<std::string>(), ci, ws);
  auto report = util::ReadFile(ws + "/berth.env");
  ASSERT_TRUE(report) << "no dotenv report";
  std::map<std::string, std::string> kv;
  for (const auto& l : util::Split(*report, '\n')) {
    auto eq = l.find('=');
    if (eq != std::string::npos) kv[l.substr(0, eq)] = l.substr(eq + 1);
  }
  EXPECT_EQ(kv["name"], "review-mr-7");
  ASSERT_FALSE(kv["url"].empty()) << *report;
  EXPECT_FALSE(kv["release"].empty()) << *report;
  EXPECT_EQ(Fetch(kv["url"]), "from gitlab");

  Env stop = ci;
  for (const auto& v : doc["berth-stop"]["variables"])
    stop[v.first.as<std::string>()] = v.second.as<std::string>();
  for (const auto& line : doc["berth-stop"]["script"]) Step(line.as<std::string>(), stop, ws);
  EXPECT_EQ(server_->Cli({"view", "review-mr-7"}).exit_code, 3);

  // Image mode: a tag the project's own jobs built, released as it is.
  const std::string ctx = Workspace("gitlab-image");
  ASSERT_TRUE(util::MakeDirs(ctx + "/site"));
  ASSERT_TRUE(util::WriteFileAtomic(ctx + "/site/index.html", "gitlab image\n"));
  ASSERT_TRUE(util::WriteFileAtomic(
      ctx + "/Containerfile", "FROM " + base_ +
                                  "\nCOPY site /site\nCMD [\"/bin/httpd\", \"-f\", \"-p\", \"80\", "
                                  "\"-h\", \"/site\"]\n"));
  const std::string image = "localhost/pipeline-gitlab:1";
  ASSERT_TRUE(
      podman_->PodmanOk({"build", "--pull=never", "-t", image, "-f", ctx + "/Containerfile", ctx}));
  Env img = ci;
  img["CI_COMMIT_REF_NAME"] = "review/MR-8";
  img["BERTH_IMAGE"] = image;
  ASSERT_TRUE(util::WriteFileAtomic(ws + "/berth.env", ""));
  for (const auto& line : doc[".berth-review-image"]["script"])
    Step(line.as<std::string>(), img, ws);
  auto url = Step("berth-ci url", img, ws);
  EXPECT_EQ(Fetch(url), "gitlab image");
  for (const auto& line : doc["berth-stop"]["script"]) Step(line.as<std::string>(), img, ws);
}

// The GitHub action's script with its inputs (as the runner passes them: environment only).
TEST_F(Pipeline, GithubActionUpDeployUrlDown) {
  const std::string ws = Workspace("github");
  ASSERT_TRUE(util::MakeDirs(ws + "/build/site"));
  ASSERT_TRUE(util::WriteFileAtomic(ws + "/build/site/index.html", "from github\n"));
  const std::string outputs = ws + "/github_output";
  ASSERT_TRUE(util::WriteFileAtomic(outputs, ""));
  const std::string script = ActionScript();
  auto run = [&](const std::string& command, const std::string& source, const std::string& args) {
    Env ci = {{"GITHUB_ACTION_PATH", kContrib + "/github/berth"},
              {"GITHUB_OUTPUT", outputs},
              {"GITHUB_REF_NAME", "gh/Feature_X"},
              {"GITHUB_RUN_ID", "9001"},
              {"BERTH_ACTION_COMMAND", command},
              {"BERTH_ACTION_SOURCE", source},
              {"BERTH_ACTION_ARGS", args},
              {"BERTH_ACTION_BRANCH", ""},
              {"BERTH_ACTION_SERVER", ""},
              {"BERTH_ACTION_TOKEN", ""}};
    return Step(script, ci, ws);
  };
  const std::string url = run("up", "", "--image\n" + runtime_ + "\n--release-mode\ncode\n");
  run("deploy-code", "build/site", "");
  EXPECT_EQ(Fetch(url), "from github");
  EXPECT_EQ(run("url", "", ""), url);
  auto out = util::ReadFile(outputs);
  ASSERT_TRUE(out);
  EXPECT_NE(out->find("name=gh-feature-x\n"), std::string::npos) << *out;
  EXPECT_NE(out->find("url=" + url + "\n"), std::string::npos) << *out;
  EXPECT_NE(out->find("release="), std::string::npos) << *out;
  run("down", "", "");
  EXPECT_EQ(server_->Cli({"view", "gh-feature-x"}).exit_code, 3);
}

// Jenkinsfile.cleanup: environments whose branch is gone from `origin` are deleted.
TEST_F(Pipeline, CleanupPrunesTheEnvironmentsOfDeletedBranches) {
  const std::string origin = Workspace("origin.git");
  const std::string ws = Workspace("cleanup");
  Env git;
  Step("git init -q --bare " + origin, git, ws);
  Step(
      "git init -q . && git config user.email ci@invalid && git config user.name ci && "
      "git commit -q --allow-empty -m init && git remote add origin " +
          origin + " && git push -q origin HEAD:refs/heads/keep/me",
      git, ws);
  for (const char* b : {"keep/me", "gone/branch"})
    Step("berth-ci up", {{"BERTH_CI_BRANCH", b}}, ws);
  // What berth.prune('origin') runs.
  Step("git ls-remote --heads 'origin' | berth-ci prune", {}, ws);
  EXPECT_EQ(server_->Cli({"view", "keep-me"}).exit_code, 0);
  EXPECT_EQ(server_->Cli({"view", "gone-branch"}).exit_code, 3);
  Step("berth-ci down", {{"BERTH_CI_BRANCH", "keep/me"}}, ws);
}

// Every shell step of every contrib file was run above. Runs last (gtest keeps file order).
TEST_F(Pipeline, EveryShellStepOfTheContribFilesWasRun) {
  std::vector<std::string> steps;
  for (const char* f : {"Jenkinsfile.code", "Jenkinsfile.image"})
    for (const auto& s : JenkinsfileSteps(kContrib + "/jenkins/" + f)) steps.push_back(s);
  for (const auto& s : GitlabScriptLines(kContrib + "/gitlab/berth.gitlab-ci.yml"))
    steps.push_back(s);
  steps.push_back(ActionScript());
  EXPECT_GE(steps.size(), 7u);
  for (const auto& s : steps) EXPECT_TRUE(g_ran.count(s)) << "never run: " << s;
  for (const auto& sub : GroovySubcommands())
    EXPECT_TRUE(g_subcommands.count(sub)) << "berth.groovy calls berth-ci " << sub << ", never run";
  // The gitlab template's image-mode job uses the same subcommands as Jenkinsfile.image.
  EXPECT_TRUE(g_subcommands.count("deploy-image"));
  EXPECT_TRUE(g_subcommands.count("prune"));
}

}  // namespace
}  // namespace berth::testing
