#include "runtime/kubernetes/corefile.h"

#include <cctype>

#include "util/strings.h"

namespace berth::kube::corefile {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

// Skips a "..." string starting at i (text[i] == '"'); returns the index after it or npos.
size_t SkipQuoted(const std::string& t, size_t i) {
  for (++i; i < t.size(); ++i) {
    if (t[i] == '\\') {
      ++i;
      continue;
    }
    if (t[i] == '"') return i + 1;
  }
  return std::string::npos;
}

size_t SkipComment(const std::string& t, size_t i) {
  while (i < t.size() && t[i] != '\n') ++i;
  return i;
}

// Tokens of one line segment [b, e), stopping at '{', '}' or '#'.
std::vector<std::pair<std::string, Range>> Tokens(const std::string& t, size_t b, size_t e) {
  std::vector<std::pair<std::string, Range>> out;
  size_t i = b;
  while (i < e) {
    while (i < e && IsSpace(t[i])) ++i;
    if (i >= e || t[i] == '{' || t[i] == '}' || t[i] == '#') break;
    size_t s = i;
    if (t[i] == '"') {
      size_t q = SkipQuoted(t, i);
      i = q == std::string::npos || q > e ? e : q;
    } else {
      while (i < e && !IsSpace(t[i]) && t[i] != '{' && t[i] != '}' && t[i] != '#') ++i;
    }
    out.push_back({t.substr(s, i - s), {s, i}});
  }
  return out;
}

// Finds a top-level "forward" inside the body [b, e).
std::optional<ForwardDirective> FindForward(const std::string& t, size_t b, size_t e) {
  int depth = 0;
  size_t i = b;
  while (i < e) {
    size_t line_end = t.find('\n', i);
    if (line_end == std::string::npos || line_end > e) line_end = e;
    if (depth == 0) {
      auto toks = Tokens(t, i, line_end);
      if (toks.size() >= 2 && toks[0].first == "forward") {
        ForwardDirective f;
        f.from = toks[1].first;
        for (size_t k = 2; k < toks.size(); ++k) f.targets.push_back(toks[k].first);
        if (toks.size() > 2)
          f.targets_range = {toks[2].second.begin, toks.back().second.end};
        else
          f.targets_range = {toks[1].second.end, toks[1].second.end};
        return f;
      }
    }
    // Track nesting on this line (quotes and comments excluded).
    for (size_t k = i; k < line_end; ++k) {
      if (t[k] == '#') break;
      if (t[k] == '"') {
        size_t q = SkipQuoted(t, k);
        if (q == std::string::npos || q > line_end) break;
        k = q - 1;
        continue;
      }
      if (t[k] == '{' && k + 1 < line_end && t[k + 1] == '$') {  // {$ENV} placeholder
        size_t c = t.find('}', k);
        if (c != std::string::npos && c < line_end) k = c;
        continue;
      }
      if (t[k] == '{') ++depth;
      if (t[k] == '}') --depth;
    }
    i = line_end + 1;
  }
  return std::nullopt;
}

}  // namespace

std::string ServerBlock::Zone() const {
  if (keys.size() != 1) return "";
  std::string k = keys[0];
  for (const char* scheme : {"dns://", "tls://", "grpc://", "https://"})
    if (util::StartsWith(k, scheme)) k = k.substr(std::string(scheme).size());
  if (auto colon = k.rfind(':'); colon != std::string::npos) k = k.substr(0, colon);
  if (k.size() > 1 && k.back() == '.') k.pop_back();
  return util::ToLower(k);
}

bool ServerBlock::IsRoot() const {
  for (const auto& k : keys) {
    std::string z = ServerBlock{{k}, {}, 0, 0, std::nullopt}.Zone();
    if (z == "." || z.empty()) return true;
  }
  return false;
}

Result<std::vector<ServerBlock>> Scan(const std::string& t) {
  std::vector<ServerBlock> blocks;
  size_t i = 0;
  while (i < t.size()) {
    char c = t[i];
    if (IsSpace(c) || c == '\n') {
      ++i;
      continue;
    }
    if (c == '#') {
      i = SkipComment(t, i);
      continue;
    }
    // A block's keys run up to '{' on the same line; a line without '{' is a top-level
    // directive (import ...) and is left alone.
    size_t line_end = t.find('\n', i);
    if (line_end == std::string::npos) line_end = t.size();
    size_t open = std::string::npos;
    for (size_t k = i; k < line_end; ++k) {
      if (t[k] == '#') break;
      if (t[k] == '{' && !(k + 1 < line_end && t[k + 1] == '$')) {
        open = k;
        break;
      }
    }
    if (open == std::string::npos) {
      i = line_end;
      continue;
    }
    ServerBlock b;
    b.whole.begin = i;
    for (auto& [tok, r] : Tokens(t, i, open))
      for (auto& k : util::Split(tok, ','))
        if (!k.empty()) b.keys.push_back(k);
    b.body_begin = open + 1;
    int depth = 1;
    size_t k = open + 1;
    for (; k < t.size() && depth > 0; ++k) {
      char ch = t[k];
      if (ch == '#') {
        k = SkipComment(t, k) - 1;
        continue;
      }
      if (ch == '"') {
        size_t q = SkipQuoted(t, k);
        if (q == std::string::npos)
          return Fail(ErrorCode::kInvalidArgument, "Corefile: unterminated quote");
        k = q - 1;
        continue;
      }
      if (ch == '{' && k + 1 < t.size() && t[k + 1] == '$') {
        size_t cl = t.find('}', k);
        if (cl != std::string::npos) k = cl;
        continue;
      }
      if (ch == '{') ++depth;
      if (ch == '}') --depth;
    }
    if (depth != 0) return Fail(ErrorCode::kInvalidArgument, "Corefile: unbalanced braces");
    b.body_end = k - 1;
    size_t end = k;
    while (end < t.size() && IsSpace(t[end])) ++end;
    if (end < t.size() && t[end] == '\n') ++end;
    b.whole.end = end;
    b.forward = FindForward(t, b.body_begin, b.body_end);
    blocks.push_back(std::move(b));
    i = end;
  }
  return blocks;
}

}  // namespace berth::kube::corefile
