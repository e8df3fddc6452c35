#include "runtime/kubernetes/credentials.h"

#include <gtest/gtest.h>

#include <thread>

#include "util/fs.h"

namespace berth::kube {
namespace {

constexpr char kV1[] = "client.authentication.k8s.io/v1";

TEST(ExecCredentialTest, Parse) {
  auto c = ParseExecCredential(
      R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{"token":"t","expirationTimestamp":"2030-01-01T00:00:00Z"}})",
      kV1);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->token, "t");
  EXPECT_GT(c->expiry.time_since_epoch().count(), 0);
  EXPECT_FALSE(ParseExecCredential(
      R"({"kind":"ExecCredential","apiVersion":"v0","status":{"token":"t"}})", kV1));
  EXPECT_FALSE(ParseExecCredential(
      R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{}})",
      kV1));
  EXPECT_FALSE(ParseExecCredential("not json", kV1));
}

// Found by tests/fuzz/kube_exec_credential_fuzz.cc: a time the clock's nanoseconds cannot hold
// overflowed in from_time_t (undefined behaviour); it is a bad expirationTimestamp.
TEST(ExecCredentialTest, ExpiryOutsideTheClocksRangeIsRefused) {
  for (const char* when : {"1015-01-01T00:00:00Z", "9999-12-31T23:59:59Z"}) {
    auto c = ParseExecCredential(
        std::string(R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1",)") +
            R"("status":{"token":"t","expirationTimestamp":")" + when + R"("}})",
        kV1);
    ASSERT_FALSE(c) << when;
    EXPECT_EQ(c.error().message, std::string("exec plugin: bad expirationTimestamp ") + when);
  }
}

TEST(ExecCredentialTest, PluginRunsWithArgsAndEnvNoShell) {
  util::TempDir dir("berth-exec");
  std::string plugin = dir.path() + "/plugin.sh";
  // Echoes its argument and env back as the token; asserts KUBERNETES_EXEC_INFO is set.
  ASSERT_TRUE(util::WriteFileAtomic(
      plugin,
      "#!/bin/sh\n"
      "case \"$KUBERNETES_EXEC_INFO\" in *ExecCredential*) ;; *) exit 3;; esac\n"
      "printf "
      "'{\"kind\":\"ExecCredential\",\"apiVersion\":\"%s\",\"status\":{\"token\":\"%s-%s\"}}' "
      "client.authentication.k8s.io/v1 \"$1\" \"$FOO\"\n",
      0755));
  ExecConfig e{kV1, plugin, {"a b;c"}, {{"FOO", "bar"}}, false, ""};
  Connection conn;
  auto c = RunExecPlugin(e, conn);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->token, "a b;c-bar");  // the argument arrived intact: no shell in between

  e.command = dir.path() + "/missing";
  e.install_hint = "install the thing";
  auto bad = RunExecPlugin(e, conn);
  ASSERT_FALSE(bad);
}

TEST(CredentialsTest, TokenFileReReadWhenItChanges) {
  util::TempDir dir("berth-tok");
  std::string f = dir.path() + "/token";
  ASSERT_TRUE(util::WriteFileAtomic(f, "one\n"));
  Connection conn;
  conn.token_file = f;
  Credentials creds(conn);
  auto a = creds.Current();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->token, "one");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a distinct mtime
  ASSERT_TRUE(util::WriteFileAtomic(f, "two\n"));
  auto b = creds.Current();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->token, "two");
}

}  // namespace
}  // namespace berth::kube
