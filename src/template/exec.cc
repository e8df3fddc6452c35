// Tree-walking executor with Go text/template semantics. Errors are recorded once in err_ and
// unwound through bool returns (no exceptions, no Result allocation on the hot path).
#include <optional>
#include <span>

#include "template/internal.h"

namespace berth::tmpl {

namespace {

constexpr int kMaxDepth = 1000;

class Exec {
 public:
  Exec(const TemplateSet& set, std::string& out, const ExecLimits& limits)
      : set_(set), out_(out), limits_(limits), out_start_(out.size()) {}

  Status Run(std::string_view tree, const Value& data) {
    auto it = set_.trees.find(tree);
    if (it == set_.trees.end()) {
      return Fail(ErrorCode::kNotFound, set_.name + ": no template \"" + std::string(tree) + "\"");
    }
    vars_.emplace_back("$", data);
    cur_ = it->first;
    if (Walk(data, it->second.get()) == Flow::kError) return tl::unexpected(err_);
    return {};
  }

 private:
  enum class Flow { kNormal, kBreak, kContinue, kError };

  bool Error(int line, std::string msg) {
    if (!failed_) {
      failed_ = true;
      std::string at = cmd_ ? " at <" + CommandString(*cmd_) + ">" : "";
      err_ = berth::Error(ErrorCode::kFailed, set_.name + ":" + std::to_string(line) +
                                                  ": executing \"" + std::string(cur_) + "\"" + at +
                                                  ": " + msg);
    }
    return false;
  }

  // Counts a step and the output so far against the limits: false (an error) past them.
  bool WithinLimits(int line) {
    if (++steps_ > limits_.max_steps)
      return Error(line, "exceeded " + std::to_string(limits_.max_steps) +
                             " execution steps (a range or template that does not end?)");
    if (out_.size() - out_start_ > limits_.max_output)
      return Error(line, "output exceeds " + std::to_string(limits_.max_output) + " bytes");
    return true;
  }

  Flow Walk(const Value& dot, const Node* n) {
    if (!WithinLimits(n->line)) return Flow::kError;
    switch (n->type) {
      case NodeType::kList:
        for (const auto& c : static_cast<const ListNode*>(n)->nodes) {
          Flow f = Walk(dot, c.get());
          if (f != Flow::kNormal) return f;
        }
        return Flow::kNormal;
      case NodeType::kText:
        out_ += static_cast<const TextNode*>(n)->text;
        return Flow::kNormal;
      case NodeType::kAction: {
        const PipeNode* p = static_cast<const ActionNode*>(n)->pipe.get();
        Value v;
        if (!EvalPipeline(dot, p, &v)) return Flow::kError;
        if (p->decl.empty()) {
          if (v.is_nil()) {
            out_ += "<no value>";
          } else {
            v.AppendTo(out_);
          }
        }
        return Flow::kNormal;
      }
      case NodeType::kIf:
      case NodeType::kWith: {
        const auto* b = static_cast<const BranchNode*>(n);
        size_t mark = vars_.size();
        Value v;
        if (!EvalPipeline(dot, b->pipe.get(), &v)) return Flow::kError;
        Flow f = Flow::kNormal;
        if (v.Truth()) {
          f = Walk(n->type == NodeType::kWith ? v : dot, b->list.get());
        } else if (b->else_list) {
          f = Walk(dot, b->else_list.get());
        }
        vars_.resize(mark);
        return f;
      }
      case NodeType::kRange:
        return WalkRange(dot, static_cast<const BranchNode*>(n));
      case NodeType::kTemplate:
        return WalkTemplate(dot, static_cast<const TemplateNode*>(n));
      case NodeType::kBreak:
        return Flow::kBreak;
      case NodeType::kContinue:
        return Flow::kContinue;
      default:
        Error(n->line, "unknown node");
        return Flow::kError;
    }
  }

  // One iteration; false stops the loop (break or error; *err tells which).
  bool Iterate(const BranchNode* r, const Value& key, const Value& elem, size_t mark, bool* error) {
    if (!WithinLimits(r->line)) {
      *error = true;
      return false;
    }
    const PipeNode* p = r->pipe.get();
    if (!p->decl.empty()) {
      if (p->is_assign) {
        if (p->decl.size() > 1) SetVar(p->decl[0], key);
        SetVar(p->decl.back(), elem);
      } else {
        vars_[mark - 1].second = elem;
        if (p->decl.size() > 1) vars_[mark - 2].second = key;
      }
    }
    Flow f = Walk(elem, r->list.get());
    vars_.resize(mark);
    if (f == Flow::kError) *error = true;
    return f != Flow::kBreak && f != Flow::kError;
  }

