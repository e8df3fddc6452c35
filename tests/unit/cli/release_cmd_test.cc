// The CLI side of releases (cli/release_cmd.h): the CI message default, sizes, and the tar a
// directory becomes.
#include "cli/release_cmd.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <set>

#include "util/fs.h"

namespace berth::cli {
namespace {

std::string Message(const std::map<std::string, std::string>& vars) {
  return CiReleaseMessage([&](const char* k) {
    auto it = vars.find(k);
    return it == vars.end() ? std::string() : it->second;
  });
}

TEST(CiReleaseMessage, ComesFromTheCiSystemsVariables) {
  EXPECT_EQ(Message({}), "");
  EXPECT_EQ(Message({{"BUILD_TAG", "jenkins-app-main-42"}}), "jenkins-app-main-42");
  EXPECT_EQ(Message({{"BUILD_TAG", "jenkins-app-main-42"},
                     {"BUILD_URL", "https://ci.example.com/job/app/42/"}}),
            "jenkins-app-main-42 https://ci.example.com/job/app/42/");
  EXPECT_EQ(Message({{"CI_JOB_URL", "https://gitlab.example.com/g/p/-/jobs/7"},
                     {"CI_COMMIT_SHORT_SHA", "abc1234"}}),
            "abc1234 https://gitlab.example.com/g/p/-/jobs/7");
  EXPECT_EQ(Message({{"GITHUB_RUN_ID", "99"}, {"GITHUB_REPOSITORY", "acme/shop"}}),
            "https://github.com/acme/shop/actions/runs/99");
  EXPECT_EQ(Message({{"GITHUB_RUN_ID", "99"}}), "GitHub run 99");
}

TEST(HumanBytes, Units) {
  EXPECT_EQ(HumanBytes(12), "12 B");
  EXPECT_EQ(HumanBytes(3482), "3.4 KiB");
  EXPECT_EQ(HumanBytes(int64_t{5} << 20), "5.0 MiB");
}

TEST(TarDirectory, HoldsTheTreeRelativeWithLinksKept) {
  util::TempDir d("berth-tardir");
  ASSERT_TRUE(util::MakeDirs(d.path() + "/sub/deeper"));
  ASSERT_TRUE(util::WriteFileAtomic(d.path() + "/index.html", "hello"));
  ASSERT_TRUE(util::WriteFileAtomic(d.path() + "/sub/deeper/x.txt", "x"));
  ASSERT_EQ(::symlink("../index.html", (d.path() + "/sub/link").c_str()), 0);
  for (bool gzip : {false, true}) {
    auto tar = TarDirectory(d.path() + "/", gzip);
    ASSERT_TRUE(tar) << tar.error().message;
    const bool gz = tar->size() > 2 && static_cast<unsigned char>((*tar)[0]) == 0x1f &&
                    static_cast<unsigned char>((*tar)[1]) == 0x8b;
    EXPECT_EQ(gz, gzip);
    archive* a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_all(a);
    ASSERT_EQ(archive_read_open_memory(a, tar->data(), tar->size()), ARCHIVE_OK);
    std::set<std::string> names;
    archive_entry* e = nullptr;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
      std::string p = archive_entry_pathname(e);
      names.insert(p);
      if (p == "sub/link") {
        EXPECT_STREQ(archive_entry_symlink(e), "../index.html");
      }
    }
    archive_read_free(a);
    EXPECT_EQ(names, (std::set<std::string>{"index.html", "sub/", "sub/deeper/", "sub/deeper/x.txt",
                                            "sub/link"}));
  }
  EXPECT_FALSE(TarDirectory(d.path() + "/missing"));
}

}  // namespace
}  // namespace berth::cli
