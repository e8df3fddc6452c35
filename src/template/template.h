// A Go text/template engine (berth::tmpl): parse once, execute many times.
//
//   auto t = tmpl::Template::Parse("service.conf.tpl", text, funcs);
//   if (!t) ...  // "service.conf.tpl:12: function \"foo\" not defined"
//   std::string out;
//   auto st = t->Execute(data, out);
//
// Supported syntax and functions: docs/confd.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "berth/result.h"
#include "template/value.h"

namespace berth::tmpl {

using FuncMap = std::unordered_map<std::string, std::shared_ptr<const Function>>;

// Wraps a callable with its arity (min..max arguments; max -1 = variadic).
std::shared_ptr<const Function> MakeFunc(std::function<Result<Value>(std::span<const Value>)> fn,
                                         int min_args, int max_args);

struct TemplateSet;

// Bounds on one execution. Go's engine has none and loops for ever on `{{range N}}` with a
// huge N (or a template that calls itself); the router renders operators' templates in
// process, so a broken one ends with an error naming the bound instead of hanging or
// exhausting memory. The defaults are far above what any nginx configuration needs.
struct ExecLimits {
  uint64_t max_steps = 100'000'000;  // nodes walked plus range iterations
  size_t max_output = 256u << 20;    // bytes appended to `out`
};

class Template {
 public:
  // Parses `text` as the template `name`. Functions in `funcs` are looked up before the builtins;
  // a call to an unknown function fails here, naming it with file:line.
  static Result<Template> Parse(std::string name, std::string_view text, const FuncMap& funcs = {});

  // Executes the main template with `data` as dot, appending to `out`. On error `out` holds
  // what was produced before it.
  Status Execute(const Value& data, std::string& out) const;
  // Executes the associated template `name` ({{define "name"}}).
  Status ExecuteTemplate(std::string_view name, const Value& data, std::string& out) const;
  Result<std::string> Render(const Value& data) const {
    std::string out;
    auto st = Execute(data, out);
    if (!st) return tl::unexpected(st.error());
    return out;
  }

  // The bounds of every later execution of this template.
  void set_limits(ExecLimits limits) { limits_ = limits; }
  const ExecLimits& limits() const { return limits_; }

  const std::string& name() const;
  bool HasTemplate(std::string_view name) const;

 private:
  explicit Template(std::shared_ptr<const TemplateSet> s) : set_(std::move(s)) {}
  std::shared_ptr<const TemplateSet> set_;
  ExecLimits limits_;
};

// The builtin functions (and, or, not, len, index, print, printf, ...).
const FuncMap& Builtins();

// Go's fmt.Sprintf / Sprint / Sprintln over template values.
std::string GoSprintf(std::string_view format, std::span<const Value> args);
std::string GoSprint(std::span<const Value> args);
std::string GoSprintln(std::span<const Value> args);

}  // namespace berth::tmpl
