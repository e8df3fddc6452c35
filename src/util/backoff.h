// Exponential backoff for reconnect loops: 500 ms doubling to 30 s; Reset() after a success.
#pragma once

#include <algorithm>
#include <chrono>

namespace berth::util {

class Backoff {
 public:
  // The delay to wait now; the next call returns twice as much (at most 30 s).
  std::chrono::milliseconds Next() {
    auto d = next_;
    next_ = std::min(next_ * 2, std::chrono::milliseconds(30000));
    return d;
  }
  void Reset() { next_ = std::chrono::milliseconds(500); }

 private:
  std::chrono::milliseconds next_{500};
};

}  // namespace berth::util
