#include "template/lexer.h"

#include <algorithm>
#include <unordered_map>

namespace berth::tmpl {

namespace {
constexpr std::string_view kLeft = "{{";
constexpr std::string_view kRight = "}}";

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
bool IsAlnum(char c) {
  return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         static_cast<unsigned char>(c) >= 0x80;  // Go allows Unicode letters; accept UTF-8 bytes
}
bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

const std::unordered_map<std::string_view, Tok>& Keywords() {
  static const auto* m = new std::unordered_map<std::string_view, Tok>{
      {"block", Tok::kBlock},   {"break", Tok::kBreak}, {"continue", Tok::kContinue},
      {"define", Tok::kDefine}, {"else", Tok::kElse},   {"end", Tok::kEnd},
      {"if", Tok::kIf},         {"range", Tok::kRange}, {"template", Tok::kTemplate},
      {"with", Tok::kWith},     {"true", Tok::kBool},   {"false", Tok::kBool},
      {"nil", Tok::kNil}};
  return *m;
}
}  // namespace

int Lexer::LineAt(size_t pos) {
  if (pos > line_pos_) {
    line_ += static_cast<int>(std::count(in_.begin() + line_pos_, in_.begin() + pos, '\n'));
    line_pos_ = pos;
  }
  return line_;
}

void Lexer::Emit(Tok t, size_t start, size_t end) {
  out_.push_back(Token{t, in_.substr(start, end - start), LineAt(start)});
}

void Lexer::Error(std::string msg) {
  error_ = std::move(msg);
  out_.push_back(Token{Tok::kError, error_, LineAt(pos_)});
}

bool Lexer::AtRightDelim(size_t pos, bool* trim) const {
  std::string_view rest = in_.substr(std::min(pos, in_.size()));
  if (rest.size() >= 4 && IsSpace(rest[0]) && rest[1] == '-' && rest.substr(2, 2) == kRight) {
    *trim = true;
    return true;
  }
  *trim = false;
  return rest.substr(0, 2) == kRight;
}

std::vector<Token> Lexer::Run() {
  while (LexText()) {
    if (!LexAction()) break;
  }
  return std::move(out_);
}

// Text up to the next "{{"; handles trim markers and comments. False at EOF or on error.
bool Lexer::LexText() {
  size_t idx = in_.find(kLeft, pos_);
  size_t text_end = idx == std::string_view::npos ? in_.size() : idx;
  size_t start = pos_;
  if (trim_next_text_) {
    while (start < text_end && IsSpace(in_[start])) ++start;
    trim_next_text_ = false;
  }
  bool left_trim = false;
  if (idx != std::string_view::npos && idx + 3 < in_.size() && in_[idx + 2] == '-' &&
      IsSpace(in_[idx + 3])) {
    left_trim = true;
  }
  size_t end = text_end;
  if (left_trim) {
    while (end > start && IsSpace(in_[end - 1])) --end;
  }
  if (end > start) Emit(Tok::kText, start, end);
  if (idx == std::string_view::npos) {
    pos_ = in_.size();
    out_.push_back(Token{Tok::kEOF, {}, LineAt(pos_)});
    return false;
  }
  pos_ = idx + kLeft.size();
  size_t after = pos_ + (left_trim ? 2 : 0);
  if (in_.substr(after, 2) == "/*") {
    size_t close = in_.find("*/", after + 2);
    if (close == std::string_view::npos) {
      pos_ = after;
      Error("unclosed comment");
      return false;
    }
    pos_ = close + 2;
    bool trim = false;
    if (!AtRightDelim(pos_, &trim)) {
      Error("comment ends before closing delimiter");
      return false;
    }
    pos_ += (trim ? 2 : 0) + kRight.size();
    trim_next_text_ = trim;
    return LexText();
  }
  Emit(Tok::kLeftDelim, idx, pos_);
  if (left_trim) pos_ += 1;  // the '-'; the space after it is lexed as a space
  paren_depth_ = 0;
  return true;
}

bool Lexer::CheckTerminator() {
  if (pos_ >= in_.size()) return true;
  char c = in_[pos_];
  if (IsSpace(c) || c == '.' || c == ',' || c == '|' || c == ':' || c == ')' || c == '(' ||
      c == '=')
    return true;
  if (in_.substr(pos_, 2) == kRight) return true;
  Error(std::string("bad character U+") +
        [&] {
          char buf[8];
          snprintf(buf, sizeof buf, "%04X", static_cast<unsigned char>(c));
          return std::string(buf);
        }() +
        " '" + c + "'");
  return false;
}

// Tokens inside one action, up to and including the right delimiter.
bool Lexer::LexAction() {
  while (true) {
    bool trim = false;
    if (AtRightDelim(pos_, &trim)) {
      if (paren_depth_ > 0) {
        Error("unclosed left paren");
        return false;
      }
      size_t start = pos_ + (trim ? 2 : 0);
      pos_ = start + kRight.size();
      Emit(Tok::kRightDelim, start, pos_);
      trim_next_text_ = trim;
      return true;
    }
    if (pos_ >= in_.size()) {
      Error("unclosed action");
      return false;
    }
    size_t start = pos_;
    char c = in_[pos_];
    if (IsSpace(c)) {
      while (pos_ < in_.size() && IsSpace(in_[pos_])) {
        bool t = false;
        if (AtRightDelim(pos_, &t) && t) break;  // leave " -}}" for the delimiter
        ++pos_;
      }
      if (pos_ > start) Emit(Tok::kSpace, start, pos_);
      continue;
    }
    switch (c) {
      case '=':
        ++pos_;
        Emit(Tok::kAssign, start, pos_);
        continue;
      case ':':
        if (in_.substr(pos_, 2) != ":=") {
          Error("expected :=");
          return false;
        }
        pos_ += 2;
        Emit(Tok::kDeclare, start, pos_);
        continue;
      case '|':
        ++pos_;
        Emit(Tok::kPipe, start, pos_);
        continue;
      case ',':
        ++pos_;
        Emit(Tok::kComma, start, pos_);
        continue;
      case '(':
        ++pos_;
        ++paren_depth_;
        Emit(Tok::kLeftParen, start, pos_);
        continue;
      case ')':
        ++pos_;
        if (--paren_depth_ < 0) {
          Error("unexpected right paren");
          return false;
        }
        Emit(Tok::kRightParen, start, pos_);
        continue;
      case '"':
      case '\'': {
        ++pos_;
        while (true) {
          if (pos_ >= in_.size() || in_[pos_] == '\n') {
            Error(c == '"' ? "unterminated quoted string" : "unterminated character constant");
            return false;
          }
          char d = in_[pos_++];
          if (d == '\\' && pos_ < in_.size() && in_[pos_] != '\n') {
            ++pos_;
          } else if (d == c) {
            break;
          }
        }
        Emit(c == '"' ? Tok::kString : Tok::kChar, start, pos_);
        continue;
      }
      case '`': {
        size_t close = in_.find('`', pos_ + 1);
        if (close == std::string_view::npos) {
          Error("unterminated raw quoted string");
          return false;
        }
        pos_ = close + 1;
        Emit(Tok::kRawString, start, pos_);
        continue;
      }
      case '$':
        ++pos_;
        while (pos_ < in_.size() && IsAlnum(in_[pos_])) ++pos_;
        Emit(Tok::kVariable, start, pos_);
        if (!CheckTerminator()) return false;
        continue;
      default:
        break;
    }
    if (c == '.' && !(pos_ + 1 < in_.size() && IsDigit(in_[pos_ + 1]))) {
      ++pos_;
      if (pos_ < in_.size() && IsAlnum(in_[pos_])) {
        while (pos_ < in_.size() && IsAlnum(in_[pos_])) ++pos_;
        Emit(Tok::kField, start, pos_);
      } else {
        Emit(Tok::kDot, start, pos_);
      }
      if (!CheckTerminator()) return false;
      continue;
    }
    if (c == '.' || c == '+' || c == '-' || IsDigit(c)) {
      ++pos_;
      while (pos_ < in_.size()) {
        char d = in_[pos_];
        char prev = in_[pos_ - 1];
        bool exp_sign = (d == '+' || d == '-') &&
                        (prev == 'e' || prev == 'E' || prev == 'p' || prev == 'P') &&
                        !(in_.substr(start, 2) == "0x" || in_.substr(start, 2) == "0X");
        if (IsAlnum(d) || d == '.' || exp_sign) {
          ++pos_;
        } else {
          break;
        }
      }
      Emit(Tok::kNumber, start, pos_);
      continue;
    }
    if (IsAlnum(c)) {
      while (pos_ < in_.size() && IsAlnum(in_[pos_])) ++pos_;
      std::string_view word = in_.substr(start, pos_ - start);
      auto it = Keywords().find(word);
      Emit(it == Keywords().end() ? Tok::kIdentifier : it->second, start, pos_);
      if (!CheckTerminator()) return false;
      continue;
    }
    Error(std::string("unrecognized character in action: '") + c + "'");
    return false;
  }
}

const char* TokName(Tok t) {
  switch (t) {
    case Tok::kError:
      return "error";
    case Tok::kEOF:
      return "EOF";
    case Tok::kText:
      return "text";
    case Tok::kLeftDelim:
      return "left delim";
    case Tok::kRightDelim:
      return "right delim";
    case Tok::kSpace:
      return "space";
    case Tok::kIdentifier:
      return "identifier";
    case Tok::kField:
      return "field";
    case Tok::kVariable:
      return "variable";
    case Tok::kString:
      return "string";
    case Tok::kRawString:
      return "raw string";
    case Tok::kChar:
      return "character constant";
    case Tok::kNumber:
      return "number";
    case Tok::kBool:
      return "bool";
    case Tok::kNil:
      return "nil";
    case Tok::kDot:
      return "dot";
    case Tok::kPipe:
      return "|";
    case Tok::kLeftParen:
      return "(";
    case Tok::kRightParen:
      return ")";
    case Tok::kDeclare:
      return ":=";
    case Tok::kAssign:
      return "=";
    case Tok::kComma:
      return ",";
    case Tok::kBlock:
      return "block";
    case Tok::kBreak:
      return "break";
    case Tok::kContinue:
      return "continue";
    case Tok::kDefine:
      return "define";
    case Tok::kElse:
      return "else";
    case Tok::kEnd:
      return "end";
    case Tok::kIf:
      return "if";
    case Tok::kRange:
      return "range";
    case Tok::kTemplate:
      return "template";
    case Tok::kWith:
      return "with";
  }
  return "?";
}

}  // namespace berth::tmpl
