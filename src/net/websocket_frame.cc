#include "net/websocket_frame.h"

#include <openssl/sha.h>

#include "util/base64.h"

namespace berth::net::ws {
namespace {

constexpr char kGuid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool Known(uint8_t op) {
  switch (static_cast<Opcode>(op)) {
    case Opcode::kContinuation:
    case Opcode::kText:
    case Opcode::kBinary:
    case Opcode::kClose:
    case Opcode::kPing:
    case Opcode::kPong:
      return true;
  }
  return false;
}

}  // namespace

std::string EncodeFrame(Opcode op, std::string_view payload, std::array<uint8_t, 4> mask) {
  std::string out;
  out.reserve(payload.size() + 14);
  out.push_back(static_cast<char>(0x80 | static_cast<uint8_t>(op)));
  const uint64_t n = payload.size();
  if (n < 126) {
    out.push_back(static_cast<char>(0x80 | n));
  } else if (n <= 0xFFFF) {
    out.push_back(static_cast<char>(0x80 | 126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xFF));
  } else {
    out.push_back(static_cast<char>(0x80 | 127));
    for (int shift = 56; shift >= 0; shift -= 8)
      out.push_back(static_cast<char>((n >> shift) & 0xFF));
  }
  for (uint8_t m : mask) out.push_back(static_cast<char>(m));
  for (size_t i = 0; i < payload.size(); ++i)
    out.push_back(static_cast<char>(static_cast<uint8_t>(payload[i]) ^ mask[i % 4]));
  return out;
}

std::string AcceptKey(std::string_view key) {
  std::string in(key);
  in += kGuid;
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(in.data()), in.size(), digest);
  return util::Base64Encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

Result<std::optional<Message>> FrameDecoder::Next() {
  auto bad = [this](const std::string& why) -> Result<std::optional<Message>> {
    failed_ = true;
    return Fail(ErrorCode::kInvalidArgument, "websocket: " + why);
  };
  if (failed_) return Fail(ErrorCode::kInvalidArgument, "websocket: the stream already failed");
  for (;;) {
    // Drop what was consumed once it is most of the buffer: each byte is moved O(1) times.
    if (pos_ > 4096 && pos_ * 2 > buf_.size()) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    const size_t avail = buf_.size() - pos_;
    if (avail < 2) return std::optional<Message>();
    const auto* p = reinterpret_cast<const uint8_t*>(buf_.data()) + pos_;
    const bool fin = p[0] & 0x80;
    const uint8_t op = p[0] & 0x0F;
    if (p[0] & 0x70) return bad("reserved bits set (no extension was negotiated)");
    if (!Known(op)) return bad("unknown opcode " + std::to_string(op));
    if (p[1] & 0x80) return bad("a server frame is masked");
    uint64_t len = p[1] & 0x7F;
    size_t header = 2;
    if (len == 126) {
      if (avail < 4) return std::optional<Message>();
      len = (uint64_t{p[2]} << 8) | p[3];
      header = 4;
    } else if (len == 127) {
      if (avail < 10) return std::optional<Message>();
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
      if (len >> 63) return bad("a 64-bit length with its most significant bit set");
      header = 10;
    }
    const bool control = op >= 0x8;
    if (control && (!fin || len > 125))
      return bad("a control frame that is fragmented or longer than 125 bytes");
    if (!control && len > max_message_ - std::min<uint64_t>(partial_.size(), max_message_))
      return bad("a message larger than " + std::to_string(max_message_) + " bytes");
    if (avail - header < len) return std::optional<Message>();
    std::string_view payload(buf_.data() + pos_ + header, static_cast<size_t>(len));
    pos_ += header + static_cast<size_t>(len);
    if (control)
      return std::optional<Message>(Message{static_cast<Opcode>(op), std::string(payload)});
    if (op == static_cast<uint8_t>(Opcode::kContinuation)) {
      if (!in_message_) return bad("a continuation frame with no message to continue");
    } else {
      if (in_message_) return bad("a new data frame inside a fragmented message");
      partial_op_ = static_cast<Opcode>(op);
      in_message_ = true;
    }
    partial_.append(payload);
    if (fin) {
      in_message_ = false;
      Message m{partial_op_, std::move(partial_)};
      partial_.clear();
      return std::optional<Message>(std::move(m));
    }
  }
}

}  // namespace berth::net::ws
