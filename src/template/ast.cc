#include "template/ast.h"

namespace berth::tmpl {

namespace {
std::string PipeString(const PipeNode* p) {
  std::string s;
  if (!p->decl.empty()) {
    for (size_t i = 0; i < p->decl.size(); ++i) s += (i ? ", " : "") + p->decl[i];
    s += p->is_assign ? " = " : " := ";
  }
  for (size_t i = 0; i < p->cmds.size(); ++i) {
    if (i) s += " | ";
    s += CommandString(p->cmds[i]);
  }
  return s;
}
}  // namespace

std::string CommandString(const CommandNode& c) {
  std::string s;
  for (size_t i = 0; i < c.args.size(); ++i) {
    if (i) s += ' ';
    const Node* a = c.args[i].get();
    if (a->type == NodeType::kPipe) {
      s += "(" + PipeString(static_cast<const PipeNode*>(a)) + ")";
    } else {
      s += NodeString(a);
    }
  }
  return s;
}

std::string NodeString(const Node* n) {
  switch (n->type) {
    case NodeType::kDot:
      return ".";
    case NodeType::kNil:
      return "nil";
    case NodeType::kLiteral:
      return static_cast<const LiteralNode*>(n)->text;
    case NodeType::kField: {
      std::string s;
      for (const auto& i : static_cast<const FieldNode*>(n)->idents) s += "." + i;
      return s;
    }
    case NodeType::kVariable: {
      const auto& ids = static_cast<const VariableNode*>(n)->idents;
      std::string s = ids[0];
      for (size_t i = 1; i < ids.size(); ++i) s += "." + ids[i];
      return s;
    }
    case NodeType::kIdentifier:
      return static_cast<const IdentifierNode*>(n)->name;
    case NodeType::kChain: {
      const auto* c = static_cast<const ChainNode*>(n);
      std::string s = c->node->type == NodeType::kPipe ? "(" + NodeString(c->node.get()) + ")"
                                                       : NodeString(c->node.get());
      for (const auto& f : c->fields) s += "." + f;
      return s;
    }
    case NodeType::kPipe:
      return PipeString(static_cast<const PipeNode*>(n));
    case NodeType::kAction:
      return "{{" + PipeString(static_cast<const ActionNode*>(n)->pipe.get()) + "}}";
    default:
      return "";
  }
}

}  // namespace berth::tmpl