  Flow WalkRange(const Value& dot, const BranchNode* r) {
    size_t outer = vars_.size();
    const PipeNode* p = r->pipe.get();
    Value v;
    if (!EvalCommands(dot, p, &v)) return Flow::kError;
    if (!p->is_assign) {
      for (const auto& d : p->decl) vars_.emplace_back(d, v);
    }
    size_t mark = vars_.size();
    bool error = false;
    bool any = false;
    const bool two_vars = p->decl.size() > 1;  // only then is the key worth building
    switch (v.kind()) {
      case Value::Kind::kList: {
        const List& l = v.as_list();
        any = !l.empty();
        for (size_t i = 0; i < l.size(); ++i)
          if (!Iterate(r, Value(static_cast<int64_t>(i)), l[i], mark, &error)) break;
        break;
      }
      case Value::Kind::kMap: {
        const Map& m = v.as_map();
        any = !m.empty();
        for (const auto& [k, e] : m.entries())
          if (!Iterate(r, two_vars ? Value(k) : Value(), e, mark, &error)) break;
        break;
      }
      case Value::Kind::kInt: {
        if (p->decl.size() > 1) {
          Error(r->line, "can't use 2 variables ranging over an integer");
          return Flow::kError;
        }
        int64_t n = v.as_int();
        any = n > 0;
        for (int64_t i = 0; i < n; ++i)
          if (!Iterate(r, Value(i), Value(i), mark, &error)) break;
        break;
      }
      case Value::Kind::kMissing:
      case Value::Kind::kNil:
        break;
      default:
        Error(r->line, "range can't iterate over " + v.ToString());
        return Flow::kError;
    }
    if (error) return Flow::kError;
    Flow f = Flow::kNormal;
    if (!any && r->else_list) f = Walk(dot, r->else_list.get());
    vars_.resize(outer);
    return f;
  }

  Flow WalkTemplate(const Value& dot, const TemplateNode* t) {
    auto it = set_.trees.find(t->name);
    if (it == set_.trees.end()) {
      Error(t->line, "template: no such template \"" + t->name + "\"");
      return Flow::kError;
    }
    Value data;
    if (t->pipe && !EvalPipeline(dot, t->pipe.get(), &data)) return Flow::kError;
    if (++depth_ > kMaxDepth) {
      Error(t->line, "exceeded maximum template depth (" + std::to_string(kMaxDepth) + ")");
      return Flow::kError;
    }
    std::vector<std::pair<std::string_view, Value>> saved;
    saved.swap(vars_);
    vars_.emplace_back("$", data);
    std::string_view saved_cur = cur_;
    cur_ = it->first;
    Flow f = Walk(data, it->second.get());
    cur_ = saved_cur;
    vars_.swap(saved);
    --depth_;
    return f == Flow::kError ? f : Flow::kNormal;
  }

  // ---- pipelines ----

  bool EvalCommands(const Value& dot, const PipeNode* p, Value* out) {
    const CommandNode* saved = cmd_;
    for (size_t i = 0; i < p->cmds.size(); ++i) {
      cmd_ = &p->cmds[i];
      if (i == 0) {
        if (!EvalCommand(dot, p->cmds[i], nullptr, out)) return false;
      } else {
        Value prev = std::move(*out);
        if (!EvalCommand(dot, p->cmds[i], &prev, out)) return false;
      }
    }
    cmd_ = saved;
    return true;
  }

  bool EvalPipeline(const Value& dot, const PipeNode* p, Value* out) {
    if (!EvalCommands(dot, p, out)) return false;
    for (const auto& d : p->decl) {
      if (p->is_assign) {
        SetVar(d, *out);
      } else {
        vars_.emplace_back(d, *out);
      }
    }
    return true;
  }

  void SetVar(const std::string& name, const Value& v) {
    for (auto it = vars_.rbegin(); it != vars_.rend(); ++it) {
      if (it->first == name) {
        it->second = v;
        return;
      }
    }
  }

