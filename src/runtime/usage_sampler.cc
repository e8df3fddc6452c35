#include "runtime/usage_sampler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

namespace berth::runtime {

namespace {
constexpr int64_t kNone = std::numeric_limits<int64_t>::min();
int64_t PackInt(std::optional<int64_t> v) {
  return v ? *v : kNone;
}
std::optional<int64_t> UnpackInt(int64_t v) {
  return v == kNone ? std::nullopt : std::optional<int64_t>(v);
}
}  // namespace

PackedUsagePoint Pack(const UsagePoint& p) {
  PackedUsagePoint q;
  q.at_ms = p.at_ms;
  q.cpu_seconds = p.usage.cpu_seconds ? *p.usage.cpu_seconds : std::nan("");
  q.cpu_cores = p.usage.cpu_cores ? static_cast<float>(*p.usage.cpu_cores) : std::nanf("");
  q.restarts = static_cast<int32_t>(
      std::clamp<int64_t>(p.usage.restarts, 0, std::numeric_limits<int32_t>::max()));
  q.memory_bytes = PackInt(p.usage.memory_bytes);
  q.memory_limit_bytes = PackInt(p.usage.memory_limit_bytes);
  q.network_rx_bytes = PackInt(p.usage.network_rx_bytes);
  q.network_tx_bytes = PackInt(p.usage.network_tx_bytes);
  q.requests = PackInt(p.requests);
  return q;
}

UsagePoint Unpack(const PackedUsagePoint& q) {
  UsagePoint p;
  p.at_ms = q.at_ms;
  if (!std::isnan(q.cpu_seconds)) p.usage.cpu_seconds = q.cpu_seconds;
  if (!std::isnan(q.cpu_cores)) p.usage.cpu_cores = static_cast<double>(q.cpu_cores);
  p.usage.restarts = q.restarts;
  p.usage.memory_bytes = UnpackInt(q.memory_bytes);
  p.usage.memory_limit_bytes = UnpackInt(q.memory_limit_bytes);
  p.usage.network_rx_bytes = UnpackInt(q.network_rx_bytes);
  p.usage.network_tx_bytes = UnpackInt(q.network_tx_bytes);
  p.requests = UnpackInt(q.requests);
  return p;
}

std::optional<double> CpuCores(const UsagePoint& older, const UsagePoint& newer) {
  if (!older.usage.cpu_seconds || !newer.usage.cpu_seconds) return newer.usage.cpu_cores;
  const int64_t dt_ms = newer.at_ms - older.at_ms;
  const double dcpu = *newer.usage.cpu_seconds - *older.usage.cpu_seconds;
  if (dt_ms <= 0 || dcpu < 0) return std::nullopt;
  return dcpu / (static_cast<double>(dt_ms) / 1000.0);
}

std::optional<double> PerSecond(std::optional<int64_t> older, std::optional<int64_t> newer,
                                int64_t dt_ms) {
  if (!older || !newer || dt_ms <= 0 || *newer < *older) return std::nullopt;
  return static_cast<double>(*newer - *older) / (static_cast<double>(dt_ms) / 1000.0);
}

std::vector<UsageRates> ToRates(const std::vector<UsagePoint>& points) {
  std::vector<UsageRates> out;
  out.reserve(points.size());
  for (size_t i = 0; i < points.size(); ++i) {
    const UsagePoint& p = points[i];
    const UsagePoint* prev = i > 0 ? &points[i - 1] : nullptr;
    const int64_t dt = prev ? p.at_ms - prev->at_ms : 0;
    UsageRates r;
    r.at_ms = p.at_ms;
    r.cpu_cores = prev ? CpuCores(*prev, p) : p.usage.cpu_cores;
    r.memory_bytes = p.usage.memory_bytes;
    r.memory_limit_bytes = p.usage.memory_limit_bytes;
    r.restarts = p.usage.restarts;
    if (prev) {
      r.network_rx_per_second =
          PerSecond(prev->usage.network_rx_bytes, p.usage.network_rx_bytes, dt);
      r.network_tx_per_second =
          PerSecond(prev->usage.network_tx_bytes, p.usage.network_tx_bytes, dt);
      if (auto rps = PerSecond(prev->requests, p.requests, dt)) r.requests_per_minute = *rps * 60.0;
    }
    out.push_back(r);
  }
  return out;
}

UsageSampler::UsageSampler(Runtime& runtime, ListFn list, UsageSamplerOptions opts, NowFn now)
    : runtime_(runtime), list_(std::move(list)), opts_(opts), now_(std::move(now)) {
  if (opts_.interval < std::chrono::milliseconds(100))
    opts_.interval = std::chrono::milliseconds(100);
  if (!now_)
    now_ = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  const auto keep = std::chrono::duration_cast<std::chrono::milliseconds>(opts_.history);
  capacity_ = std::clamp<size_t>(static_cast<size_t>(keep / opts_.interval) + 1, 2, 3601);
  series_capacity_ = capacity_;
}

size_t UsageSampler::capacity() const {
  std::lock_guard<std::mutex> l(mu_);
  return series_capacity_;
}

void UsageSampler::FitLocked(size_t series) {
  const size_t n = std::max<size_t>(series, 1);
  const size_t fit =
      std::clamp<size_t>(opts_.max_points / n, std::min<size_t>(8, capacity_), capacity_);
  if (fit == series_capacity_) return;
  series_capacity_ = fit;
  for (auto& [key, s] : series_) s.points.SetCapacity(fit);
}

UsageSampler::~UsageSampler() {
  Stop();
}

void UsageSampler::Start() {
  std::lock_guard<std::mutex> l(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void UsageSampler::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void UsageSampler::Loop() {
  for (;;) {
    SampleAll();
    std::unique_lock<std::mutex> l(mu_);
    if (cv_.wait_for(l, opts_.interval, [this] { return stopping_; })) return;
  }
}

std::optional<std::map<std::string, int64_t>> UsageSampler::ReadRequests() {
  if (!requests_) return std::nullopt;
  auto r = requests_();
  if (!r) {
    spdlog::debug("usage: reading the router's request counters: {}", r.error().message);
    return std::nullopt;
  }
  return std::move(*r);
}

void UsageSampler::SampleOne(const EnvironmentSpec& spec,
                             const std::map<std::string, int64_t>* requests) {
  auto u = runtime_.Usage(spec, opts_.deadline);
  const int64_t now = now_();
  std::lock_guard<std::mutex> l(mu_);
  RecordLocked(spec, u, now, requests);
}

void UsageSampler::RecordLocked(const EnvironmentSpec& spec, const Result<WorkloadUsage>& u,
                                int64_t now, const std::map<std::string, int64_t>* requests) {
  const std::string key = spec.Key();
  // A new series takes the current share; SampleAll refits them all each round.
  auto it = series_.try_emplace(key, series_capacity_).first;
  if (u) {
    UsagePoint p{now, *u, std::nullopt};
    if (requests) {
      // The router counts an environment from its first request: none yet is zero.
      auto h = requests->find(key);
      p.requests = h == requests->end() ? 0 : h->second;
    }
    it->second.points.Push(Pack(p));
  } else {
    it->second.error = u.error().message;
    it->second.error_at_ms = now;
  }
}

void UsageSampler::SampleAll() {
  auto list = list_();
  if (!list) {
    spdlog::debug("usage: listing environments: {}", list.error().message);
    return;
  }
  const auto requests = ReadRequests();
  std::set<std::string> keys;
  std::vector<const EnvironmentSpec*> to_sample;
  for (const auto& spec : *list) {
    if (spec.deleting) continue;
    if (spec.sleeping) {  // nothing to sample; what it used before it slept is kept
      keys.insert(spec.Key());
      continue;
    }
    if (to_sample.size() >= opts_.max_environments) break;
    keys.insert(spec.Key());
    to_sample.push_back(&spec);
  }
  {
    // The forgotten go first and the rest are refitted before this round's samples, so a
    // shrinking number of environments lets each keep more at once.
    std::lock_guard<std::mutex> l(mu_);
    for (auto it = series_.begin(); it != series_.end();)
      it = keys.count(it->first) ? std::next(it) : series_.erase(it);
    FitLocked(keys.size());
  }
  if (!runtime_.capabilities().batch_usage) {
    for (const auto* spec : to_sample) {
      {
        std::lock_guard<std::mutex> l(mu_);
        if (stopping_) return;
      }
      SampleOne(*spec, requests ? &*requests : nullptr);
    }
    return;
  }
  // One call for the round: the runtime answers for every environment with one request
  // (Kubernetes' metrics API) instead of one request per environment.
  auto results = runtime_.UsageOfMany(to_sample, opts_.deadline);
  const int64_t now = now_();
  std::lock_guard<std::mutex> l(mu_);
  if (stopping_) return;
  for (size_t i = 0; i < to_sample.size() && i < results.size(); ++i)
    RecordLocked(*to_sample[i], results[i], now, requests ? &*requests : nullptr);
}

UsageReport UsageSampler::Report(const EnvironmentSpec& spec, bool sample_if_stale) {
  const std::string key = spec.Key();
  if (sample_if_stale) {
    bool stale = true;
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = series_.find(key);
      if (it != series_.end() && !it->second.points.empty()) {
        const auto& pts = it->second.points;
        const int64_t age = now_() - pts.back().at_ms;
        stale = age >= 2 * opts_.interval.count() || (pts.size() == 1 && age >= 1000);
      }
    }
    if (stale) {
      const auto requests = ReadRequests();
      SampleOne(spec, requests ? &*requests : nullptr);
    }
  }
  UsageReport r;
  r.ns = spec.ns;
  r.name = spec.name;
  std::lock_guard<std::mutex> l(mu_);
  auto it = series_.find(key);
  if (it == series_.end()) {
    r.error = "not sampled yet";
    return r;
  }
  const auto& s = it->second;
  if (!s.points.empty()) {
    const UsagePoint last = Unpack(s.points.back());
    r.usage = last.usage;
    r.sampled_at_ms = last.at_ms;
    r.cpu_cores = s.points.size() >= 2 ? CpuCores(Unpack(s.points.at(s.points.size() - 2)), last)
                                       : last.usage.cpu_cores;
  }
  if (!s.error.empty() && (s.points.empty() || s.error_at_ms > s.points.back().at_ms))
    r.error = s.error;
  return r;
}

std::vector<UsagePoint> UsageSampler::History(const std::string& key) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = series_.find(key);
  std::vector<UsagePoint> out;
  if (it == series_.end()) return out;
  out.reserve(it->second.points.size());
  for (size_t i = 0; i < it->second.points.size(); ++i)
    out.push_back(Unpack(it->second.points.at(i)));
  return out;
}

std::vector<UsageRates> UsageSampler::HistoryRates(const std::string& key) const {
  return ToRates(History(key));
}

}  // namespace berth::runtime
