#include "runtime/kubernetes/kubeconfig.h"

#include <gtest/gtest.h>

#include "util/base64.h"
#include "util/fs.h"

namespace berth::kube {
namespace {

const char* kOne = R"(apiVersion: v1
kind: Config
current-context: one
clusters:
- name: c1
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority: pki/ca.crt
- name: shared
  cluster:
    server: https://first.invalid
users:
- name: u1
  user:
    client-certificate: /abs/u1.crt
    client-key: u1.key
- name: shared
  user:
    token: from-first
contexts:
- name: one
  context: {cluster: c1, user: u1, namespace: team}
- name: shared
  context: {cluster: shared, user: shared}
)";

const char* kTwo = R"(apiVersion: v1
kind: Config
current-context: two
clusters:
- name: shared
  cluster:
    server: https://second.invalid
- name: c2
  cluster:
    server: 127.0.0.2:6443
    insecure-skip-tls-verify: true
users:
- name: shared
  user:
    token: from-second
- name: u2
  user:
    tokenFile: tok
- name: ex
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./plugin.sh
      args: [--cluster, c2]
      env:
      - {name: FOO, value: bar}
contexts:
- name: two
  context: {cluster: c2, user: u2}
- name: exec
  context: {cluster: c2, user: ex}
)";

class KubeconfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(util::WriteFileAtomic(dir_.path() + "/one", kOne));
    ASSERT_TRUE(util::MakeDirs(dir_.path() + "/sub"));
    ASSERT_TRUE(util::WriteFileAtomic(dir_.path() + "/sub/two", kTwo));
  }
  LoadOptions Opts() {
    LoadOptions o;
    o.kubeconfig_env = "";
    o.home = dir_.path() + "/nohome";
    o.service_host = "";
    o.service_port = "";
    o.service_account_dir = dir_.path() + "/sa";
    return o;
  }
  util::TempDir dir_{"berth-kc"};
};

TEST_F(KubeconfigTest, ExplicitFileResolvesRelativePathsAgainstItsDirectory) {
  auto o = Opts();
  o.kubeconfig = dir_.path() + "/one";
  auto c = LoadConnection(o);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->server, "https://127.0.0.1:6443");  // trailing slash dropped
  EXPECT_EQ(c->tls.ca_file, dir_.path() + "/pki/ca.crt");
  EXPECT_EQ(c->tls.cert_file, "/abs/u1.crt");
  EXPECT_EQ(c->tls.key_file, dir_.path() + "/u1.key");
  EXPECT_EQ(c->ns, "team");
  EXPECT_EQ(c->context, "one");
}

TEST_F(KubeconfigTest, MissingExplicitFileIsAnError) {
  auto o = Opts();
  o.kubeconfig = dir_.path() + "/nope";
  auto c = LoadConnection(o);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("does not exist"), std::string::npos);
}

TEST_F(KubeconfigTest, KubeconfigEnvMergesFirstDefinitionWins) {
  auto o = Opts();
  o.kubeconfig_env = dir_.path() + "/missing:" + dir_.path() + "/one:" + dir_.path() + "/sub/two";
  auto files = LoadKubeConfigFiles(o);
  ASSERT_TRUE(files) << files.error().message;
  EXPECT_EQ(files->current_context, "one");  // first file that sets it
  EXPECT_EQ(files->clusters.at("shared").server, "https://first.invalid");
  EXPECT_EQ(files->users.at("shared").token, "from-first");
  EXPECT_EQ(files->clusters.count("c2"), 1u);  // names only in the second file still merge in
  EXPECT_EQ(files->sources.size(), 2u);

  o.context = "two";
  auto c = LoadConnection(o);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->server, "https://127.0.0.2:6443");  // scheme added as kubectl does
  EXPECT_TRUE(c->tls.insecure_skip_verify);
  EXPECT_EQ(c->token_file, dir_.path() + "/sub/tok");
}

TEST_F(KubeconfigTest, ExecPluginParsed) {
  auto o = Opts();
  o.kubeconfig = dir_.path() + "/sub/two";
  o.context = "exec";
  auto c = LoadConnection(o);
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_TRUE(c->exec.has_value());
  EXPECT_EQ(c->exec->command, dir_.path() + "/sub/./plugin.sh");
  EXPECT_EQ(c->exec->args, (std::vector<std::string>{"--cluster", "c2"}));
  EXPECT_EQ(c->exec->env.at("FOO"), "bar");
}

