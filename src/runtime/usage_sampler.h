// What each environment uses, sampled in the background (berth serve): every `interval` one
// Runtime::Usage call per environment, each with a deadline, the last hour of samples kept in
// memory per environment (a small ring buffer, for the dashboard's charts). /metrics and
// `GET /v1/usage` read the samples, so they never wait for the engine; a request for an
// environment with no recent sample takes one now.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "berth/environment.h"
#include "berth/result.h"
#include "berth/runtime.h"

namespace berth::runtime {

// A fixed-capacity ring: pushing onto a full one drops the oldest element.
template <typename T>
class Ring {
 public:
  explicit Ring(size_t capacity) : buf_(capacity > 0 ? capacity : 1) {}
  void Push(T v) {
    buf_[(start_ + size_) % buf_.size()] = std::move(v);
    if (size_ < buf_.size())
      ++size_;
    else
      start_ = (start_ + 1) % buf_.size();
  }
  size_t size() const { return size_; }
  size_t capacity() const { return buf_.size(); }
  bool empty() const { return size_ == 0; }
  // i = 0 is the oldest.
  const T& at(size_t i) const { return buf_[(start_ + i) % buf_.size()]; }
  const T& back() const { return at(size_ - 1); }
  std::vector<T> ToVector() const {
    std::vector<T> out;
    out.reserve(size_);
    for (size_t i = 0; i < size_; ++i) out.push_back(at(i));
    return out;
  }

 private:
  std::vector<T> buf_;
  size_t start_ = 0;
  size_t size_ = 0;
};

struct UsagePoint {
  int64_t at_ms = 0;  // unix time, milliseconds
  WorkloadUsage usage;
};

// CPU cores between two samples: nullopt without both CPU figures, with no time between them
// or when the counter went back (the workload was replaced).
std::optional<double> CpuCores(const UsagePoint& older, const UsagePoint& newer);

struct UsageSamplerOptions {
  std::chrono::milliseconds interval{15000};
  std::chrono::milliseconds deadline{5000};  // per Runtime::Usage call
  std::chrono::seconds history{3600};        // kept per environment
  size_t max_environments = 2000;            // sampled per round, at most
};

class UsageSampler {
 public:
  // The environments to sample: the stored specs (deleting and sleeping ones are skipped).
  using ListFn = std::function<Result<std::vector<EnvironmentSpec>>()>;
  using NowFn = std::function<int64_t()>;  // unix ms; replaceable in tests

  UsageSampler(Runtime& runtime, ListFn list, UsageSamplerOptions opts, NowFn now = nullptr);
  ~UsageSampler();
  UsageSampler(const UsageSampler&) = delete;
  UsageSampler& operator=(const UsageSampler&) = delete;

  void Start();
  void Stop();
  // One round now: samples every listed environment, forgets the ones no longer listed.
  void SampleAll();
  // The environment's report. With `sample_if_stale`, samples it first when it has no sample,
  // only one at least 1 s old (so a second request ~1 s later gives a CPU rate), or none
  // within two intervals.
  UsageReport Report(const EnvironmentSpec& spec, bool sample_if_stale);
  // The kept samples of "ns/name", oldest first.
  std::vector<UsagePoint> History(const std::string& key) const;
  size_t capacity() const { return capacity_; }

 private:
  struct Series {
    explicit Series(size_t cap) : points(cap) {}
    Ring<UsagePoint> points;
    std::string error;
    int64_t error_at_ms = 0;
  };
  void SampleOne(const EnvironmentSpec& spec);
  void Loop();

  Runtime& runtime_;
  ListFn list_;
  UsageSamplerOptions opts_;
  NowFn now_;
  size_t capacity_;
  mutable std::mutex mu_;
  std::map<std::string, Series> series_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace berth::runtime
