// Burst coalescing for reloads: a batch is due when no change came for `min_wait`, or
// `max_wait` after its first change, whichever is earlier. Time is passed in, so tests drive
// it with a fake clock.
#pragma once

#include <chrono>

namespace berth::router {

class Coalescer {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;

  Coalescer(std::chrono::milliseconds min_wait, std::chrono::milliseconds max_wait)
      : min_wait_(min_wait), max_wait_(max_wait) {}

  // A change arrived at `now`.
  void Notify(TimePoint now);
  bool Pending() const { return pending_; }
  // When the pending batch is due; TimePoint::max() when nothing is pending.
  TimePoint Deadline() const;
  bool Due(TimePoint now) const { return pending_ && now >= Deadline(); }
  // The batch was taken for applying; changes after this start a new batch.
  void Take() { pending_ = false; }

 private:
  std::chrono::milliseconds min_wait_;
  std::chrono::milliseconds max_wait_;
  bool pending_ = false;
  TimePoint first_{};
  TimePoint last_{};
};

}  // namespace berth::router