  const Value* LookupVar(std::string_view name) const {
    for (auto it = vars_.rbegin(); it != vars_.rend(); ++it)
      if (it->first == name) return &it->second;
    return nullptr;
  }

  bool NotAFunction(const CommandNode& cmd, const Value* final) {
    if (cmd.args.size() > 1 || final) {
      return Error(cmd.line,
                   "can't give argument to non-function " + NodeString(cmd.args[0].get()));
    }
    return true;
  }

  bool EvalCommand(const Value& dot, const CommandNode& cmd, const Value* final, Value* out) {
    const Node* first = cmd.args[0].get();
    std::span<const NodePtr> args(cmd.args.data() + 1, cmd.args.size() - 1);
    switch (first->type) {
      case NodeType::kField: {
        const auto& ids = static_cast<const FieldNode*>(first)->idents;
        return EvalFields(dot, dot, ids, 0, args, final, first->line, out);
      }
      case NodeType::kVariable: {
        const auto* v = static_cast<const VariableNode*>(first);
        const Value* var = LookupVar(v->idents[0]);
        if (!var) return Error(first->line, "undefined variable: " + v->idents[0]);
        if (v->idents.size() == 1) {
          if (!NotAFunction(cmd, final)) return false;
          *out = *var;
          return true;
        }
        return EvalFields(dot, *var, v->idents, 1, args, final, first->line, out);
      }
      case NodeType::kIdentifier:
        return EvalFunction(dot, static_cast<const IdentifierNode*>(first), args, final, out);
      case NodeType::kChain:
        return EvalChain(dot, static_cast<const ChainNode*>(first), args, final, out);
      case NodeType::kPipe:
        if (!NotAFunction(cmd, final)) return false;
        return EvalPipeline(dot, static_cast<const PipeNode*>(first), out);
      case NodeType::kNil:
        return Error(first->line, "nil is not a command");
      case NodeType::kDot:
        if (!NotAFunction(cmd, final)) return false;
        *out = dot;
        return true;
      case NodeType::kLiteral:
        if (!NotAFunction(cmd, final)) return false;
        *out = static_cast<const LiteralNode*>(first)->value;
        return true;
      default:
        return Error(first->line, "can't evaluate command " + NodeString(first));
    }
  }

  bool EvalArg(const Value& dot, const Node* n, Value* out) {
    static const std::span<const NodePtr> kNoArgs;
    switch (n->type) {
      case NodeType::kDot:
        *out = dot;
        return true;
      case NodeType::kNil:
        *out = Value::Nil();
        return true;
      case NodeType::kLiteral:
        *out = static_cast<const LiteralNode*>(n)->value;
        return true;
      case NodeType::kField:
        return EvalFields(dot, dot, static_cast<const FieldNode*>(n)->idents, 0, kNoArgs, nullptr,
                          n->line, out);
      case NodeType::kVariable: {
        const auto* v = static_cast<const VariableNode*>(n);
        const Value* var = LookupVar(v->idents[0]);
        if (!var) return Error(n->line, "undefined variable: " + v->idents[0]);
        if (v->idents.size() == 1) {
          *out = *var;
          return true;
        }
        return EvalFields(dot, *var, v->idents, 1, kNoArgs, nullptr, n->line, out);
      }
      case NodeType::kPipe:
        return EvalPipeline(dot, static_cast<const PipeNode*>(n), out);
      case NodeType::kIdentifier:
        return EvalFunction(dot, static_cast<const IdentifierNode*>(n), kNoArgs, nullptr, out);
      case NodeType::kChain:
        return EvalChain(dot, static_cast<const ChainNode*>(n), kNoArgs, nullptr, out);
      default:
        return Error(n->line, "can't handle " + NodeString(n) + " as an argument");
    }
  }

  bool EvalChain(const Value& dot, const ChainNode* c, std::span<const NodePtr> args,
                 const Value* final, Value* out) {
    Value recv;
    if (!EvalArg(dot, c->node.get(), &recv)) return false;
    return EvalFields(dot, recv, c->fields, 0, args, final, c->line, out);
  }

