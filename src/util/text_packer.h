// Small, similar texts kept in memory by the thousand (the Kubernetes watch caches' objects, the
// API cache's records) are mostly the same keys and values: a zstd dictionary trained on
// samples of them packs each to about a tenth (a trimmed Deployment's 780 bytes of JSON become
// ~80), and unpacking one costs microseconds.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "berth/result.h"

namespace berth::util {

class TextDictionary {
 public:
  // A cache that started empty (a new installation, a new cluster) has no list to train on:
  // it trains once it holds this many texts, and packs those again.
  static constexpr size_t kTrainAt = 256;

  // Trains a dictionary on `samples` (texts like the ones it will pack); when they are too few
  // or too small to train on, their concatenation serves as one (still packing what repeats
  // them). nullptr when there is nothing to learn from.
  static std::shared_ptr<const TextDictionary> Train(const std::vector<std::string_view>& samples);
  static std::shared_ptr<const TextDictionary> Train(const std::vector<std::string>& samples);
  ~TextDictionary();
  TextDictionary(const TextDictionary&) = delete;
  TextDictionary& operator=(const TextDictionary&) = delete;

  std::string Pack(std::string_view text) const;
  // kInternal when `packed` is not what Pack made with this dictionary.
  Result<std::string> Unpack(std::string_view packed) const;
  // The dictionary's memory: its compression and decompression tables (each holds its copy of
  // the dictionary).
  size_t bytes() const;

 private:
  struct Tables;
  explicit TextDictionary(std::unique_ptr<Tables> t);
  std::unique_ptr<Tables> t_;
};

// One text as kept: packed with the dictionary it holds on to (so that a newer dictionary,
// trained on a relist, leaves older texts readable), or plain without one.
class PackedText {
 public:
  PackedText() = default;
  PackedText(std::string_view text, std::shared_ptr<const TextDictionary> dict);
  // The text; "" (logged) if it does not unpack, which only a bug could cause.
  std::string str() const;
  // Bytes kept (not counting the shared dictionary).
  size_t size() const { return bytes_.size(); }
  // Whether it is packed (false: kept as it came, no dictionary).
  bool packed() const { return dict_ != nullptr; }

 private:
  std::string bytes_;
  std::shared_ptr<const TextDictionary> dict_;  // null: bytes_ is the text
};

}  // namespace berth::util
