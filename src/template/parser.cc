// Recursive-descent parser following text/template/parse: actions, control structures,
// pipelines, and parse-time checks (unknown functions, undefined variables).
#include <charconv>
#include <cstdlib>

#include "template/internal.h"
#include "template/lexer.h"
#include "util/utf8.h"

namespace berth::tmpl {

namespace {

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes one UTF-8 sequence (for char constants like 'é').
uint32_t DecodeUtf8(std::string_view s, size_t* len) {
  unsigned char c = s[0];
  int n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  if (static_cast<size_t>(n) > s.size()) n = 1;
  uint32_t r = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
  for (int i = 1; i < n; ++i) r = (r << 6) | (static_cast<unsigned char>(s[i]) & 0x3F);
  *len = n;
  return r;
}

}  // namespace

Result<std::string> Unquote(std::string_view q) {
  if (q.size() < 2) return Fail(ErrorCode::kInvalidArgument, "invalid syntax");
  char quote = q.front();
  if (q.back() != quote) return Fail(ErrorCode::kInvalidArgument, "invalid syntax");
  std::string_view body = q.substr(1, q.size() - 2);
  if (quote == '`') {
    std::string out;
    for (char c : body)
      if (c != '\r') out += c;  // Go drops carriage returns from raw strings
    return out;
  }
  std::string out;
  out.reserve(body.size());
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i >= body.size()) return Fail(ErrorCode::kInvalidArgument, "invalid syntax");
    char e = body[i];
    switch (e) {
      case 'a':
        out += '\a';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      case '\\':
        out += '\\';
        break;
      case '\'':
      case '"':
        if (e != quote) return Fail(ErrorCode::kInvalidArgument, "invalid syntax");
        out += e;
        break;
      case 'x':
      case 'u':
      case 'U': {
        int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        uint32_t v = 0;
        for (int k = 1; k <= n; ++k) {
          if (i + k >= body.size()) return Fail(ErrorCode::kInvalidArgument, "invalid syntax");
          int h = HexVal(body[i + k]);
          if (h < 0) return Fail(ErrorCode::kInvalidArgument, "invalid syntax");
          v = v * 16 + h;
        }
        i += n;
        if (e == 'x') {
          out += static_cast<char>(v);
        } else {
          if (v > 0x10FFFF) return Fail(ErrorCode::kInvalidArgument, "invalid syntax");
          util::AppendUtf8(out, v);
        }
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          uint32_t v = 0;
          for (int k = 0; k < 3; ++k) {
            if (i + k >= body.size() || body[i + k] < '0' || body[i + k] > '7')
              return Fail(ErrorCode::kInvalidArgument, "invalid syntax");
            v = v * 8 + (body[i + k] - '0');
          }
          if (v > 255) return Fail(ErrorCode::kInvalidArgument, "invalid syntax");
          i += 2;
          out += static_cast<char>(v);
          break;
        }
        return Fail(ErrorCode::kInvalidArgument, "invalid syntax");
    }
  }
  return out;
}

namespace {

class Parser {
 public:
  Parser(TemplateSet& set, const FuncMap& funcs) : set_(set), funcs_(funcs) {}

  Status Run(std::string_view text) {
    Lexer lex(text);
    toks_ = lex.Run();
    lex_error_ = lex.error();
    // Padding after the final EOF/error token keeps Backup() after Next() exact at the end.
    Token last = toks_.back();
    toks_.push_back(last);
    toks_.push_back(last);
    auto root = std::make_unique<ListNode>(1);
    vars_ = {"$"};
    while (Peek().type != Tok::kEOF) {
      if (Peek().type == Tok::kError) return LexFail();
      if (Peek().type == Tok::kLeftDelim) {
        size_t save = idx_;
        Next();
        if (PeekNonSpace().type == Tok::kDefine) {
          NextNonSpace();
          if (!ParseDefine()) return Fail(ErrorCode::kInvalidArgument, err_);
          continue;
        }
        idx_ = save;
      }
      Tok term = Tok::kEOF;
      NodePtr n = TextOrAction(&term);
      if (!err_.empty()) return Fail(ErrorCode::kInvalidArgument, err_);
      if (term == Tok::kEnd || term == Tok::kElse) {
        return Fail(ErrorCode::kInvalidArgument,
                    Where(last_line_) + "unexpected {{" + TokName(term) + "}}");
      }
      if (n) root->nodes.push_back(std::move(n));
    }
    AddTree(set_.name, std::move(root));
    return {};
  }

