#include "store/informer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "util/memory.h"

namespace berth::store {

using std::chrono::milliseconds;

namespace {

// A relist reads only this: with a shared etcd, "/" would be every other user's keys too.
std::string CommonPrefix(const std::vector<std::string>& prefixes) {
  if (prefixes.empty()) return "";
  std::string_view common = prefixes.front();
  for (const auto& p : prefixes) {
    size_t n = 0;
    while (n < common.size() && n < p.size() && common[n] == p[n]) ++n;
    common = common.substr(0, n);
  }
  return std::string(common);
}

}  // namespace

Informer::Informer(Store& store, InformerOptions opts)
    : store_(store), opts_(std::move(opts)), list_root_(CommonPrefix(opts_.prefixes)) {}

Informer::~Informer() {
  Stop();
}

Informer::Registration::~Registration() {
  informer_->Remove(id_);
}

std::unique_ptr<Informer::Registration> Informer::AddHandlers(InformerHandlers h) {
  std::lock_guard<std::mutex> l(hmu_);
  uint64_t id = next_id_++;
  handlers_.push_back(Entry{id, std::move(h), true});
  {
    // Wake the loop: a handler added after the first list gets its own listing promptly.
    std::lock_guard<std::mutex> m(mu_);
    if (watch_) {
      handler_added_ = true;
      watch_->Cancel();
    }
  }
  return std::unique_ptr<Registration>(new Registration(this, id));
}

void Informer::Remove(uint64_t id) {
  std::lock_guard<std::mutex> c(call_mu_);  // no call of it in progress once we hold this
  std::lock_guard<std::mutex> l(hmu_);
  handlers_.remove_if([&](const Entry& e) { return e.id == id; });
}

void Informer::Start() {
  std::lock_guard<std::mutex> l(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void Informer::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
    if (watch_) watch_->Cancel();
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

bool Informer::WaitForSync(milliseconds timeout) {
  std::unique_lock<std::mutex> l(mu_);
  return cv_.wait_for(l, timeout, [&] { return synced_ || stopping_; }) && synced_;
}

Status Informer::WaitFresh(milliseconds timeout) {
  auto rev = store_.Revision();
  if (!rev) return Fail(rev.error());
  std::unique_lock<std::mutex> l(mu_);
  if (!cv_.wait_for(l, timeout, [&] { return revision_ >= *rev || stopping_; }) || revision_ < *rev)
    return Fail(ErrorCode::kTimeout, "the store's change feed is behind (at revision " +
                                         std::to_string(revision_) + ", store at " +
                                         std::to_string(*rev) + ")");
  return {};
}

std::string Informer::WatchedName() const {
  return opts_.watch_root.empty() ? "the whole keyspace" : opts_.watch_root;
}

int64_t Informer::revision() const {
  std::lock_guard<std::mutex> l(mu_);
  return revision_;
}

bool Informer::Relevant(const std::string& key) const {
  for (const auto& p : opts_.prefixes)
    if (key.compare(0, p.size(), p) == 0) return true;
  return false;
}

Snapshot Informer::Filter(Snapshot snap) const {
  snap.kvs.erase(std::remove_if(snap.kvs.begin(), snap.kvs.end(),
                                [&](const KeyValue& kv) { return !Relevant(kv.key); }),
                 snap.kvs.end());
  return snap;
}

bool Informer::Sleep(milliseconds d) {
  std::unique_lock<std::mutex> l(mu_);
  return !cv_.wait_for(l, d, [&] { return stopping_; });
}

void Informer::Advance(int64_t rev) {
  std::lock_guard<std::mutex> l(mu_);
  if (rev > revision_) revision_ = rev;
  synced_ = true;
  cv_.notify_all();
}

// Hands a listing (to every handler: a relist) or events (to handlers whose own listing is
// older than each event) over. Handlers added since the last call get a listing of their own.
void Informer::Deliver(const Snapshot* snap, const std::vector<WatchEvent>* evs) {
  std::lock_guard<std::mutex> c(call_mu_);
  std::vector<Entry*> fresh;
  std::vector<Entry*> all;
  {
    std::lock_guard<std::mutex> l(hmu_);
    for (auto& e : handlers_) {
      all.push_back(&e);
      if (e.needs_list && !snap) fresh.push_back(&e);
    }
  }
  // Entries stay valid: removal takes call_mu_, held here.
  std::optional<Snapshot> own;
  int64_t own_rev = 0;
  if (!fresh.empty()) {
    auto s = store_.List(list_root_);
    if (s) {
      own = Filter(std::move(*s));
      own_rev = own->revision;
      for (auto* e : fresh) {
        if (e->h.replaced) e->h.replaced(*own);
        e->needs_list = false;
      }
    }
  }
  if (snap) {
    for (auto* e : all) {
      if (e->h.replaced) e->h.replaced(*snap);
      e->needs_list = false;
    }
    return;
  }
  for (const auto& ev : *evs) {
    if (!Relevant(ev.kv.key)) continue;
    for (auto* e : all) {
      if (e->needs_list) continue;  // its listing failed: it gets one on the next batch
      bool listed_now = std::find(fresh.begin(), fresh.end(), e) != fresh.end();
      if (listed_now && ev.kv.mod_revision <= own_rev) continue;  // already in its listing
      if (e->h.changed) e->h.changed(ev);
    }
  }
}

void Informer::Loop() {
  milliseconds backoff = opts_.initial_backoff;
  auto fail = [&](const std::string& what, const Error& e) {
    spdlog::warn("informer: {}: {} (retrying in {}ms)", what, e.message, backoff.count());
    bool go_on = Sleep(backoff);
    backoff = std::min(backoff * 2, opts_.max_backoff);
    return go_on;
  };
  for (;;) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (stopping_) return;
    }
    auto snap = store_.List(list_root_);
    if (!snap) {
      if (!fail("listing " + list_root_, snap.error())) return;
      continue;
    }
    ++lists_;
    const int64_t listed = snap->revision;
    {
      // Not kept while watching: the handlers hold what they need of it.
      const Snapshot filtered = Filter(std::move(*snap));
      Deliver(&filtered, nullptr);
    }
    snap = Snapshot{};
    util::ReleaseFreeMemory();  // the listing's text is freed: give its pages back
    Advance(listed);
    auto w = store_.WatchPrefix(opts_.watch_root, listed);
    if (!w) {
      if (!fail("watching " + WatchedName(), w.error())) return;
      continue;
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      if (stopping_) return;
      watch_ = w->get();
    }
    backoff = opts_.initial_backoff;
    for (;;) {
      auto evs = (*w)->Next(milliseconds(1000));
      bool stopping;
      {
        std::lock_guard<std::mutex> l(mu_);
        stopping = stopping_;
      }
      if (stopping) break;
      if (!evs) {
        bool added = false;
        {
          std::lock_guard<std::mutex> l(mu_);
          added = std::exchange(handler_added_, false);
        }
        if (evs.error().code == ErrorCode::kUnavailable && added) {
          // Cancelled by AddHandlers: hand the new handler its listing, then watch on.
          std::vector<WatchEvent> none;
          Deliver(nullptr, &none);
          int64_t at = revision();
          std::lock_guard<std::mutex> l(mu_);
          watch_ = nullptr;
          w = store_.WatchPrefix(opts_.watch_root, at);
          if (!w) break;
          watch_ = w->get();
          continue;
        }
        if (evs.error().code != ErrorCode::kGone)
          spdlog::warn("informer: watch on {} ended: {}; relisting", WatchedName(),
                       evs.error().message);
        break;
      }
      if (evs->empty()) continue;
      Deliver(nullptr, &*evs);
      int64_t rev = 0;
      for (const auto& ev : *evs) rev = std::max(rev, ev.kv.mod_revision);
      Advance(rev);
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      watch_ = nullptr;
      if (stopping_) return;
    }
    if (!Sleep(backoff)) return;
  }
}

}  // namespace berth::store
