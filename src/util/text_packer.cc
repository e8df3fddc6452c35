#include "util/text_packer.h"

#include <spdlog/spdlog.h>
#include <zdict.h>
#include <zstd.h>

#include <algorithm>
#include <mutex>

namespace berth::util {

namespace {

// Level 1: with a dictionary the texts pack as small as at level 3 (measured on Deployments:
// 75 against 75 bytes), and packing is on every watch event.
constexpr int kLevel = 1;
// Big enough for every key and common value of one kind of object; a larger one packs no
// better (8 KiB and 16 KiB: within 2%) and costs memory.
constexpr size_t kDictCapacity = 8 * 1024;
// Training on more samples than this only costs time.
constexpr size_t kMaxSamples = 512;
// What Unpack accepts as a text's size: far above any object kept (a bug, not data, would pass
// more).
constexpr unsigned long long kMaxText = 64ull << 20;

// A few contexts shared by every thread: a context is not shareable while in use, allocating
// one per call would cost more than the packing, and one per thread would hold ~130 KB in each
// of serve's many threads (a decompression context is 96 KB).
template <typename Ctx, Ctx* (*Create)(), size_t (*Free)(Ctx*)>
class ContextPool {
 public:
  struct Deleter {
    void operator()(Ctx* c) const { Free(c); }
  };
  using Handle = std::unique_ptr<Ctx, Deleter>;
  // A context of the pool's, or a new one.
  Handle Take() {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!free_.empty()) {
        Handle h = std::move(free_.back());
        free_.pop_back();
        return h;
      }
    }
    return Handle(Create());
  }
  void Give(Handle h) {
    if (!h) return;
    std::lock_guard<std::mutex> l(mu_);
    if (free_.size() < kKeep) free_.push_back(std::move(h));
  }

 private:
  static constexpr size_t kKeep = 4;
  std::mutex mu_;
  std::vector<Handle> free_;
};

ContextPool<ZSTD_CCtx, ZSTD_createCCtx, ZSTD_freeCCtx>& CompressionContexts() {
  static auto* pool = new ContextPool<ZSTD_CCtx, ZSTD_createCCtx, ZSTD_freeCCtx>;
  return *pool;
}
ContextPool<ZSTD_DCtx, ZSTD_createDCtx, ZSTD_freeDCtx>& DecompressionContexts() {
  static auto* pool = new ContextPool<ZSTD_DCtx, ZSTD_createDCtx, ZSTD_freeDCtx>;
  return *pool;
}

}  // namespace

struct TextDictionary::Tables {
  ZSTD_CDict* cdict = nullptr;
  ZSTD_DDict* ddict = nullptr;
  ~Tables() {
    ZSTD_freeCDict(cdict);
    ZSTD_freeDDict(ddict);
  }
};

TextDictionary::TextDictionary(std::unique_ptr<Tables> t) : t_(std::move(t)) {}
TextDictionary::~TextDictionary() = default;

std::shared_ptr<const TextDictionary> TextDictionary::Train(
    const std::vector<std::string_view>& samples) {
  // Evenly spread samples, at most kMaxSamples of them.
  std::string joined;
  std::vector<size_t> sizes;
  const size_t step = std::max<size_t>(1, samples.size() / kMaxSamples);
  for (size_t i = 0; i < samples.size() && sizes.size() < kMaxSamples; i += step) {
    if (samples[i].empty()) continue;
    joined.append(samples[i]);
    sizes.push_back(samples[i].size());
  }
  if (joined.empty()) return nullptr;

  std::string dict(kDictCapacity, '\0');
  const size_t trained = ZDICT_trainFromBuffer(dict.data(), dict.size(), joined.data(),
                                               sizes.data(), static_cast<unsigned>(sizes.size()));
  if (ZDICT_isError(trained)) {
    // Too few samples to train on: what they say, as raw content, is still the best guess of
    // what the next texts repeat (the most recent part of it, as zstd matches backwards).
    dict = joined.size() > kDictCapacity ? joined.substr(joined.size() - kDictCapacity) : joined;
  } else {
    dict.resize(trained);
  }
  // Both tables copy the dictionary: it need not be kept here.
  auto t = std::make_unique<Tables>();
  t->cdict = ZSTD_createCDict(dict.data(), dict.size(), kLevel);
  t->ddict = ZSTD_createDDict(dict.data(), dict.size());
  if (!t->cdict || !t->ddict) return nullptr;
  return std::shared_ptr<const TextDictionary>(new TextDictionary(std::move(t)));
}

std::shared_ptr<const TextDictionary> TextDictionary::Train(
    const std::vector<std::string>& samples) {
  return Train(std::vector<std::string_view>(samples.begin(), samples.end()));
}

std::string TextDictionary::Pack(std::string_view text) const {
  std::string out(ZSTD_compressBound(text.size()), '\0');
  auto ctx = CompressionContexts().Take();
  if (!ctx) return {};
  const size_t n = ZSTD_compress_usingCDict(ctx.get(), out.data(), out.size(), text.data(),
                                            text.size(), t_->cdict);
  CompressionContexts().Give(std::move(ctx));
  // Cannot fail with a bound-sized buffer and a valid dictionary; kept whole if it ever did.
  if (ZSTD_isError(n)) {
    spdlog::error("packing a text: {}", ZSTD_getErrorName(n));
    return {};
  }
  out.resize(n);
  out.shrink_to_fit();
  return out;
}

Result<std::string> TextDictionary::Unpack(std::string_view packed) const {
  const unsigned long long size = ZSTD_getFrameContentSize(packed.data(), packed.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > kMaxText)
    return Fail(ErrorCode::kInternal, "not a packed text");
  std::string out(static_cast<size_t>(size), '\0');
  auto ctx = DecompressionContexts().Take();
  if (!ctx) return Fail(ErrorCode::kInternal, "unpacking a text: out of memory");
  const size_t n = ZSTD_decompress_usingDDict(ctx.get(), out.data(), out.size(), packed.data(),
                                              packed.size(), t_->ddict);
  DecompressionContexts().Give(std::move(ctx));
  if (ZSTD_isError(n) || n != out.size())
    return Fail(ErrorCode::kInternal,
                std::string("unpacking a text: ") +
                    (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "its size is not the one recorded"));
  return out;
}

size_t TextDictionary::bytes() const {
  return ZSTD_sizeof_CDict(t_->cdict) + ZSTD_sizeof_DDict(t_->ddict);
}

PackedText::PackedText(std::string_view text, std::shared_ptr<const TextDictionary> dict) {
  if (dict) {
    std::string packed = dict->Pack(text);
    if (!packed.empty() || text.empty()) {
      bytes_ = std::move(packed);
      dict_ = std::move(dict);
      return;
    }
  }
  bytes_.assign(text);
}

std::string PackedText::str() const {
  if (!dict_) return bytes_;
  auto text = dict_->Unpack(bytes_);
  if (!text) {
    spdlog::error("{}", text.error().message);
    return {};
  }
  return std::move(*text);
}

}  // namespace berth::util