 private:
  // ---- tokens ----
  const Token& Peek() const { return toks_[idx_]; }
  const Token& Next() {
    const Token& t = toks_[idx_];
    if (idx_ + 1 < toks_.size()) ++idx_;
    last_line_ = t.line;
    return t;
  }
  const Token& PeekNonSpace() {
    while (toks_[idx_].type == Tok::kSpace) Next();
    return toks_[idx_];
  }
  const Token& NextNonSpace() {
    PeekNonSpace();
    return Next();
  }
  void Backup() { --idx_; }

  std::string Where(int line) const { return set_.name + ":" + std::to_string(line) + ": "; }
  bool Error(int line, const std::string& msg) {
    if (err_.empty()) err_ = Where(line) + msg;
    return false;
  }
  Status LexFail() { return Fail(ErrorCode::kInvalidArgument, Where(Peek().line) + lex_error_); }
  bool Unexpected(const Token& t, const std::string& context) {
    if (t.type == Tok::kError) return Error(t.line, lex_error_);
    std::string what = t.type == Tok::kEOF ? "EOF" : std::string(t.text);
    return Error(t.line, "unexpected \"" + what + "\" in " + context);
  }

  // A define whose body is empty (only spaces) does not replace an existing one, as in Go.
  void AddTree(const std::string& name, std::unique_ptr<ListNode> list) {
    auto it = set_.trees.find(name);
    if (it != set_.trees.end() && IsEmptyTree(list.get())) return;
    set_.trees[name] = std::move(list);
  }
  static bool IsEmptyTree(const ListNode* l) {
    for (const auto& n : l->nodes) {
      if (n->type != NodeType::kText) return false;
      for (char c : static_cast<const TextNode*>(n.get())->text)
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return false;
    }
    return true;
  }

  // {{define "name"}} ... {{end}}; the "define" keyword is consumed.
  bool ParseDefine() {
    int line = last_line_;
    const Token& nt = NextNonSpace();
    if (nt.type != Tok::kString && nt.type != Tok::kRawString)
      return Unexpected(nt, "define clause");
    auto name = Unquote(nt.text);
    if (!name) return Error(nt.line, "bad name in define clause");
    if (NextNonSpace().type != Tok::kRightDelim)
      return Error(line, "unexpected token in define clause");
    auto saved_vars = std::move(vars_);
    vars_ = {"$"};
    Tok term;
    auto list = ItemList(&term);
    vars_ = std::move(saved_vars);
    if (!list) return false;
    if (term != Tok::kEnd) return Error(last_line_, "unexpected {{else}} in define clause");
    AddTree(*name, std::move(list));
    return true;
  }

  // Parses nodes until {{end}} or {{else}} (reported in *term) or fails.
  std::unique_ptr<ListNode> ItemList(Tok* term) {
    auto list = std::make_unique<ListNode>(Peek().line);
    while (true) {
      if (Peek().type == Tok::kEOF) {
        Error(Peek().line, "unexpected EOF");
        return nullptr;
      }
      Tok t = Tok::kEOF;
      NodePtr n = TextOrAction(&t);
      if (!err_.empty()) return nullptr;
      if (t == Tok::kEnd || t == Tok::kElse) {
        *term = t;
        return list;
      }
      if (n) list->nodes.push_back(std::move(n));
    }
  }

  // One text or action. For {{end}} / {{else}} returns null and sets *term.
  NodePtr TextOrAction(Tok* term) {
    const Token& t = Next();
    switch (t.type) {
      case Tok::kText:
        return std::make_unique<TextNode>(t.line, std::string(t.text));
      case Tok::kLeftDelim:
        return Action(term);
      case Tok::kError:
        Error(t.line, lex_error_);
        return nullptr;
      default:
        Unexpected(t, "input");
        return nullptr;
    }
  }

