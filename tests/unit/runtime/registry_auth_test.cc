#include "runtime/registry_auth.h"

#include <gtest/gtest.h>

#include <stdlib.h>
#include <algorithm>

#include <nlohmann/json.hpp>

#include "util/base64.h"
#include "util/fs.h"

namespace berth::runtime {
namespace {

TEST(RegistryOf, FollowsDockersRule) {
  EXPECT_EQ(RegistryOf("nginx"), "docker.io");
  EXPECT_EQ(RegistryOf("library/nginx:1"), "docker.io");
  EXPECT_EQ(RegistryOf("harbor.example.com/team/app:1"), "harbor.example.com");
  EXPECT_EQ(RegistryOf("127.0.0.1:5000/app"), "127.0.0.1:5000");
  EXPECT_EQ(RegistryOf("localhost/app"), "localhost");
  EXPECT_EQ(NormalizeRegistryKey("https://index.docker.io/v1/"), "docker.io");
  EXPECT_EQ(NormalizeRegistryKey("http://h:5000"), "h:5000");
  EXPECT_EQ(NormalizeRegistryKey("https://h/v2/"), "h");
}

TEST(XRegistryAuth, IsBase64UrlOfTheLogin) {
  RegistryCredential c{"h:5000", "u", "p?>>", "", ""};
  std::string v = XRegistryAuth(c);
  EXPECT_EQ(v.find_first_of("+/"), std::string::npos);
  for (char& ch : v) {
    if (ch == '-') ch = '+';
    if (ch == '_') ch = '/';
  }
  auto j = nlohmann::json::parse(util::Base64Decode(v).value());
  EXPECT_EQ(j["username"], "u");
  EXPECT_EQ(j["password"], "p?>>");
  EXPECT_EQ(j["serveraddress"], "h:5000");
}

class RegistryCredentialsTest : public ::testing::Test {
 protected:
  void Write(const std::string& text) {
    ASSERT_TRUE(util::WriteFileAtomic(dir.path() + "/config.json", text));
  }
  util::TempDir dir{"berth-regauth"};
};

TEST_F(RegistryCredentialsTest, TheTomlLoginComesFirstThenConfigJson) {
  Write(R"({"auths": {"https://h:5000": {"auth": ")" + util::Base64Encode("ann:pw:x") +
        R"("}, "other": {"auth": "bm9jb2xvbg=="}}})");
  RegistryCredentials none({}, dir.path());
  auto c = none.For("h:5000");
  ASSERT_TRUE(c && *c) << (c ? "none" : c.error().message);
  EXPECT_EQ((*c)->username, "ann");
  EXPECT_EQ((*c)->password, "pw:x");
  EXPECT_FALSE(*none.For("elsewhere:1"));
  auto broken = none.For("other");  // "nocolon": not user:password
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.error().message.find("not base64 of user:password"), std::string::npos);

  RegistryCredentials toml({{"h:5000", "bob", "tomlpw", ""}}, dir.path());
  auto t = toml.For("h:5000");
  ASSERT_TRUE(t && *t);
  EXPECT_EQ((*t)->username, "bob");
  EXPECT_NE((*t)->source.find("berth.toml"), std::string::npos);
  EXPECT_FALSE(toml.All());  // "other" cannot be read: no half list
  Write(R"({"auths": {"https://h:5000": {"auth": ")" + util::Base64Encode("ann:pw") +
        R"("}, "k:1": {"username": "kim", "password": "x"}}})");
  auto all = toml.All();
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 2u);  // h:5000 once (the toml login wins), k:1
  EXPECT_EQ((*all)[0].username, "bob");
  EXPECT_EQ((*all)[1].username, "kim");
}

