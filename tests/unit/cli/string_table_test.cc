#include "cli/string_table.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace berth::cli {
namespace {

TEST(StringTable, ReadsColumnsAndRowsInEitherOrderWithWhitespace) {
  auto t = ParseStringTable(
      " {\n \"rows\" : [ [\"a\", \"1\"] ,[\"b\",\"2\"]],\t\"columns\":[\"NAME\" , \"N\"] } \n");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->columns, (std::vector<std::string>{"NAME", "N"}));
  ASSERT_EQ(t->rows.size(), 2u);
  EXPECT_EQ(t->rows[1], (std::vector<std::string>{"b", "2"}));
  auto empty = ParseStringTable(R"({"columns":["A"],"rows":[]})");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->rows.empty());
}

TEST(StringTable, OtherMembersAreSkippedWhateverTheyHold) {
  auto t =
      ParseStringTable(R"({"kind":"Table","metadata":{"x":[1,-2.5e3,true,null,{"y":"}]"}],"z":{}},)"
                       R"("columns":["A"],"more":[],"rows":[["v"]]})");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->rows[0][0], "v");
}

// Every escape JSON has, decoded as nlohmann does; control characters (which a terminal would
// act on) become '?'.
TEST(StringTable, EscapesDecodeAndControlCharactersAreNeutralised) {
  const std::string cell =
      R"(q\" b\\ s\/ \u00e9 \u20ac \ud83d\ude00 tab\t nl\n esc\u001b del\u007f)";
  auto t = ParseStringTable(R"({"columns":["C"],"rows":[[")" + cell + R"("]]})");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->rows[0][0], "q\" b\\ s/ \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 tab? nl? esc? del?");
  // The same text through a general parser, for the characters both keep.
  auto j = nlohmann::json::parse(R"(")" + std::string(R"(q\" b\\ s\/ \u00e9 \u20ac \ud83d\ude00)") +
                                 R"(")");
  EXPECT_EQ(t->rows[0][0].substr(0, j.get<std::string>().size()), j.get<std::string>());
}

TEST(StringTable, AnythingElseIsRefused) {
  for (const char* bad : {
           "",
           "{}",
           "[]",
           R"({"columns":["A"]})",
           R"({"rows":[]})",
           R"({"columns":["A"],"rows":[],"columns":["B"]})",  // twice
           R"({"columns":["A"],"rows":[["x","y"]]})",         // wider than the columns
           R"({"columns":["A","B"],"rows":[["x"]]})",         // narrower
           R"({"columns":["A"],"rows":[[1]]})",
           R"({"columns":["A"],"rows":["x"]})",
           R"({"columns":["A"],"rows":[]} x)",  // trailing text
           R"({"columns":["A"],"rows":[]},)",
           R"({"columns":["A",],"rows":[]})",
           R"({"columns":["A"] "rows":[]})",
           R"({"columns":["A"],"rows":[[]],})",
           R"({"columns":["unterminated],"rows":[]})",
           R"({"columns":["bad \x escape"],"rows":[]})",
           R"({"columns":["\u12"],"rows":[]})",
           R"({"columns":["\ud83d"],"rows":[]})",        // a lone high surrogate
           R"({"columns":["\ud83d\u0041"],"rows":[]})",  // not followed by a low one
           R"({"columns":["\ude00"],"rows":[]})",        // a lone low surrogate
           "{\"columns\":[\"raw\x01control\"],\"rows\":[]}",
           R"({"x":,"columns":["A"],"rows":[]})",
       }) {
    auto t = ParseStringTable(bad);
    ASSERT_FALSE(t) << bad;
    EXPECT_EQ(t.error().code, ErrorCode::kInvalidArgument);
  }
  // Nesting in a skipped member is bounded, and refused past the bound in linear time.
  std::string deep = R"({"x":)" + std::string(100000, '[') + std::string(100000, ']') +
                     R"(,"columns":["A"],"rows":[]})";
  EXPECT_FALSE(ParseStringTable(deep));
  std::string ok =
      R"({"x":)" + std::string(60, '[') + std::string(60, ']') + R"(,"columns":["A"],"rows":[]})";
  EXPECT_TRUE(ParseStringTable(ok));
}

// The server's own output (api_server_test checks what it sends) at the size of thousands of
// environments reads back cell for cell.
TEST(StringTable, AgreesWithAGeneralParserOnALargeTable) {
  nlohmann::json j = {{"columns", {"NAMESPACE", "NAME", "STATUS"}},
                      {"rows", nlohmann::json::array()}};
  for (int i = 0; i < 5000; ++i)
    j["rows"].push_back({"default", "s" + std::to_string(i), i % 2 ? "Running+routed" : "Pending"});
  auto t = ParseStringTable(j.dump());
  ASSERT_TRUE(t);
  ASSERT_EQ(t->rows.size(), 5000u);
  for (size_t i = 0; i < t->rows.size(); ++i)
    ASSERT_EQ(nlohmann::json(t->rows[i]), j["rows"][i]) << i;
}

}  // namespace
}  // namespace berth::cli
