#include "template/template.h"

#include "template/internal.h"

namespace berth::tmpl {

Result<Template> Template::Parse(std::string name, std::string_view text, const FuncMap& funcs) {
  auto set = std::make_shared<TemplateSet>();
  set->name = std::move(name);
  auto st = ParseInto(*set, text, funcs);
  if (!st) return tl::unexpected(st.error());
  return Template(std::move(set));
}

Status Template::Execute(const Value& data, std::string& out) const {
  return ExecuteTree(*set_, set_->name, data, out, limits_);
}

Status Template::ExecuteTemplate(std::string_view name, const Value& data, std::string& out) const {
  return ExecuteTree(*set_, name, data, out, limits_);
}

const std::string& Template::name() const {
  return set_->name;
}

bool Template::HasTemplate(std::string_view name) const {
  return set_->trees.find(name) != set_->trees.end();
}

}  // namespace berth::tmpl
