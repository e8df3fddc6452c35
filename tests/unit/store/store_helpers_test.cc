// Small store building blocks: prefix ranges, txn validation, store URLs.
#include <gtest/gtest.h>

#include "berth/store.h"
#include "store/key_range.h"
#include "store/txn_check.h"
#include "util/fs.h"

namespace berth::store {
namespace {

TEST(PrefixEnd, IncrementsTheLastByteBelowFf) {
  EXPECT_EQ(PrefixEnd("/a/"), "/a0");
  EXPECT_EQ(PrefixEnd("abc"), "abd");
  EXPECT_EQ(PrefixEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixEnd(std::string("\xff\xff", 2)), "");
  EXPECT_EQ(PrefixEnd(""), "");
}

TEST(ValidateTxn, RejectsEmptyKeysDuplicatesAndNegativeRevisions) {
  EXPECT_TRUE(ValidateTxn(Txn{{Compare{"/a", 0}}, {Op::Put("/a", "v"), Op::Delete("/b")}}));
  EXPECT_FALSE(ValidateTxn(Txn{{}, {Op::Put("", "v")}}));
  EXPECT_FALSE(ValidateTxn(Txn{{Compare{"", 0}}, {}}));
  EXPECT_FALSE(ValidateTxn(Txn{{Compare{"/a", -1}}, {}}));
  EXPECT_FALSE(ValidateTxn(Txn{{}, {Op::Put("/a", "1"), Op::Put("/a", "2")}}));
}

TEST(OpenStore, OpensSqliteByUrl) {
  util::TempDir dir("berth-openstore");
  auto s = OpenStore("sqlite://" + dir.path() + "/sub/berth.db?sync=normal&keep=100");
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ((*s)->Put("/x", "y").value_or(-1), 1);
}

TEST(OpenStore, RejectsBadUrls) {
  for (const char* url :
       {"", "sqlite://relative/path.db", "sqlite:///tmp/x.db?sync=maybe",
        "sqlite:///tmp/x.db?bogus=1", "etcd://", "etcd://host", "etcd://127.0.0.1:notaport",
        "etcd://127.0.0.1:70000", "etcd://bad_host!:2379", "etcd://127.0.0.1:2379?ca=/x",
        "etcd+https://127.0.0.1:2379?ca=relative.pem", "redis://127.0.0.1:6379",
        "sqlite:///tmp/a%00b.db"}) {
    auto s = OpenStore(url);
    ASSERT_FALSE(s.has_value()) << url;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument) << url << ": " << s.error().message;
  }
}

TEST(OpenStore, UnreachableEtcdIsUnavailable) {
  // Port 1 on loopback: nothing listens there.
  auto s = OpenStore("etcd://127.0.0.1:1");
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable) << s.error().message;
}

}  // namespace
}  // namespace berth::store
