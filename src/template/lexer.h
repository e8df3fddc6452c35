// Splits Go-template source into tokens, following text/template's lexer: text, delimiters with
// trim markers, comments, and the tokens inside actions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace berth::tmpl {

enum class Tok {
  kError,  // text holds the message
  kEOF,
  kText,
  kLeftDelim,
  kRightDelim,
  kSpace,
  kIdentifier,
  kField,     // ".Name"
  kVariable,  // "$" or "$name"
  kString,    // quoted, still escaped
  kRawString,
  kChar,
  kNumber,
  kBool,
  kNil,
  kDot,
  kPipe,
  kLeftParen,
  kRightParen,
  kDeclare,  // :=
  kAssign,   // =
  kComma,
  // keywords
  kBlock,
  kBreak,
  kContinue,
  kDefine,
  kElse,
  kEnd,
  kIf,
  kRange,
  kTemplate,
  kWith,
};

struct Token {
  Tok type = Tok::kEOF;
  std::string_view text;  // a view into the source (or the error message for kError)
  int line = 1;
};

// Lexes the whole input. The last token is kEOF or kError (whose text is error()).
class Lexer {
 public:
  explicit Lexer(std::string_view input) : in_(input) {}
  std::vector<Token> Run();

 private:
  bool LexText();
  bool LexAction();
  void Emit(Tok t, size_t start, size_t end);
  void Error(std::string msg);
  bool AtRightDelim(size_t pos, bool* trim) const;
  int LineAt(size_t pos);
  bool CheckTerminator();

  std::string_view in_;
  size_t pos_ = 0;
  size_t line_pos_ = 0;  // LineAt() counts newlines incrementally from here
  int line_ = 1;
  int paren_depth_ = 0;
  std::vector<Token> out_;
  bool trim_next_text_ = false;
  std::string error_;  // the kError token's text points here

 public:
  const std::string& error() const { return error_; }
};

const char* TokName(Tok t);

}  // namespace berth::tmpl
