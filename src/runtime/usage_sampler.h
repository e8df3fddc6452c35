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
  // Requests the router has counted for the environment so far (a counter; nullopt without a
  // router that counts).
  std::optional<int64_t> requests;
};

// CPU cores between two samples: the counter's rate (nullopt without both CPU figures, with no
// time between them or when the counter went back: the workload was replaced), else the rate
// the newer sample reports itself.
std::optional<double> CpuCores(const UsagePoint& older, const UsagePoint& newer);
// A counter's change per second between two samples; nullopt without both values, with no time
// between them or when it went back (a restart reset it).
std::optional<double> PerSecond(std::optional<int64_t> older, std::optional<int64_t> newer,
                                int64_t dt_ms);
// Each point with its counters as rates since the point before it (see UsageRates).
std::vector<UsageRates> ToRates(const std::vector<UsagePoint>& points);

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
  // The router's request counters by "ns/name" (berth serve: nginx's shared dict).
  using RequestsFn = std::function<Result<std::map<std::string, int64_t>>()>;

  UsageSampler(Runtime& runtime, ListFn list, UsageSamplerOptions opts, NowFn now = nullptr);
  ~UsageSampler();
  UsageSampler(const UsageSampler&) = delete;
  UsageSampler& operator=(const UsageSampler&) = delete;

  // Where request counts come from (set before Start); unset: points carry none.
  void SetRequestCounter(RequestsFn requests) { requests_ = std::move(requests); }
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
  // The same as rates, for the dashboard's charts.
  std::vector<UsageRates> HistoryRates(const std::string& key) const;
  size_t capacity() const { return capacity_; }
  std::chrono::milliseconds interval() const { return opts_.interval; }

 private:
  struct Series {
    explicit Series(size_t cap) : points(cap) {}
    Ring<UsagePoint> points;
    std::string error;
    int64_t error_at_ms = 0;
  };
  // `requests`: the router's counters read for this round (nullptr: none to record).
  void SampleOne(const EnvironmentSpec& spec, const std::map<std::string, int64_t>* requests);
  // The router's counters now, or nullopt (no counter set, or it failed: logged).
  std::optional<std::map<std::string, int64_t>> ReadRequests();
  void Loop();

  Runtime& runtime_;
  ListFn list_;
  RequestsFn requests_;
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
