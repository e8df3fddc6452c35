// The multiplexed stdout/stderr stream of logs/attach (FrameDecoder), fed in chunks whose sizes
// come from the input: the frames seen must not depend on how the stream was chunked.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/docker/docker_api.h"

namespace {

using Decoder = berth::runtime::docker::FrameDecoder;

std::vector<std::string> Decode(std::string_view stream, std::string_view chunk_sizes,
                                bool* corrupt) {
  Decoder d;
  std::vector<std::string> frames;
  auto fn = [&](Decoder::Stream s, std::string_view payload) {
    frames.push_back(std::to_string(static_cast<int>(s)) + ":" + std::string(payload));
    return true;
  };
  size_t i = 0, pos = 0;
  while (pos < stream.size()) {
    size_t n = chunk_sizes.empty()
                   ? stream.size()
                   : 1 + static_cast<uint8_t>(chunk_sizes[i++ % chunk_sizes.size()]);
    if (!d.Feed(stream.substr(pos, n), fn)) break;
    pos += n;
  }
  *corrupt = d.corrupt();
  return frames;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t k = data[0] % 8;  // leading bytes choosing the chunk sizes
  if (size < 1 + k) return 0;
  std::string_view chunks(reinterpret_cast<const char*>(data + 1), k);
  std::string_view stream(reinterpret_cast<const char*>(data + 1 + k), size - 1 - k);
  bool corrupt_whole = false, corrupt_chunked = false;
  auto whole = Decode(stream, {}, &corrupt_whole);
  auto chunked = Decode(stream, chunks, &corrupt_chunked);
  if (corrupt_whole != corrupt_chunked) __builtin_trap();
  if (!corrupt_whole && whole != chunked) __builtin_trap();
  return 0;
}