  // receiver.idents[from].idents[from+1]...; the last one may be a method taking args.
  bool EvalFields(const Value& dot, Value recv, const std::vector<std::string>& ids, size_t from,
                  std::span<const NodePtr> args, const Value* final, int line, Value* out) {
    for (size_t i = from; i + 1 < ids.size(); ++i) {
      auto v = MemberOf(recv, ids[i], {}, line);
      if (!v) return false;
      recv = std::move(*v);
    }
    const std::string& last = ids.back();
    bool has_args = !args.empty() || final;
    if (recv.is_object() && recv.as_object().IsMethod(last)) {
      size_t base = stack_.size();
      for (const auto& a : args) {
        Value v;
        if (!EvalArg(dot, a.get(), &v)) return PopFalse(base);
        stack_.push_back(std::move(v));
      }
      if (final) stack_.push_back(*final);
      auto r = recv.as_object().Member(
          last, std::span<const Value>(stack_.data() + base, stack_.size() - base));
      stack_.resize(base);
      if (!r) return Error(line, "error calling " + last + ": " + r.error().message);
      *out = std::move(*r);
      return true;
    }
    if (has_args) {
      return Error(line, last + " is not a method but has arguments");
    }
    auto v = MemberOf(recv, last, {}, line);
    if (!v) return false;
    *out = std::move(*v);
    return true;
  }

  std::optional<Value> MemberOf(const Value& recv, const std::string& name,
                                std::span<const Value> args, int line) {
    if (recv.is_map()) {
      const Value* v = recv.as_map().Find(name);
      return v ? *v : Value();
    }
    if (recv.is_object()) {
      auto r = recv.as_object().Member(name, args);
      if (!r) {
        Error(line, r.error().message);
        return std::nullopt;
      }
      return std::move(*r);
    }
    auto r = recv.Field(name);
    if (!r) {
      Error(line, r.error().message);
      return std::nullopt;
    }
    return std::move(*r);
  }

  bool PopFalse(size_t base) {
    stack_.resize(base);
    return false;
  }

  bool EvalFunction(const Value& dot, const IdentifierNode* id, std::span<const NodePtr> args,
                    const Value* final, Value* out) {
    size_t n = args.size() + (final ? 1 : 0);
    if (id->builtin == Builtin::kAnd || id->builtin == Builtin::kOr) {
      if (n < 1) {
        return Error(id->line, "wrong number of args for " + id->name + ": want at least 1 got 0");
      }
      bool is_and = id->builtin == Builtin::kAnd;
      for (const auto& a : args) {
        if (!EvalArg(dot, a.get(), out)) return false;
        if (out->Truth() != is_and) return true;  // and: first false; or: first true
      }
      if (final) *out = *final;
      return true;
    }
    const Function& fn = *id->fn;
    size_t base = stack_.size();
    for (const auto& a : args) {
      Value v;
      if (!EvalArg(dot, a.get(), &v)) return PopFalse(base);
      stack_.push_back(std::move(v));
    }
    if (final) stack_.push_back(*final);
    std::span<const Value> argv(stack_.data() + base, n);
    if (static_cast<int>(n) < fn.min_args ||
        (fn.max_args >= 0 && static_cast<int>(n) > fn.max_args)) {
      stack_.resize(base);
      std::string want = fn.max_args < 0 ? "at least " + std::to_string(fn.min_args)
                         : fn.min_args == fn.max_args
                             ? std::to_string(fn.min_args)
                             : std::to_string(fn.min_args) + " to " + std::to_string(fn.max_args);
      return Error(id->line, "wrong number of args for " + id->name + ": want " + want + " got " +
                                 std::to_string(n));
    }
    auto r = fn.fn(argv);
    stack_.resize(base);
    if (!r) return Error(id->line, "error calling " + id->name + ": " + r.error().message);
    *out = std::move(*r);
    return true;
  }

  const TemplateSet& set_;
  std::string& out_;
  const ExecLimits limits_;
  const size_t out_start_;  // out_ may hold what came before this execution
  uint64_t steps_ = 0;
  std::vector<std::pair<std::string_view, Value>> vars_;
  std::vector<Value> stack_;  // function arguments, reused across calls
  const CommandNode* cmd_ = nullptr;
  std::string_view cur_;
  int depth_ = 0;
  bool failed_ = false;
  berth::Error err_;
};

}  // namespace

Status ExecuteTree(const TemplateSet& set, std::string_view tree_name, const Value& data,
                   std::string& out, const ExecLimits& limits) {
  Exec e(set, out, limits);
  return e.Run(tree_name, data);
}

}  // namespace berth::tmpl
