#include "util/base64.h"

#include <array>
#include <cstdint>

namespace berth::util {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> MakeReverse() {
  std::array<int8_t, 256> r{};
  for (auto& v : r) v = -1;
  for (int i = 0; i < 64; ++i) r[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  return r;
}
constexpr auto kReverse = MakeReverse();

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

tl::unexpected<Error> Illegal(size_t at) {
  return Fail(ErrorCode::kInvalidArgument,
              "illegal base64 data at input byte " + std::to_string(at));
}

}  // namespace

std::string Base64Encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8) |
                 uint32_t(uint8_t(in[i + 2]));
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  size_t rest = in.size() - i;
  if (rest > 0) {
    uint32_t n = uint32_t(uint8_t(in[i])) << 16;
    if (rest == 2) n |= uint32_t(uint8_t(in[i + 1])) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Result<std::string> Base64Decode(std::string_view in, Base64DecodeOptions opts) {
  std::string out;
  out.reserve(in.size() / 4 * 3 + 2);
  uint32_t group = 0;  // the current group's 6-bit values, first one highest
  int chars = 0;       // alphabet characters in the current group, 0..3
  int pad = 0;         // '=' seen; after the first, only more '=' may follow
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (opts.ignore_whitespace && IsSpace(c)) continue;
    if (opts.ignore_newlines && (c == '\r' || c == '\n')) continue;
    if (c == '=') {
      // Padding only fills up a last group of two or three characters.
      if (chars < 2 || chars + pad == 4) return Illegal(i);
      ++pad;
      continue;
    }
    int8_t v = kReverse[static_cast<unsigned char>(c)];
    if (v < 0 || pad > 0) return Illegal(i);
    group = (group << 6) | uint32_t(v);
    if (++chars == 4) {
      out += char((group >> 16) & 0xff);
      out += char((group >> 8) & 0xff);
      out += char(group & 0xff);
      group = 0;
      chars = 0;
    }
  }
  if (chars == 0) return out;
  // A last group of one character carries no whole byte; a padded one must be filled to four.
  if (chars == 1 || (pad > 0 && chars + pad != 4) || (pad == 0 && opts.require_padding))
    return Illegal(in.size());
  if (chars == 2) {
    out += char((group >> 4) & 0xff);
  } else {
    out += char((group >> 10) & 0xff);
    out += char((group >> 2) & 0xff);
  }
  return out;
}

}  // namespace berth::util
