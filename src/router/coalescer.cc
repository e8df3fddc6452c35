#include "router/coalescer.h"

#include <algorithm>

namespace berth::router {

void Coalescer::Notify(TimePoint now) {
  if (!pending_) {
    pending_ = true;
    first_ = now;
  }
  last_ = now;
}

Coalescer::TimePoint Coalescer::Deadline() const {
  if (!pending_) return TimePoint::max();
  return std::min(last_ + min_wait_, first_ + max_wait_);
}

}  // namespace berth::router
