// Which process a restarted router may adopt: only the master it started on its own prefix.
#include "router/nginx_process.h"

#include <gtest/gtest.h>

#include <string>

namespace berth::router {
namespace {

const NginxPaths kPaths("/var/lib/berth/nginx");

std::string Title(const std::string& args) {
  // nginx overwrites argv with its title; the rest of the old argv area is NUL padding.
  return "nginx: master process " + args + std::string(8, '\0');
}

TEST(NginxProcessTest, OwnMasterIsRecognisedByItsPrefixAndConfig) {
  EXPECT_TRUE(IsOwnMasterCmdline(
      Title("/usr/sbin/nginx -p /var/lib/berth/nginx/ -e /var/lib/berth/nginx/logs/error.log -c "
            "/var/lib/berth/nginx/conf/nginx.conf -g daemon off;"),
      kPaths));
}

TEST(NginxProcessTest, ForeignProcessesAreNot) {
  // A prefix that only begins with ours (the old substring check took it).
  EXPECT_FALSE(
      IsOwnMasterCmdline(Title("/usr/sbin/nginx -p /var/lib/berth/nginx-other/ -c "
                               "/var/lib/berth/nginx-other/conf/nginx.conf -g daemon off;"),
                         kPaths));
  // Our prefix but another config file.
  EXPECT_FALSE(IsOwnMasterCmdline(
      Title("/usr/sbin/nginx -p /var/lib/berth/nginx/ -c /etc/nginx/nginx.conf"), kPaths));
  // A worker, not the master.
  EXPECT_FALSE(IsOwnMasterCmdline(
      "nginx: worker process -p /var/lib/berth/nginx/ -c /var/lib/berth/nginx/conf/nginx.conf",
      kPaths));
  // Any process that merely mentions the paths.
  std::string argv = std::string("sleep") + '\0' + "-p" + '\0' + "/var/lib/berth/nginx/" + '\0' +
                     "-c" + '\0' + "/var/lib/berth/nginx/conf/nginx.conf" + '\0';
  EXPECT_FALSE(IsOwnMasterCmdline(argv, kPaths));
  EXPECT_FALSE(IsOwnMasterCmdline("", kPaths));
  EXPECT_FALSE(IsOwnMasterCmdline("nginx: master process", kPaths));
}

}  // namespace
}  // namespace berth::router
