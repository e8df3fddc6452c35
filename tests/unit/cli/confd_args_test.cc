#include "cli/confd_args.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace berth::cli {
namespace {

using Args = std::vector<std::string>;

Args Router(const Args& in) {
  auto r = RewriteConfdRouterArgs(in);
  EXPECT_TRUE(r) << r.error().message;
  return r ? *r : Args{};
}

TEST(ConfdArgs, RewritesConfdFlagsToBerthRouterSpellings) {
  EXPECT_EQ(Router({"-onetime", "-confdir", "/etc/confd"}),
            (Args{"--onetime", "--confdir", "/etc/confd"}));
  EXPECT_EQ(Router({"-watch", "-node", "http://10.0.0.1:2379", "-node", "http://10.0.0.2:2379",
                    "-confdir", "/c"}),
            (Args{"--watch", "--node", "http://10.0.0.1:2379", "--node", "http://10.0.0.2:2379",
                  "--confdir", "/c"}));
  EXPECT_EQ(Router({"-interval", "60", "-noop", "-keep-stage-file", "-confdir", "/c"}),
            (Args{"--interval", "60", "--noop", "--keep-stage-file", "--confdir", "/c"}));
  EXPECT_EQ(Router({"-backend", "etcdv3", "-log-level", "warn", "-confdir", "/c"}),
            (Args{"--backend", "etcdv3", "--log-level", "warn", "--confdir", "/c"}));
}

TEST(ConfdArgs, PrefixIsTheConfdKeyPrefixNotTheNginxPrefix) {
  EXPECT_EQ(Router({"-prefix", "/edge1", "-confdir", "/c"}),
            (Args{"--confd-prefix", "/edge1", "--confdir", "/c"}));
  EXPECT_EQ(Router({"-prefix=/edge1", "-confdir=/c"}),
            (Args{"--confd-prefix=/edge1", "--confdir=/c"}));
  // Berth's own spelling keeps Berth's meaning.
  EXPECT_EQ(Router({"--prefix", "/var/lib/berth/nginx"}),
            (Args{"--prefix", "/var/lib/berth/nginx"}));
}

TEST(ConfdArgs, EqualsFormsKeepTheirValue) {
  EXPECT_EQ(Router({"-interval=60", "-watch=true", "-onetime=false", "-node=http://h:2379",
                    "-confdir=/c"}),
            (Args{"--interval=60", "--watch=true", "--onetime=false", "--node=http://h:2379",
                  "--confdir=/c"}));
  EXPECT_EQ(Router({"-confdir=", "-onetime"}), (Args{"--confdir=", "--onetime"}));
}

TEST(ConfdArgs, ValuesAreNeverRewritten) {
  EXPECT_EQ(Router({"-prefix", "-watch", "-confdir", "-onetime"}),
            (Args{"--confd-prefix", "-watch", "--confdir", "-onetime"}));
  EXPECT_EQ(Router({"--confdir", "/c", "-interval", "-1"}),
            (Args{"--confdir", "/c", "--interval", "-1"}));
}

TEST(ConfdArgs, ConfdFlagsWithoutConfdirMeanConfdMode) {
  // --confd: confd mode, the confdir coming from confd.toml or confd's /etc/confd.
  EXPECT_EQ(Router({"-onetime", "-backend", "etcdv3"}),
            (Args{"--onetime", "--backend", "etcdv3", "--confd"}));
  EXPECT_EQ(Router({"-config-file", "/x/confd.toml", "-sync-only"}),
            (Args{"--confd-config-file", "/x/confd.toml", "--sync-only", "--confd"}));
  EXPECT_EQ(Router({"-onetime", "--confdir", "/c"}), (Args{"--onetime", "--confdir", "/c"}));
  EXPECT_EQ(Router({"--confdir=/c", "-watch"}), (Args{"--confdir=/c", "--watch"}));
  // Nothing in confd's spelling: nothing is added.
  EXPECT_EQ(Router({"--onetime"}), (Args{"--onetime"}));
  EXPECT_EQ(Router({}), (Args{}));
}

TEST(ConfdArgs, LeavesEverythingElseAlone) {
  Args berth = {"--mode",     "classic", "--etcd", "10.0.0.1:2379", "--listen-http",
                "0.0.0.0:80", "-v",      "-h",     "--watch",       "--confdir",
                "/c",         "-x",      "-",      "-oyaml",        "-nfoo"};
  EXPECT_EQ(Router(berth), berth);
  // After "--" everything is positional, and --confd goes before it.
  EXPECT_EQ(Router({"-onetime", "--", "-watch"}), (Args{"--onetime", "--confd", "--", "-watch"}));
}

TEST(ConfdArgs, RejectsConfdFlagsBerthRouterDoesNotImplement) {
  for (const char* f : {"-srv-record", "-client-cert=/c.pem", "-scheme", "-secret-keyring",
                        "-version", "-basic-auth", "-username"}) {
    auto r = RewriteConfdRouterArgs({"-onetime", f, "x"});
    ASSERT_FALSE(r) << f;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    std::string name = std::string(f).substr(0, std::string(f).find('='));
    EXPECT_EQ(r.error().message, "confd flag " + name +
                                     " is not supported by berth router (docs/confd.md lists "
                                     "what is)");
  }
}

const std::set<std::string> kValueOptions = {"--config", "--socket", "--server", "--token",
                                             "-o",       "--output", "-n",       "--namespace"};

Args Whole(const Args& in) {
  auto r = RewriteConfdArgv(in, kValueOptions);
  EXPECT_TRUE(r) << r.error().message;
  return r ? *r : Args{};
}

TEST(ConfdArgs, OnlyTheRouterSubcommandIsRewritten) {
  EXPECT_EQ(Whole({"berth", "router", "-onetime", "-confdir", "/c"}),
            (Args{"berth", "router", "--onetime", "--confdir", "/c"}));
  EXPECT_EQ(
      Whole({"berth", "--config", "/etc/berth.toml", "-v", "router", "-watch", "-confdir=/c"}),
      (Args{"berth", "--config", "/etc/berth.toml", "-v", "router", "--watch", "--confdir=/c"}));
  // A global option's value is not the subcommand, even when it says "router".
  EXPECT_EQ(Whole({"berth", "-n", "router", "view", "-watch"}),
            (Args{"berth", "-n", "router", "view", "-watch"}));
  EXPECT_EQ(Whole({"berth", "--namespace=x", "-ojson", "router", "-noop", "-confdir", "/c"}),
            (Args{"berth", "--namespace=x", "-ojson", "router", "--noop", "--confdir", "/c"}));
  // Other commands, and "router" as another command's argument, are left alone.
  for (const Args& a :
       {Args{"berth", "create", "router", "-node", "x"}, Args{"berth", "list"}, Args{"berth"},
        Args{"berth", "--", "router", "-onetime"}, Args{"berth", "dns", "show"}})
    EXPECT_EQ(Whole(a), a);
}

TEST(ConfdArgs, WholeCommandLineReportsUnsupportedFlags) {
  auto r = RewriteConfdArgv({"berth", "router", "-srv-domain", "example.com"}, kValueOptions);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace berth::cli