  NodePtr Action(Tok* term) {
    const Token& t = NextNonSpace();
    int line = t.line;
    switch (t.type) {
      case Tok::kBlock:
        return BlockControl(line);
      case Tok::kBreak:
      case Tok::kContinue: {
        if (range_depth_ == 0) {
          Error(line, std::string("{{") + TokName(t.type) + "}} outside {{range}}");
          return nullptr;
        }
        Tok tt = t.type;
        if (NextNonSpace().type != Tok::kRightDelim) {
          Error(line, std::string("unexpected token in {{") + TokName(tt) + "}}");
          return nullptr;
        }
        return std::make_unique<Node>(tt == Tok::kBreak ? NodeType::kBreak : NodeType::kContinue,
                                      line);
      }
      case Tok::kElse: {
        // "else if" / "else with": leave the keyword for the enclosing control to see.
        const Token& p = PeekNonSpace();
        if (p.type != Tok::kIf && p.type != Tok::kWith) {
          if (NextNonSpace().type != Tok::kRightDelim) {
            Error(line, "unexpected token in {{else}}");
            return nullptr;
          }
        }
        *term = Tok::kElse;
        return nullptr;
      }
      case Tok::kEnd:
        if (NextNonSpace().type != Tok::kRightDelim) {
          Error(line, "unexpected token in {{end}}");
          return nullptr;
        }
        *term = Tok::kEnd;
        return nullptr;
      case Tok::kIf:
        return Control(NodeType::kIf, line, "if");
      case Tok::kRange:
        return Control(NodeType::kRange, line, "range");
      case Tok::kWith:
        return Control(NodeType::kWith, line, "with");
      case Tok::kTemplate:
        return TemplateControl(line);
      case Tok::kDefine:
        Error(line, "unexpected {{define}}: define is only allowed at top level");
        return nullptr;
      default:
        break;
    }
    Backup();
    auto pipe = Pipeline("command", Tok::kRightDelim, false);
    if (!pipe) return nullptr;
    return std::make_unique<ActionNode>(line, std::move(pipe));
  }

  NodePtr Control(NodeType type, int line, const char* context) {
    if (!Enter(line)) return nullptr;
    struct Leave {
      int& d;
      ~Leave() { --d; }
    } leave{depth_};
    size_t vars_mark = vars_.size();
    auto node = std::make_unique<BranchNode>(type, line);
    node->pipe = Pipeline(context, Tok::kRightDelim, type == NodeType::kRange);
    if (!node->pipe) return nullptr;
    if (type == NodeType::kRange) ++range_depth_;
    Tok term = Tok::kEOF;
    node->list = ItemList(&term);
    if (type == NodeType::kRange) --range_depth_;
    if (!node->list) return nullptr;
    if (term == Tok::kElse) {
      const Token& p = PeekNonSpace();
      if ((type == NodeType::kIf && p.type == Tok::kIf) ||
          (type == NodeType::kWith && p.type == Tok::kWith)) {
        // {{if a}}..{{else if b}}..{{end}} == {{if a}}..{{else}}{{if b}}..{{end}}{{end}}.
        int eline = p.line;
        Next();
        node->else_list = std::make_unique<ListNode>(eline);
        auto inner = Control(type, eline, context);
        if (!inner) return nullptr;
        node->else_list->nodes.push_back(std::move(inner));
      } else {
        node->else_list = ItemList(&term);
        if (!node->else_list) return nullptr;
        if (term != Tok::kEnd) {
          Error(last_line_, "expected end; found {{else}}");
          return nullptr;
        }
      }
    }
    vars_.resize(vars_mark);
    return node;
  }

