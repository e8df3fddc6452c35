// confd's template functions over the in-memory key space.
#include "confd/funcs.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "confd/gotime.h"
#include "confd/memkv.h"

namespace berth::confd {
namespace {

class ConfdFuncsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kv_.Set("/app/upstream/app2", "10.0.1.101:80");
    kv_.Set("/app/upstream/app1", "10.0.1.100:80");
    kv_.Set("/nginx/domain", "example.com");
    kv_.Set("/services/web/cust1/2", R"({"IP": "10.0.0.2"})");
    kv_.Set("/services/web/cust2/2", R"({"IP": "10.0.0.4"})");
    kv_.Set("/services/web/cust2/1", R"({"IP": "10.0.0.3"})");
    kv_.Set("/services/web/cust1/1", R"({"IP": "10.0.0.1"})");
    kv_.Set("/services/web/leaf", "x");
    kv_.Set("/list", R"(["a", "b", "c"])");
    kv_.Set("/x/y/zz", "short");
  }
  std::string R(std::string_view text) {
    auto t = tmpl::Template::Parse("f.tmpl", text, ConfdFuncs(&kv_));
    if (!t) return "PARSE: " + t.error().message;
    auto out = t->Render(tmpl::Value());
    if (!out) return "EXEC: " + out.error().message;
    return *out;
  }
  KVStore kv_;
};