TEST_F(KubeconfigTest, UnknownContextAndMissingCurrentContext) {
  auto o = Opts();
  o.kubeconfig = dir_.path() + "/one";
  o.context = "nope";
  auto c = LoadConnection(o);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kNotFound);
  EXPECT_NE(c.error().message.find("\"nope\""), std::string::npos);

  auto cfg = ParseKubeConfig("clusters: []\n", "/");
  ASSERT_TRUE(cfg);
  auto r = ResolveContext(*cfg, "");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("current-context"), std::string::npos);
}

TEST_F(KubeconfigTest, HomeConfigUsedWhenNothingElse) {
  ASSERT_TRUE(util::MakeDirs(dir_.path() + "/home/.kube"));
  ASSERT_TRUE(util::WriteFileAtomic(dir_.path() + "/home/.kube/config", kOne));
  auto o = Opts();
  o.home = dir_.path() + "/home";
  auto c = LoadConnection(o);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->context, "one");
}

TEST_F(KubeconfigTest, InClusterFallback) {
  auto o = Opts();
  auto none = LoadConnection(o);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kNotFound);

  ASSERT_TRUE(util::MakeDirs(o.service_account_dir));
  ASSERT_TRUE(util::WriteFileAtomic(o.service_account_dir + "/token", "tok\n"));
  ASSERT_TRUE(util::WriteFileAtomic(o.service_account_dir + "/namespace", "berth-system"));
  o.service_host = "10.0.0.1";
  o.service_port = "443";
  auto c = LoadConnection(o);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->in_cluster);
  EXPECT_EQ(c->server, "https://10.0.0.1:443");
  EXPECT_EQ(c->token_file, o.service_account_dir + "/token");
  EXPECT_EQ(c->tls.ca_file, o.service_account_dir + "/ca.crt");
  EXPECT_EQ(c->ns, "berth-system");
}

TEST_F(KubeconfigTest, EmbeddedDataDecoded) {
  std::string y =
      "clusters:\n- name: c\n  cluster:\n    server: https://h\n"
      "    certificate-authority-data: " +
      util::Base64Encode("CA PEM") +
      "\n"
      "users:\n- name: u\n  user:\n    client-certificate-data: " +
      util::Base64Encode("CERT") + "\n    client-key-data: " + util::Base64Encode("KEY") +
      "\n"
      "contexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n";
  auto cfg = ParseKubeConfig(y, "/");
  ASSERT_TRUE(cfg) << cfg.error().message;
  auto c = ResolveContext(*cfg, "");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->tls.ca_pem, "CA PEM");
  EXPECT_EQ(c->tls.cert_pem, "CERT");
  EXPECT_EQ(c->tls.key_pem, "KEY");
}

TEST_F(KubeconfigTest, EmbeddedDataMayBeWrappedOrUnpadded) {
  std::string pem(100, 'x');
  std::string b64 = util::Base64Encode(pem);  // 136 characters
  std::string y = "users:\n- name: u\n  user:\n    client-certificate-data: |\n      " +
                  b64.substr(0, 64) + "\n      " + b64.substr(64) +
                  "\n    client-key-data: S0VZCg\n";  // "KEY\n" without its "=="
  auto cfg = ParseKubeConfig(y, "/");
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg->users["u"].client_certificate_data, pem);
  EXPECT_EQ(cfg->users["u"].client_key_data, "KEY\n");
}

TEST_F(KubeconfigTest, RejectsBadInput) {
  EXPECT_FALSE(ParseKubeConfig("clusters: [", "/"));
  EXPECT_FALSE(
      ParseKubeConfig("users:\n- name: u\n  user:\n    client-certificate-data: '@@@'\n", "/"));
  EXPECT_FALSE(ParseKubeConfig(
      "users:\n- name: u\n  user:\n    exec: {apiVersion: client.authentication.k8s.io/v1alpha1, "
      "command: x}\n",
      "/"));
  auto cfg = ParseKubeConfig(
      "clusters:\n- name: c\n  cluster: {server: 'https://h'}\nusers:\n- name: u\n  user: "
      "{client-certificate: /a.crt}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n",
      "/");
  ASSERT_TRUE(cfg);
  auto c = ResolveContext(*cfg, "x");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("together"), std::string::npos);
}

}  // namespace
}  // namespace berth::kube
