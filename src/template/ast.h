// The parse tree. Literals carry their Value ready-made and identifiers their resolved function,
// so execution does no lookups by name except for variables and template calls.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "template/value.h"

namespace berth::tmpl {

enum class NodeType {
  kList,
  kText,
  kAction,
  kIf,
  kRange,
  kWith,
  kTemplate,
  kBreak,
  kContinue,
  // operands
  kField,
  kVariable,
  kDot,
  kNil,
  kLiteral,
  kIdentifier,
  kChain,
  kPipe,
};

struct Node {
  explicit Node(NodeType t, int l) : type(t), line(l) {}
  virtual ~Node() = default;
  NodeType type;
  int line;
};
using NodePtr = std::unique_ptr<Node>;

struct ListNode : Node {
  explicit ListNode(int l) : Node(NodeType::kList, l) {}
  std::vector<NodePtr> nodes;
};

struct TextNode : Node {
  TextNode(int l, std::string t) : Node(NodeType::kText, l), text(std::move(t)) {}
  std::string text;
};

struct CommandNode {
  int line = 0;
  std::vector<NodePtr> args;
};

struct PipeNode : Node {
  explicit PipeNode(int l) : Node(NodeType::kPipe, l) {}
  bool is_assign = false;         // "=" rather than ":="
  std::vector<std::string> decl;  // "$x" names
  std::vector<CommandNode> cmds;
};

struct ActionNode : Node {
  ActionNode(int l, std::unique_ptr<PipeNode> p) : Node(NodeType::kAction, l), pipe(std::move(p)) {}
  std::unique_ptr<PipeNode> pipe;
};

// if / range / with.
struct BranchNode : Node {
  BranchNode(NodeType t, int l) : Node(t, l) {}
  std::unique_ptr<PipeNode> pipe;
  std::unique_ptr<ListNode> list;
  std::unique_ptr<ListNode> else_list;  // may be null
};

struct TemplateNode : Node {
  explicit TemplateNode(int l) : Node(NodeType::kTemplate, l) {}
  std::string name;
  std::unique_ptr<PipeNode> pipe;  // may be null
};

struct FieldNode : Node {  // .a.b
  explicit FieldNode(int l) : Node(NodeType::kField, l) {}
  std::vector<std::string> idents;
};

struct VariableNode : Node {  // $x.a.b: idents[0] is "$x"
  explicit VariableNode(int l) : Node(NodeType::kVariable, l) {}
  std::vector<std::string> idents;
};

struct LiteralNode : Node {  // bool, number, string
  LiteralNode(int l, Value v, std::string t)
      : Node(NodeType::kLiteral, l), value(std::move(v)), text(std::move(t)) {}
  Value value;
  std::string text;  // as written, for messages
};

enum class Builtin { kNone, kAnd, kOr, kCall };

struct IdentifierNode : Node {
  explicit IdentifierNode(int l) : Node(NodeType::kIdentifier, l) {}
  std::string name;
  std::shared_ptr<const Function> fn;
  Builtin builtin = Builtin::kNone;
};

struct ChainNode : Node {  // (pipe).a.b or ident.a
  explicit ChainNode(int l) : Node(NodeType::kChain, l) {}
  NodePtr node;
  std::vector<std::string> fields;
};

// Renders a node back to template syntax, for "at <...>" in error messages.
std::string NodeString(const Node* n);
std::string CommandString(const CommandNode& c);

}  // namespace berth::tmpl