  NodePtr TemplateControl(int line) {
    const Token& nt = NextNonSpace();
    if (nt.type != Tok::kString && nt.type != Tok::kRawString) {
      Unexpected(nt, "template clause");
      return nullptr;
    }
    auto name = Unquote(nt.text);
    if (!name) {
      Error(nt.line, "bad name in template clause");
      return nullptr;
    }
    auto node = std::make_unique<TemplateNode>(line);
    node->name = *name;
    if (PeekNonSpace().type != Tok::kRightDelim) {
      node->pipe = Pipeline("template clause", Tok::kRightDelim, false);
      if (!node->pipe) return nullptr;
    } else {
      Next();
    }
    return node;
  }

  // {{block "name" pipeline}} body {{end}} == define + template.
  NodePtr BlockControl(int line) {
    const Token& nt = NextNonSpace();
    if (nt.type != Tok::kString && nt.type != Tok::kRawString) {
      Unexpected(nt, "block clause");
      return nullptr;
    }
    auto name = Unquote(nt.text);
    if (!name) {
      Error(nt.line, "bad name in block clause");
      return nullptr;
    }
    auto node = std::make_unique<TemplateNode>(line);
    node->name = *name;
    node->pipe = Pipeline("block clause", Tok::kRightDelim, false);
    if (!node->pipe) return nullptr;
    auto saved_vars = std::move(vars_);
    vars_ = {"$"};
    Tok term = Tok::kEOF;
    auto body = ItemList(&term);
    vars_ = std::move(saved_vars);
    if (!body) return nullptr;
    if (term != Tok::kEnd) {
      Error(last_line_, "unexpected {{else}} in block clause");
      return nullptr;
    }
    AddTree(*name, std::move(body));
    return node;
  }

  // pipeline: [decl :=] command | command ... up to `end` (consumed).
  std::unique_ptr<PipeNode> Pipeline(const std::string& context, Tok end, bool allow_two_vars) {
    auto pipe = std::make_unique<PipeNode>(PeekNonSpace().line);
    // Declarations.
    if (Peek().type == Tok::kVariable) {
      size_t save = idx_;
      const Token& v = Next();
      std::string name(v.text);
      const Token& after = PeekNonSpace();
      if (after.type == Tok::kDeclare || after.type == Tok::kAssign) {
        pipe->is_assign = after.type == Tok::kAssign;
        Next();
        pipe->decl.push_back(name);
        if (pipe->is_assign) {
          if (!HasVar(name)) {
            Error(v.line, "undefined variable \"" + name + "\"");
            return nullptr;
          }
        } else {
          vars_.push_back(name);
        }
      } else if (after.type == Tok::kComma && allow_two_vars) {
        Next();
        const Token& v2 = NextNonSpace();
        if (v2.type != Tok::kVariable) {
          Error(v2.line, "range can only initialize variables");
          return nullptr;
        }
        std::string name2(v2.text);
        const Token& op = NextNonSpace();
        if (op.type != Tok::kDeclare && op.type != Tok::kAssign) {
          Error(op.line, "missing := or = in range");
          return nullptr;
        }
        pipe->is_assign = op.type == Tok::kAssign;
        pipe->decl = {name, name2};
        if (pipe->is_assign) {
          for (const auto& n : pipe->decl)
            if (!HasVar(n)) {
              Error(v.line, "undefined variable \"" + n + "\"");
              return nullptr;
            }
        } else {
          vars_.push_back(name);
          vars_.push_back(name2);
        }
      } else {
        idx_ = save;
      }
    }
    while (true) {
      const Token& t = PeekNonSpace();
      if (t.type == end) {
        Next();
        if (pipe->cmds.empty()) {
          Error(t.line, "missing value for " + context);
          return nullptr;
        }
        return pipe;
      }
      if (t.type == Tok::kError) {
        Error(t.line, lex_error_);
        return nullptr;
      }
      if (t.type == Tok::kRightDelim || t.type == Tok::kRightParen || t.type == Tok::kEOF) {
        Unexpected(t, context);
        return nullptr;
      }
      CommandNode cmd;
      cmd.line = t.line;
      if (!Command(cmd, end)) return nullptr;
      if (!pipe->cmds.empty()) {
        NodeType ft = cmd.args[0]->type;
        if (ft == NodeType::kLiteral || ft == NodeType::kNil || ft == NodeType::kDot) {
          Error(cmd.line, "non executable command in pipeline stage " +
                              std::to_string(pipe->cmds.size() + 1));
          return nullptr;
        }
      }
      pipe->cmds.push_back(std::move(cmd));
    }
  }

