#include "runtime/kubernetes/dns.h"

#include <gtest/gtest.h>

#include "runtime/kubernetes/corefile.h"
#include "unit/runtime/kubernetes/corefile_fixture.h"

namespace berth::kube {
namespace {

using fixtures::kCorefile;

TEST(CorefileTest, ScansBlocksAndForward) {
  auto blocks = corefile::Scan(kCorefile);
  ASSERT_TRUE(blocks) << blocks.error().message;
  ASSERT_EQ(blocks->size(), 1u);
  EXPECT_TRUE((*blocks)[0].IsRoot());
  ASSERT_TRUE((*blocks)[0].forward);
  EXPECT_EQ((*blocks)[0].forward->targets, std::vector<std::string>{"/etc/resolv.conf"});
  EXPECT_FALSE(corefile::Scan(".:53 {\n errors\n"));
}

TEST(CorefileTest, SetUpstreamKeepsEverythingElse) {
  DnsChange c;
  c.upstream = std::vector<std::string>{"8.8.8.8", "1.1.1.1"};
  auto out = EditCorefile(kCorefile, c);
  ASSERT_TRUE(out) << out.error().message;
  std::string want = kCorefile;
  want.replace(want.find("/etc/resolv.conf"), 16, "8.8.8.8 1.1.1.1");
  EXPECT_EQ(*out, want);
  auto s = ReadCorefile(*out);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->upstream, (std::vector<std::string>{"8.8.8.8", "1.1.1.1"}));
  // Clearing goes back to the node's resolv.conf, byte for byte.
  c.upstream = std::vector<std::string>{};
  auto back = EditCorefile(*out, c);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, kCorefile);
}

TEST(CorefileTest, StubDomainsAddReplaceRemove) {
  DnsChange c;
  c.stub_domains =
      StubDomains{{"acme.local", {"10.0.0.1", "10.0.0.2"}}, {"corp.example", {"10.9.9.9"}}};
  auto out = EditCorefile(kCorefile, c);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->substr(0, std::string(kCorefile).size()), kCorefile);  // root block untouched
  EXPECT_NE(
      out->find("acme.local:53 {\n    errors\n    cache 30\n    forward . 10.0.0.1 10.0.0.2\n}\n"),
      std::string::npos)
      << *out;
  auto s = ReadCorefile(*out);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->stub_domains.size(), 2u);
  EXPECT_EQ(s->stub_domains["acme.local"], (std::vector<std::string>{"10.0.0.1", "10.0.0.2"}));
  EXPECT_EQ(s->upstream, std::vector<std::string>{"/etc/resolv.conf"});

  // Someone added a directive to a stub block: replacing its servers keeps it.
  std::string edited = *out;
  const std::string from = "acme.local:53 {\n    errors";
  edited.replace(edited.find(from), from.size(), "acme.local:53 {\n    log");
  c.stub_domains = StubDomains{{"acme.local", {"10.0.0.3"}}};
  auto out2 = EditCorefile(edited, c);
  ASSERT_TRUE(out2) << out2.error().message;
  EXPECT_NE(out2->find("acme.local:53 {\n    log\n    cache 30\n    forward . 10.0.0.3\n}\n"),
            std::string::npos)
      << *out2;
  EXPECT_EQ(out2->find("corp.example"), std::string::npos);  // removed from the set
  c.stub_domains = StubDomains{};
  auto out3 = EditCorefile(*out2, c);
  ASSERT_TRUE(out3);
  EXPECT_EQ(*out3, kCorefile);
}

TEST(CorefileTest, OtherServerBlocksAreNotStubDomains) {
  std::string text =
      std::string(kCorefile) + "\n# ours\nexample.org {\n    file /etc/db.example\n}\n";
  DnsChange c;
  c.stub_domains = StubDomains{};
  auto out = EditCorefile(text, c);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, text);
}

TEST(CorefileTest, RootWithoutForwardGetsOne) {
  DnsChange c;
  c.upstream = std::vector<std::string>{"9.9.9.9"};
  auto out = EditCorefile(".:53 {\n    errors\n}\n", c);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, ".:53 {\n    errors\n    forward . 9.9.9.9\n}\n");
  EXPECT_FALSE(EditCorefile("acme.local {\n  forward . 1.2.3.4\n}\n", c));
}

TEST(DnsValidationTest, RejectsBadInput) {
  DnsChange c;
  c.upstream = std::vector<std::string>{"1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4"};
  auto e = ValidateDnsChange(c);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("at most 3"), std::string::npos);
  c.upstream = std::vector<std::string>{"8.8.8.8; rm -rf /"};
  EXPECT_FALSE(ValidateDnsChange(c));
  c.upstream = std::vector<std::string>{"8.8.8.8", "8.8.8.8"};
  EXPECT_FALSE(ValidateDnsChange(c));
  c.upstream = std::vector<std::string>{"10.0.0.1:5353", "::1"};
  EXPECT_TRUE(ValidateDnsChange(c));
  DnsChange d;
  d.stub_domains = StubDomains{{"bad domain {", {"1.2.3.4"}}};
  EXPECT_FALSE(ValidateDnsChange(d));
  d.stub_domains = StubDomains{{"ok.example", {}}};
  EXPECT_FALSE(ValidateDnsChange(d));
  EXPECT_FALSE(ParseStubDomainFlag("acme.local"));
  auto p = ParseStubDomainFlag("Acme.Local.=1.2.3.4,5.6.7.8");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->first, "acme.local");
  EXPECT_EQ(p->second, (std::vector<std::string>{"1.2.3.4", "5.6.7.8"}));
}

TEST(KubeDnsTest, OriginalKeysRoundTrip) {
  nlohmann::json data = {{"other", "kept"}};
  DnsChange c;
  c.stub_domains = StubDomains{{"acme.local", {"172.16.133.100"}}};
  c.upstream = std::vector<std::string>{"8.8.8.8", "219.141.133.10"};
  auto out = EditKubeDnsData(data, c);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ((*out)["stubDomains"], "{\"acme.local\": [\"172.16.133.100\"]}");
  EXPECT_EQ((*out)["upstreamNameservers"], "[\"8.8.8.8\", \"219.141.133.10\"]");
  EXPECT_EQ((*out)["other"], "kept");
  auto s = ReadKubeDnsData(*out);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->stub_domains, *c.stub_domains);
  EXPECT_EQ(s->upstream, *c.upstream);
  DnsChange clear;
  clear.upstream = std::vector<std::string>{};
  auto cleared = EditKubeDnsData(*out, clear);
  ASSERT_TRUE(cleared);
  EXPECT_FALSE(cleared->contains("upstreamNameservers"));
  EXPECT_TRUE(cleared->contains("stubDomains"));
  EXPECT_FALSE(ReadKubeDnsData({{"stubDomains", "{not json"}}));
}

}  // namespace
}  // namespace berth::kube
