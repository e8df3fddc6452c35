// RFC 6455 framing for a WebSocket client: frames to send (always masked, as a client must) and
// an incremental decoder of the server's frames (never masked) that reassembles fragmented
// messages. Pure and bounded: linear in its input, a message larger than the limit is an error.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "berth/result.h"

namespace berth::net::ws {

enum class Opcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

// One whole message (data frames reassembled) or one control frame.
struct Message {
  Opcode opcode = Opcode::kBinary;
  std::string payload;
};

// A frame with FIN set (this client never fragments what it sends).
std::string EncodeFrame(Opcode op, std::string_view payload, std::array<uint8_t, 4> mask);

// The Sec-WebSocket-Accept a server must answer for `key`: base64(SHA-1(key + RFC GUID)).
std::string AcceptKey(std::string_view key);

class FrameDecoder {
 public:
  explicit FrameDecoder(size_t max_message = 16u << 20) : max_message_(max_message) {}

  // Appends bytes read from the connection.
  void Feed(std::string_view bytes) { buf_.append(bytes); }
  // The next complete message if the input holds one; nullopt when more bytes are needed.
  // A protocol violation (reserved bits, a masked server frame, a fragmented or long control
  // frame, a continuation with nothing to continue, a 64-bit length with its top bit set, a
  // message over the limit, an unknown opcode) is kInvalidArgument and ends the stream.
  Result<std::optional<Message>> Next();
  // Bytes received but not yet part of a returned message.
  size_t buffered() const { return buf_.size() - pos_ + partial_.size(); }

 private:
  size_t max_message_;
  std::string buf_;
  size_t pos_ = 0;           // start of the next unread frame in buf_
  std::string partial_;      // a fragmented data message so far
  bool in_message_ = false;  // a first fragment was read, its FIN not yet
  Opcode partial_op_ = Opcode::kBinary;
  bool failed_ = false;
};

}  // namespace berth::net::ws
