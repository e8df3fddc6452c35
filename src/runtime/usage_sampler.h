// What each environment uses, sampled in the background (berth serve): every `interval` one
// Runtime::Usage call per environment, each with a deadline, the last hour of samples kept in
// memory per environment (a small ring buffer, for the dashboard's charts). /metrics and
// `GET /v1/usage` read the samples, so they never wait for the engine; a request for an
// environment with no recent sample takes one now.
#pragma once

#include <algorithm>
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

// A ring of at most `capacity` elements: pushing onto a full one drops the oldest. Memory is
// taken as elements arrive (not the whole capacity up front), and the capacity can shrink.
template <typename T>
class Ring {
 public:
  explicit Ring(size_t capacity) : cap_(capacity > 0 ? capacity : 1) {}
  void Push(T v) {
    if (buf_.size() < cap_) {
      buf_.push_back(std::move(v));  // not yet full: start_ is 0, buf_ is oldest first
      return;
    }
    buf_[start_] = std::move(v);
    start_ = (start_ + 1) % buf_.size();
  }
  size_t size() const { return buf_.size(); }
  size_t capacity() const { return cap_; }
  bool empty() const { return buf_.empty(); }
  // i = 0 is the oldest.
  const T& at(size_t i) const { return buf_[(start_ + i) % buf_.size()]; }
  const T& back() const { return at(buf_.size() - 1); }
  std::vector<T> ToVector() const {
    std::vector<T> out;
    out.reserve(buf_.size());
    for (size_t i = 0; i < buf_.size(); ++i) out.push_back(at(i));
    return out;
  }
  // Keeps the newest `capacity` elements and gives back the memory of the others.
  void SetCapacity(size_t capacity) {
    capacity = capacity > 0 ? capacity : 1;
    if (buf_.size() <= capacity) {  // nothing to drop: oldest first again, keep the memory
      std::rotate(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(start_), buf_.end());
      start_ = 0;
      cap_ = capacity;
      return;
    }
    std::vector<T> keep = ToVector();
    if (keep.size() > capacity)
      keep.erase(keep.begin(), keep.begin() + static_cast<std::ptrdiff_t>(keep.size() - capacity));
    keep.shrink_to_fit();
    buf_ = std::move(keep);
    start_ = 0;
    cap_ = capacity;
  }

 private:
  std::vector<T> buf_;
  size_t start_ = 0;
  size_t cap_;
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

// A UsagePoint as kept in the history: 64 bytes instead of 128 (absent values are NaN or
// INT64_MIN), so thousands of environments' histories stay small.
struct PackedUsagePoint {
  int64_t at_ms = 0;
  double cpu_seconds = 0;
  float cpu_cores = 0;
  int32_t restarts = 0;
  int64_t memory_bytes = 0, memory_limit_bytes = 0, network_rx_bytes = 0, network_tx_bytes = 0;
  int64_t requests = 0;
};
PackedUsagePoint Pack(const UsagePoint& p);
UsagePoint Unpack(const PackedUsagePoint& p);

struct UsageSamplerOptions {
  std::chrono::milliseconds interval{15000};
  std::chrono::milliseconds deadline{5000};  // per Runtime::Usage call
  std::chrono::seconds history{3600};        // kept per environment, at most
  size_t max_environments = 2000;            // sampled per round, at most
  // Samples kept across all environments (64 bytes each): with many environments each keeps
  // less than `history` (never fewer than 8), so memory stays bounded whatever their number.
  size_t max_points = 131072;
};

class UsageSampler {
 public:
  // The environments to sample (deleting and sleeping ones are skipped). Only a spec's
  // namespace, name, replicas, memory limit, sleeping and deleting are read (berth serve gives
  // no more: EnvironmentService::ListBrief).
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
  // Samples kept per environment: `history` / `interval`, less when max_points requires.
  size_t capacity() const;
  std::chrono::milliseconds interval() const { return opts_.interval; }

 private:
  struct Series {
    explicit Series(size_t cap) : points(cap) {}
    Ring<PackedUsagePoint> points;
    std::string error;
    int64_t error_at_ms = 0;
  };
  // `requests`: the router's counters read for this round (nullptr: none to record).
  void SampleOne(const EnvironmentSpec& spec, const std::map<std::string, int64_t>* requests);
  // Keeps one sample (or its error). Called with mu_ held.
  void RecordLocked(const EnvironmentSpec& spec, const Result<WorkloadUsage>& u, int64_t now,
                    const std::map<std::string, int64_t>* requests);
  // The router's counters now, or nullopt (no counter set, or it failed: logged).
  std::optional<std::map<std::string, int64_t>> ReadRequests();
  // Shares max_points out over `series` series. Called with mu_ held.
  void FitLocked(size_t series);
  void Loop();

  Runtime& runtime_;
  ListFn list_;
  RequestsFn requests_;
  UsageSamplerOptions opts_;
  NowFn now_;
  size_t capacity_;         // from history / interval
  size_t series_capacity_;  // what each series keeps now (max_points shared out)
  mutable std::mutex mu_;
  std::map<std::string, Series> series_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace berth::runtime