TEST_F(ConfdFuncsTest, GetAndGets) {
  EXPECT_EQ(R(R"({{with get "/nginx/domain"}}{{.Key}}={{.Value}} {{base .Key}}{{end}})"),
            "/nginx/domain=example.com domain");
  EXPECT_EQ(R(R"({{range gets "/app/upstream/*"}}{{.Key}} {{.Value}};{{end}})"),
            "/app/upstream/app1 10.0.1.100:80;/app/upstream/app2 10.0.1.101:80;");
  EXPECT_EQ(R(R"({{get "/nginx/domain"}})"), "{/nginx/domain example.com}");
  EXPECT_EQ(R(R"({{get "/nope"}})"),
            "EXEC: f.tmpl:1: executing \"f.tmpl\" at <get \"/nope\">: error calling get: key does "
            "not exist: /nope");
  EXPECT_EQ(R(R"({{len (gets "/none/*")}})"), "0");
  // '*' stops at '/': only direct children match.
  EXPECT_EQ(R(R"({{len (gets "/services/web/*")}} {{len (gets "/services/web/*/*")}})"), "1 4");
  EXPECT_EQ(R(R"({{gets "/a/[b"}})"),
            "EXEC: f.tmpl:1: executing \"f.tmpl\" at <gets \"/a/[b\">: error calling gets: syntax "
            "error in pattern");
}

TEST_F(ConfdFuncsTest, GetvWithDefaultAndGetvs) {
  EXPECT_EQ(R(R"({{getv "/nginx/domain"}})"), "example.com");
  EXPECT_EQ(R(R"({{getv "/nginx/missing" "fallback"}})"), "fallback");
  EXPECT_NE(R(R"({{getv "/nginx/missing"}})").find("key does not exist: /nginx/missing"),
            std::string::npos);
  EXPECT_EQ(R(R"({{range getvs "/app/upstream/*"}}[{{.}}]{{end}})"),
            "[10.0.1.100:80][10.0.1.101:80]");
  EXPECT_EQ(R(R"({{join (getvs "/app/upstream/*") ","}})"), "10.0.1.100:80,10.0.1.101:80");
}

TEST_F(ConfdFuncsTest, LsLsdirExists) {
  EXPECT_EQ(R(R"({{ls "/services/web"}})"), "[cust1 cust2 leaf]");
  EXPECT_EQ(R(R"({{lsdir "/services/web"}})"), "[cust1 cust2]");
  EXPECT_EQ(R(R"({{ls "/nope"}} {{lsdir "/nope"}})"), "[] []");
  EXPECT_EQ(R(R"({{exists "/nginx/domain"}} {{exists "/nginx"}})"), "true false");
  EXPECT_EQ(R(R"({{if exists "/nginx/domain"}}v={{getv "/nginx/domain"}}{{end}})"),
            "v=example.com");
}

TEST_F(ConfdFuncsTest, JsonAndJsonArray) {
  EXPECT_EQ(R(R"({{$d := json (getv "/services/web/cust1/1")}}{{$d.IP}})"), "10.0.0.1");
  EXPECT_EQ(R(R"({{range jsonArray (getv "/list")}}{{.}}{{end}})"), "abc");
  EXPECT_EQ(
      R(R"({{$d := json `{"animals":[{"type":"dog","name":"Fido"},{"type":"cat","name":"Misse"}]}`}})"
        R"({{(index $d.animals 1).name}} {{range $d.animals}}{{.type}},{{end}})"),
      "Misse dog,cat,");
  EXPECT_NE(R(R"({{json "[1]"}})").find("cannot unmarshal"), std::string::npos);
  EXPECT_NE(R(R"({{json "{bad"}})").find("error calling json"), std::string::npos);
}

TEST(ConfdJsonCache, FollowsValueChangesAcrossReplace) {
  KVStore kv;
  kv.Replace({{"/r/a", R"({"port": 1})"}, {"/r/b", R"({"port": 2})"}});
  auto t = tmpl::Template::Parse(
      "c.tmpl", R"({{range gets "/r/*"}}{{(json .Value).port}},{{end}}{{(json "{\"x\":9}").x}})",
      ConfdFuncs(&kv));
  ASSERT_TRUE(t.has_value()) << t.error().message;
  EXPECT_EQ(*t->Render(tmpl::Value()), "1,2,9");
  EXPECT_EQ(*t->Render(tmpl::Value()), "1,2,9");
  // Unchanged pairs keep their identity; changed ones are new and parsed again.
  auto before = kv.Get("/r/a");
  kv.Replace({{"/r/a", R"({"port": 1})"}, {"/r/b", R"({"port": 3})"}, {"/r/c", "{}"}});
  EXPECT_EQ(&before->as_object(), &kv.Get("/r/a")->as_object());
  EXPECT_EQ(*t->Render(tmpl::Value()), "1,3,<no value>,9");
  kv.Replace({});
  EXPECT_EQ(*t->Render(tmpl::Value()), "9");
  // Many distinct values: the cache sweeps what nobody holds any more.
  for (int i = 0; i < 3000; ++i) {
    kv.Replace({{"/r/a", "{\"port\": " + std::to_string(i) + "}"}});
    ASSERT_EQ(*t->Render(tmpl::Value()), std::to_string(i) + ",9");
  }
}

TEST_F(ConfdFuncsTest, MapFunction) {
  EXPECT_EQ(R(R"({{$e := map "name" "elasticsearch" "private_port" 9200 "public_port" 443}})"
              R"(name: {{index $e "name"}} {{index $e "private_port"}} {{$e.public_port}})"),
            "name: elasticsearch 9200 443");
  EXPECT_NE(R(R"({{map "a"}})").find("invalid map call"), std::string::npos);
  EXPECT_NE(R(R"({{map 1 2}})").find("map keys must be strings"), std::string::npos);
}

TEST_F(ConfdFuncsTest, PathsAndStrings) {
  EXPECT_EQ(
      R(R"({{base "/a/b/c"}} {{base "/a/b/"}} {{base ""}} {{dir "/services/data/url"}} {{dir "x"}})"),
      "c b . /services/data .");
  EXPECT_EQ(
      R(R"({{$u := split "host:8080" ":"}}{{index $u 0}} {{index $u 1}} {{len (split "" ",")}})"),
      "host 8080 1");
  EXPECT_EQ(R(R"({{toUpper "value"}} {{toLower "VaLue"}} {{contains "seafood" "foo"}})"),
            "VALUE value true");
  EXPECT_EQ(
      R(R"({{replace "a-b-c" "-" "_" -1}} {{replace "a-b-c" "-" "_" 1}} {{trimSuffix "x.conf" ".conf"}})"),
      "a_b_c a_b-c x");
  EXPECT_EQ(R(R"({{base64Encode "Value"}} {{base64Decode "VmFsdWU="}} {{base64Encode "ab"}})"),
            "VmFsdWU= Value YWI=");
  EXPECT_NE(R(R"({{base64Decode "!!"}})").find("illegal base64 data at input byte 0"),
            std::string::npos);
  EXPECT_EQ(R(R"({{join (split "a,b" ",") "+"}})"), "a+b");
}

TEST_F(ConfdFuncsTest, NumbersAndBools) {
  EXPECT_EQ(R(R"({{add 1 2}} {{sub 1 2}} {{mul 3 4}} {{div 7 2}} {{mod 7 2}})"), "3 -1 12 3 1");
  EXPECT_EQ(R(R"({{atoi "42"}} {{add (atoi "40") 2}} {{seq 1 3}} {{range seq 0 1}}{{.}}{{end}})"),
            "42 42 [1 2 3] 01");
  // Found by tests/fuzz/template_fuzz.cc: bounds at the ends of int64 overflowed (undefined
  // behaviour; confd itself loops for ever on the first).
  EXPECT_EQ(R(R"({{seq 9223372036854775806 9223372036854775807}})"),
            "[9223372036854775806 9223372036854775807]");
  EXPECT_EQ(R(R"({{seq 9223372036854775807 -2}})"), "[]");
  EXPECT_NE(R(R"({{seq -9223372036854775808 9223372036854775807}})").find("seq: range too large"),
            std::string::npos);
  EXPECT_NE(R(R"({{atoi "4x"}})").find("strconv.Atoi: parsing \"4x\": invalid syntax"),
            std::string::npos);
  EXPECT_NE(R(R"({{div 1 0}})").find("integer divide by zero"), std::string::npos);
  EXPECT_NE(R(R"({{add "1" 2}})").find("expected int; got string"), std::string::npos);
  EXPECT_EQ(R(R"({{parseBool "true"}} {{parseBool "0"}} {{if parseBool "T"}}y{{end}})"),
            "true false y");
  EXPECT_NE(R(R"({{parseBool "yes"}})").find("invalid syntax"), std::string::npos);
}

TEST_F(ConfdFuncsTest, ReverseAndSorts) {
  EXPECT_EQ(R(R"({{reverse (getvs "/app/upstream/*")}})"), "[10.0.1.101:80 10.0.1.100:80]");
  EXPECT_EQ(R(R"({{range reverse (gets "/app/upstream/*")}}{{.Key}} {{end}})"),
            "/app/upstream/app2 /app/upstream/app1 ");
  EXPECT_EQ(R(R"({{sortByLength (split "ccc,a,bb" ",")}})"), "[a bb ccc]");
  EXPECT_EQ(R(R"({{range sortKVByLength (gets "/*/*/*")}}{{.Key}} {{end}})"),
            "/x/y/zz /app/upstream/app1 /app/upstream/app2 /services/web/leaf ");
}

TEST_F(ConfdFuncsTest, HostFunctions) {
  setenv("BERTH_CONFD_TEST_VAR", "set", 1);
  unsetenv("BERTH_CONFD_TEST_UNSET");
  EXPECT_EQ(R(R"({{getenv "BERTH_CONFD_TEST_VAR"}} {{getenv "BERTH_CONFD_TEST_UNSET"}}|)"
              R"({{getenv "BERTH_CONFD_TEST_UNSET" "127.0.0.1"}})"),
            "set |127.0.0.1");
  EXPECT_EQ(R(R"({{fileExists "/"}} {{fileExists "/no/such/berth/file"}})"), "true false");
  // datetime is a time.Time: printable, and Format takes Go reference layouts.
  std::string year = R(R"({{datetime.Format "2006"}})");
  EXPECT_EQ(year.size(), 4u);
  EXPECT_EQ(year.substr(0, 2), "20");
  EXPECT_EQ(R(R"({{(datetime.UTC).Format "MST Z07:00"}})"), "UTC Z");
  EXPECT_EQ(R(R"({{gt (datetime.Unix) 1700000000}})"), "true");
  EXPECT_NE(R(R"({{lookupIP "localhost"}})").find("127.0.0.1"), std::string::npos);
  EXPECT_EQ(R(R"({{len (lookupSRV "x" "tcp" "invalid.")}})"), "0");
}

TEST(GoTimeTest, FormatLayouts) {
  // 2015-01-23 21:34:56.093250283 UTC (a Friday).
  GoTime t(timespec{1422048896, 93250283}, true);
  EXPECT_EQ(t.Format("Jan 2, 2006 at 3:04pm (MST)"), "Jan 23, 2015 at 9:34pm (UTC)");
  EXPECT_EQ(t.Format("2006-01-02T15:04:05.000Z07:00"), "2015-01-23T21:34:56.093Z");
  EXPECT_EQ(t.Format("Monday January _2 06 .999999999 -0700"),
            "Friday January 23 15 .093250283 +0000");
  EXPECT_EQ(t.String(), "2015-01-23 21:34:56.093250283 +0000 UTC");
}

TEST(PathTest, MatchCleanBaseDir) {
  EXPECT_TRUE(*PathMatch("/a/*", "/a/b"));
  EXPECT_FALSE(*PathMatch("/a/*", "/a/b/c"));
  EXPECT_TRUE(*PathMatch("/a/*/c", "/a/b/c"));
  EXPECT_TRUE(*PathMatch("/a/b?", "/a/b1"));
  EXPECT_TRUE(*PathMatch("/a/[a-c]x", "/a/bx"));
  EXPECT_FALSE(*PathMatch("/a/[^a-c]x", "/a/bx"));
  EXPECT_TRUE(*PathMatch("/a/\\*", "/a/*"));
  EXPECT_TRUE(*PathMatch("*", "abc"));
  EXPECT_FALSE(PathMatch("/a/[", "/a/x").has_value());
  EXPECT_EQ(CleanPath("/a//b/./c/.."), "/a/b");
  EXPECT_EQ(CleanPath(""), ".");
  EXPECT_EQ(CleanPath("/../x"), "/x");
  EXPECT_EQ(JoinPath("/", "devnginx/"), "/devnginx");
  EXPECT_EQ(PathBase("/"), "/");
  EXPECT_EQ(PathDir("/a"), "/");
}

}  // namespace
}  // namespace berth::confd
