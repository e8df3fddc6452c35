// The CLI's table printing: aligned columns, and a server-printed table taken only in its
// documented shape.
#include "cli/output.h"

#include <gtest/gtest.h>

#include <sstream>

namespace berth::cli {
namespace {

TEST(Output, TablesAlignEveryColumnButTheLast) {
  std::ostringstream os;
  PrintTable(os, {"NAME", "PHASE", "IMAGE"}, {{"a", "Running", "x:1"}, {"long-name", "-", ""}});
  EXPECT_EQ(os.str(),
            "NAME        PHASE     IMAGE\n"
            "a           Running   x:1\n"
            "long-name   -\n");
}

TEST(Output, ServerTablesPrintAsTheirColumnsAndRowsSay) {
  std::ostringstream os;
  ASSERT_TRUE(
      PrintServerTable(os, R"({"columns":["NAME","AGE"],"rows":[["web","3s"],["db","2d"]]})"));
  EXPECT_EQ(os.str(), "NAME   AGE\nweb    3s\ndb     2d\n");
  for (const char* bad :
       {R"([])", R"({"columns":["A"]})", R"({"columns":"A","rows":[]})",
        R"({"columns":["A"],"rows":[["x","y"]]})", R"({"columns":["A"],"rows":[[1]]})",
        R"({"columns":[1],"rows":[]})", R"({"columns":["A"],"rows":["x"]})"}) {
    std::ostringstream out;
    auto s = PrintServerTable(out, bad);
    ASSERT_FALSE(s) << bad;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(out.str(), "") << bad;
  }
}

}  // namespace
}  // namespace berth::cli