  bool Command(CommandNode& cmd, Tok end) {
    while (true) {
      PeekNonSpace();
      NodePtr op = Operand();
      if (!err_.empty()) return false;
      if (op) cmd.args.push_back(std::move(op));
      const Token& t = Next();
      if (t.type == Tok::kSpace) continue;
      if (t.type == Tok::kRightDelim || t.type == Tok::kRightParen) {
        Backup();
        if (t.type != end) return Unexpected(t, "operand");
      } else if (t.type != Tok::kPipe) {
        return Unexpected(t, "operand");
      }
      break;
    }
    if (cmd.args.empty()) return Error(cmd.line, "empty command");
    return true;
  }

  NodePtr Operand() {
    NodePtr node = Term();
    if (!node) return nullptr;
    if (Peek().type != Tok::kField) return node;
    std::vector<std::string> fields;
    while (Peek().type == Tok::kField) fields.emplace_back(Next().text.substr(1));
    switch (node->type) {
      case NodeType::kField:
        for (auto& f : fields) static_cast<FieldNode*>(node.get())->idents.push_back(f);
        return node;
      case NodeType::kVariable:
        for (auto& f : fields) static_cast<VariableNode*>(node.get())->idents.push_back(f);
        return node;
      case NodeType::kLiteral:
      case NodeType::kNil:
      case NodeType::kDot:
        Error(node->line, "unexpected . after term \"" + NodeString(node.get()) + "\"");
        return nullptr;
      default: {
        auto chain = std::make_unique<ChainNode>(node->line);
        chain->node = std::move(node);
        chain->fields = std::move(fields);
        return chain;
      }
    }
  }

  NodePtr Term() {
    const Token& t = NextNonSpace();
    switch (t.type) {
      case Tok::kIdentifier: {
        std::string name(t.text);
        auto node = std::make_unique<IdentifierNode>(t.line);
        auto it = funcs_.find(name);
        if (it == funcs_.end()) {
          it = Builtins().find(name);
          if (it == Builtins().end()) {
            Error(t.line, "function \"" + name + "\" not defined");
            return nullptr;
          }
          if (name == "and") node->builtin = Builtin::kAnd;
          if (name == "or") node->builtin = Builtin::kOr;
          if (name == "call") node->builtin = Builtin::kCall;
        }
        node->fn = it->second;
        node->name = std::move(name);
        return node;
      }
      case Tok::kDot:
        return std::make_unique<Node>(NodeType::kDot, t.line);
      case Tok::kNil:
        return std::make_unique<Node>(NodeType::kNil, t.line);
      case Tok::kVariable: {
        std::string name(t.text);
        if (!HasVar(name)) {
          Error(t.line, "undefined variable \"" + name + "\"");
          return nullptr;
        }
        auto node = std::make_unique<VariableNode>(t.line);
        node->idents.push_back(std::move(name));
        return node;
      }
      case Tok::kField: {
        auto node = std::make_unique<FieldNode>(t.line);
        node->idents.emplace_back(t.text.substr(1));
        return node;
      }
      case Tok::kBool:
        return std::make_unique<LiteralNode>(t.line, Value(t.text == "true"), std::string(t.text));
      case Tok::kChar:
      case Tok::kNumber:
        return Number(t);
      case Tok::kString:
      case Tok::kRawString: {
        auto s = Unquote(t.text);
        if (!s) {
          Error(t.line, "invalid syntax: " + std::string(t.text));
          return nullptr;
        }
        return std::make_unique<LiteralNode>(t.line, Value(std::move(*s)), std::string(t.text));
      }
      case Tok::kLeftParen: {
        if (!Enter(t.line)) return nullptr;
        struct Leave {
          int& d;
          ~Leave() { --d; }
        } leave{depth_};
        auto pipe = Pipeline("parenthesized pipeline", Tok::kRightParen, false);
        if (!pipe) return nullptr;
        return pipe;
      }
      case Tok::kError:
        Error(t.line, lex_error_);
        return nullptr;
      default:
        Backup();
        return nullptr;
    }
  }

