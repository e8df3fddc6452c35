// Shared between the parser and the executor; not part of the engine's interface.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "berth/result.h"
#include "template/ast.h"
#include "template/template.h"

namespace berth::tmpl {

struct TemplateSet {
  std::string name;  // the file name: errors read "<name>:<line>: ..."
  std::map<std::string, std::unique_ptr<ListNode>, std::less<>> trees;  // includes `name`
};

// Parses text into set.trees (the main body under set.name, {{define}}s under theirs).
Status ParseInto(TemplateSet& set, std::string_view text, const FuncMap& funcs);

Status ExecuteTree(const TemplateSet& set, std::string_view tree_name, const Value& data,
                   std::string& out, const ExecLimits& limits);

// Go's strconv.Unquote for "..." and '...' and `...` literals.
Result<std::string> Unquote(std::string_view quoted);

}  // namespace berth::tmpl
