// A server's WebSocket bytes (the Kubernetes exec stream): the frame decoder fed in pieces of
// the sizes the first byte picks, and each message on the status channel (3) read as an exit
// code, as ExecInPod does.
#include <cstdint>
#include <string_view>

#include "net/websocket_frame.h"
#include "runtime/kubernetes/exec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t piece = 1 + data[0] % 64;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  berth::net::ws::FrameDecoder d(1 << 16);
  while (!in.empty()) {
    d.Feed(in.substr(0, piece));
    in.remove_prefix(std::min(piece, in.size()));
    for (;;) {
      auto m = d.Next();
      if (!m) return 0;
      if (!*m) break;
      const auto& msg = **m;
      if (msg.opcode == berth::net::ws::Opcode::kBinary && !msg.payload.empty() &&
          msg.payload[0] == 3)
        (void)berth::kube::ExitCodeFromStatus(std::string_view(msg.payload).substr(1));
    }
  }
  return 0;
}
