#include "util/text_packer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace berth::util {
namespace {

// Texts shaped like the watch caches' trimmed Deployments: the same keys and most values,
// a different name, uid and version each.
std::string Deployment(int i) {
  const std::string n = "env" + std::to_string(i);
  char uid[40];
  snprintf(uid, sizeof uid, "%08x-1c2b-4e7a-9c1e-%012x", i * 2654435761u, i * 40503u + 7);
  return R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":")" + n +
         R"(","namespace":"berth-default","uid":")" + uid + R"(","resourceVersion":")" +
         std::to_string(100000 + i * 37) + R"(","generation":1,"labels":{"app":")" + n +
         R"(","app.kubernetes.io/managed-by":"berth","berth.dev/env-name":")" + n +
         R"("}},"spec":{"replicas":1},"status":{"observedGeneration":1,"replicas":1,)"
         R"("readyReplicas":1,"conditions":[{"type":"Available","status":"True",)"
         R"("reason":"MinimumReplicasAvailable","message":"Deployment has minimum availability."}]}})";
}

TEST(TextPacker, SimilarTextsPackSmallAndComeBackWhole) {
  std::vector<std::string> texts;
  for (int i = 0; i < 600; ++i) texts.push_back(Deployment(i));
  std::vector<std::string_view> samples(texts.begin(), texts.begin() + 500);
  auto dict = TextDictionary::Train(samples);
  ASSERT_TRUE(dict);
  EXPECT_GT(dict->bytes(), 0u);
  size_t plain = 0, packed = 0;
  for (int i = 500; i < 600; ++i) {  // texts the dictionary never saw
    PackedText p(texts[i], dict);
    EXPECT_EQ(p.str(), texts[i]);
    plain += texts[i].size();
    packed += p.size();
  }
  // What repeats is in the dictionary: each text keeps little more than what is its own.
  EXPECT_LT(packed * 4, plain) << packed << " of " << plain;
}

TEST(TextPacker, AFewSamplesStillMakeADictionary) {
  // Too few to train on: their text serves as the dictionary's content.
  const std::string keep = Deployment(1);
  std::vector<std::string_view> one = {keep};
  auto dict = TextDictionary::Train(one);
  ASSERT_TRUE(dict);
  const std::string next = Deployment(2);
  PackedText p(next, dict);
  EXPECT_EQ(p.str(), next);
  EXPECT_LT(p.size() * 2, next.size());
  EXPECT_FALSE(TextDictionary::Train(std::vector<std::string_view>{}));
  EXPECT_FALSE(TextDictionary::Train({std::string_view()}));
}

TEST(TextPacker, WithoutADictionaryTheTextIsKeptAsItIs) {
  PackedText p("{\"a\":1}", nullptr);
  EXPECT_EQ(p.str(), "{\"a\":1}");
  EXPECT_EQ(p.size(), 7u);
  PackedText empty;
  EXPECT_EQ(empty.str(), "");
}

TEST(TextPacker, EmptyAndUnusualTextsRoundTrip) {
  std::vector<std::string> texts;
  for (int i = 0; i < 50; ++i) texts.push_back(Deployment(i));
  std::vector<std::string_view> samples(texts.begin(), texts.end());
  auto dict = TextDictionary::Train(samples);
  ASSERT_TRUE(dict);
  std::string binary;
  for (int c = 0; c < 256; ++c) binary.push_back(static_cast<char>(c));
  for (const std::string& t :
       {std::string(), std::string("x"), binary, std::string(1 << 20, 'z')}) {
    PackedText p(t, dict);
    EXPECT_EQ(p.str(), t);
  }
}

TEST(TextPacker, ForeignBytesAreAnErrorNotACrash) {
  std::vector<std::string_view> samples = {R"({"kind":"Pod"})"};
  auto dict = TextDictionary::Train(samples);
  ASSERT_TRUE(dict);
  for (const std::string& junk : {std::string(), std::string("not zstd"), std::string(64, '\xff')})
    EXPECT_FALSE(dict->Unpack(junk));
  // A frame packed with another dictionary.
  std::vector<std::string_view> other = {R"({"kind":"Service","spec":{"type":"NodePort"}})"};
  auto dict2 = TextDictionary::Train(other);
  ASSERT_TRUE(dict2);
  const std::string packed = dict2->Pack(R"({"kind":"Service","spec":{"type":"ClusterIP"}})");
  auto wrong = dict->Unpack(packed);
  if (wrong) {
    EXPECT_NE(*wrong, R"({"kind":"Service","spec":{"type":"ClusterIP"}})");
  }
}

TEST(TextPacker, TextsKeepTheDictionaryTheyWerePackedWith) {
  std::vector<std::string_view> first = {R"({"kind":"Pod","metadata":{"name":"a"}})"};
  auto dict = TextDictionary::Train(first);
  ASSERT_TRUE(dict);
  PackedText p(R"({"kind":"Pod","metadata":{"name":"b"}})", dict);
  dict.reset();  // a relist trained a new one; the old text still reads
  EXPECT_EQ(p.str(), R"({"kind":"Pod","metadata":{"name":"b"}})");
}

}  // namespace
}  // namespace berth::util