  NodePtr Number(const Token& t) {
    std::string text(t.text);
    if (t.type == Tok::kChar) {
      auto s = Unquote(text);
      if (!s || s->empty()) {
        Error(t.line, "malformed character constant: " + text);
        return nullptr;
      }
      size_t len = 0;
      uint32_t r = text.size() > 2 && text[1] == '\\' &&
                           (text[2] == 'x' || (text[2] >= '0' && text[2] <= '7'))
                       ? static_cast<unsigned char>((*s)[0])
                       : DecodeUtf8(*s, &len);
      return std::make_unique<LiteralNode>(t.line, Value(static_cast<int64_t>(r)), text);
    }
    std::string clean;
    for (char c : text)
      if (c != '_') clean += c;
    bool neg = false;
    std::string_view body = clean;
    if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
      neg = body[0] == '-';
      body.remove_prefix(1);
    }
    int base = 10;
    std::string_view digits = body;
    if (body.size() > 1 && body[0] == '0') {
      char p = body[1];
      if (p == 'x' || p == 'X')
        base = 16, digits = body.substr(2);
      else if (p == 'o' || p == 'O')
        base = 8, digits = body.substr(2);
      else if (p == 'b' || p == 'B')
        base = 2, digits = body.substr(2);
      else if (p >= '0' && p <= '7')
        base = 8, digits = body.substr(1);
    }
    bool is_float = base != 16 && body.find_first_of(".eE") != std::string_view::npos;
    if (!is_float && !digits.empty()) {
      uint64_t u = 0;
      auto r = std::from_chars(digits.data(), digits.data() + digits.size(), u, base);
      if (r.ec == std::errc() && r.ptr == digits.data() + digits.size()) {
        if (u <= static_cast<uint64_t>(INT64_MAX) ||
            (neg && u == static_cast<uint64_t>(INT64_MAX) + 1)) {
          int64_t v = neg ? static_cast<int64_t>(0 - u) : static_cast<int64_t>(u);
          return std::make_unique<LiteralNode>(t.line, Value(v), text);
        }
        return std::make_unique<LiteralNode>(
            t.line, Value(neg ? -static_cast<double>(u) : static_cast<double>(u)), text);
      }
    } else if (is_float) {
      char* end = nullptr;
      std::string s(clean);
      double d = std::strtod(s.c_str(), &end);
      if (end == s.c_str() + s.size()) return std::make_unique<LiteralNode>(t.line, Value(d), text);
    }
    Error(t.line, "bad number syntax: \"" + text + "\"");
    return nullptr;
  }

  // Bounds recursion so hostile input cannot exhaust the stack.
  bool Enter(int line) {
    if (++depth_ > kMaxNesting) {
      Error(line, "max nesting depth " + std::to_string(kMaxNesting) + " exceeded");
      return false;
    }
    return true;
  }
  static constexpr int kMaxNesting = 500;

  bool HasVar(const std::string& name) const {
    for (auto it = vars_.rbegin(); it != vars_.rend(); ++it)
      if (*it == name) return true;
    return false;
  }

  TemplateSet& set_;
  const FuncMap& funcs_;
  std::vector<Token> toks_;
  std::string lex_error_;
  size_t idx_ = 0;
  int last_line_ = 1;
  std::vector<std::string> vars_;
  int range_depth_ = 0;
  int depth_ = 0;
  std::string err_;
};

}  // namespace

Status ParseInto(TemplateSet& set, std::string_view text, const FuncMap& funcs) {
  Parser p(set, funcs);
  return p.Run(text);
}

}  // namespace berth::tmpl
