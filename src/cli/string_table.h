// The server's table (GET /v1/environments?view=table): {"columns": [string...], "rows":
// [[string...]...]}, read by a scanner made for that one shape. With thousands of rows a
// general JSON parser spent more time building and freeing its document than the CLI spent
// on everything else; this reads the strings straight into the rows, in one linear pass.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "berth/result.h"

namespace berth::cli {

struct StringTable {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
};

// kInvalidArgument unless `text` is one JSON object holding "columns" (strings) and "rows"
// (arrays of as many strings each), in either order; other members are skipped (a newer
// server may add some), nested at most 64 deep. Control characters in cells, which a
// terminal would act on, become '?'.
Result<StringTable> ParseStringTable(std::string_view text);

}  // namespace berth::cli