TEST_F(RegistryCredentialsTest, HelpersRunWithADeadlineAndTheirErrorsAreReported) {
  const std::string bin = dir.path() + "/bin";
  ASSERT_TRUE(util::MakeDirs(bin));
  ASSERT_TRUE(util::WriteFileAtomic(bin + "/docker-credential-ok",
                                    "#!/bin/sh\nread h\nprintf '{\"Username\":\"<token>\","
                                    "\"Secret\":\"tok-%s\"}' \"$h\"\n",
                                    0755));
  ASSERT_TRUE(util::WriteFileAtomic(bin + "/docker-credential-none",
                                    "#!/bin/sh\necho 'credentials not found in native keychain'\n"
                                    "exit 1\n",
                                    0755));
  ASSERT_TRUE(
      util::WriteFileAtomic(bin + "/docker-credential-slow", "#!/bin/sh\nsleep 10\n", 0755));
  ASSERT_TRUE(util::WriteFileAtomic(bin + "/docker-credential-bad",
                                    "#!/bin/sh\necho boom >&2\nexit 3\n", 0755));
  const std::string old_path = ::getenv("PATH") ? ::getenv("PATH") : "";
  ::setenv("PATH", (bin + ":" + old_path).c_str(), 1);
  Write(R"({"credHelpers": {"a": "ok", "b": "slow", "c": "bad", "d": "../../bin/sh"},
            "credsStore": "none", "auths": {"e": {"auth": ")" +
        util::Base64Encode("e:f") + R"("}}})");
  RegistryCredentials rc({}, dir.path(), std::chrono::milliseconds(500));
  auto a = rc.For("a");
  ASSERT_TRUE(a && *a) << (a ? "none" : a.error().message);
  EXPECT_EQ((*a)->identity_token, "tok-a");  // "<token>" user: an identity token
  auto b = rc.For("b");
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().message.find("no answer within 500 ms"), std::string::npos);
  auto c = rc.For("c");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("boom"), std::string::npos);
  EXPECT_FALSE(rc.For("d"));  // not a plain helper name: never run
  auto e = rc.For("e");       // credsStore says "not found": auths still answers
  ASSERT_TRUE(e && *e);
  EXPECT_EQ((*e)->username, "e");
  auto f = rc.For("f");
  ASSERT_TRUE(f);
  EXPECT_FALSE(*f);
  ::setenv("PATH", old_path.c_str(), 1);
}

// Every Kubernetes apply asks for All(): a helper runs once while the files stay the same, and
// again as soon as one of them changes (a `docker login`, a rotated password file).
TEST_F(RegistryCredentialsTest, AllIsReusedUntilAFileChanges) {
  const std::string bin = dir.path() + "/bin";
  const std::string count = dir.path() + "/runs";
  ASSERT_TRUE(util::MakeDirs(bin));
  ASSERT_TRUE(util::WriteFileAtomic(bin + "/docker-credential-counted",
                                    "#!/bin/sh\nread h\necho x >> '" + count +
                                        "'\nprintf '{\"Username\":\"u\",\"Secret\":\"s\"}'\n",
                                    0755));
  const std::string old_path = ::getenv("PATH") ? ::getenv("PATH") : "";
  ::setenv("PATH", (bin + ":" + old_path).c_str(), 1);
  const std::string pw = dir.path() + "/pw";
  ASSERT_TRUE(util::WriteFileAtomic(pw, "one\n"));
  Write(R"({"credHelpers": {"h:1": "counted"}})");
  RegistryCredentials rc({{"t:2", "tom", "", pw}}, dir.path());
  auto runs = [&] {
    auto t = util::ReadFile(count);
    return t ? static_cast<long>(std::count(t->begin(), t->end(), '\n')) : 0L;
  };
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(rc.All());
  EXPECT_EQ(runs(), 1);
  ASSERT_TRUE(util::WriteFileAtomic(pw, "two\n"));
  auto all = rc.All();
  ASSERT_TRUE(all);
  EXPECT_EQ(runs(), 2);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].password, "two");
  Write(R"({"credHelpers": {"h:1": "counted"}, "auths": {}})");
  ASSERT_TRUE(rc.All());
  EXPECT_EQ(runs(), 3);
  ::setenv("PATH", old_path.c_str(), 1);
}

TEST_F(RegistryCredentialsTest, AMissingConfigIsNoCredentialAndABrokenOneAnError) {
  RegistryCredentials rc({}, dir.path() + "/nowhere");
  auto r = rc.For("h");
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
  Write("{nope");
  RegistryCredentials broken({}, dir.path());
  EXPECT_FALSE(broken.For("h"));
  RegistryCredentials pwfile({{"h", "u", "", dir.path() + "/missing"}}, dir.path());
  auto p = pwfile.For("h");
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("password_file"), std::string::npos);
}

}  // namespace
}  // namespace berth::runtime
