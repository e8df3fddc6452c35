#include "runtime/kubernetes/object_cache.h"

#include <spdlog/spdlog.h>

#include <charconv>

#include "runtime/kubernetes/pod_status.h"
#include "util/backoff.h"
#include "util/memory.h"
#include "util/strings.h"

namespace berth::kube {

using nlohmann::json;

namespace {

// resourceVersions are opaque to clients, but the API server's are etcd revisions: compared as
// numbers only to let a write-through never replace a newer watched copy. 0 = not a number.
uint64_t VersionOf(const json& obj) {
  std::string v = StrField(Field(obj, "metadata"), "resourceVersion");
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  return ec == std::errc() && p == v.data() + v.size() ? n : 0;
}

std::string KeyOf(const json& obj) {
  const auto& md = Field(obj, "metadata");
  return StrField(md, "namespace") + "/" + StrField(md, "name");
}

}  // namespace

namespace {

// obj[key] when it is an object, else nullptr.
json* Member(json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it != obj.end() && it->is_object() ? &*it : nullptr;
}

// Keeps only `keys` of obj[key] (an object).
void KeepOnly(json& obj, const char* key, std::initializer_list<const char*> keys) {
  json* m = Member(obj, key);
  if (!m) return;
  json keep = json::object();
  for (const char* k : keys)
    if (auto it = m->find(k); it != m->end()) keep[k] = std::move(*it);
  *m = std::move(keep);
}

// Conditions without their times (two timestamps each, read by nothing here).
void TrimConditions(json* status) {
  if (!status) return;
  if (auto c = status->find("conditions"); c != status->end() && c->is_array())
    for (auto& cond : *c)
      if (cond.is_object()) {
        cond.erase("lastProbeTime");
        cond.erase("lastTransitionTime");
        cond.erase("lastUpdateTime");
      }
}

}  // namespace

void TrimMetadata(json& obj) {
  if (json* md = Member(obj, "metadata")) {
    md->erase("managedFields");
    md->erase("annotations");
    md->erase("creationTimestamp");
    md->erase("generateName");
    md->erase("ownerReferences");
  }
}

void TrimPod(json& pod) {
  TrimMetadata(pod);
  KeepOnly(pod, "spec", {"nodeName"});
  KeepOnly(pod, "status",
           {"phase", "reason", "message", "hostIP", "conditions", "containerStatuses",
            "initContainerStatuses"});
  json* st = Member(pod, "status");
  TrimConditions(st);
  if (!st) return;
  for (const char* list : {"containerStatuses", "initContainerStatuses"})
    if (auto cs = st->find(list); cs != st->end() && cs->is_array())
      for (auto& c : *cs)
        if (c.is_object()) {
          json keep = json::object();
          for (const char* k : {"name", "ready", "restartCount", "state", "lastState"})
            if (auto it = c.find(k); it != c.end()) keep[k] = std::move(*it);
          c = std::move(keep);
        }
}

void TrimWorkload(json& obj) {
  TrimMetadata(obj);
  KeepOnly(obj, "spec", {"replicas"});
  TrimConditions(Member(obj, "status"));
}

void TrimService(json& svc) {
  TrimMetadata(svc);
  KeepOnly(svc, "spec", {"type", "ports"});
  if (auto it = svc.find("status"); svc.is_object() && it != svc.end()) svc.erase(it);
}

ObjectCache::ObjectCache(std::shared_ptr<KubeClient> client, ObjectCacheOptions opts)
    : client_(std::move(client)), opts_(std::move(opts)) {}

ObjectCache::~ObjectCache() {
  Stop();
}

void ObjectCache::Start() {
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void ObjectCache::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool ObjectCache::WaitForSync(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> l(mu_);
  return cv_.wait_for(l, timeout, [&] { return synced_.load() || stopping_.load(); }) && synced_;
}

bool ObjectCache::Sleep(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> l(mu_);
  return !cv_.wait_for(l, d, [&] { return stopping_.load(); });
}

std::optional<json> ObjectCache::Get(const std::string& ns, const std::string& name) const {
  Text text;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = contents_.objects.find(ns + "/" + name);
    if (it == contents_.objects.end()) return std::nullopt;
    text = it->second.text;
  }
  return json::parse(text->str(), nullptr, false);
}

void ObjectCache::ForEach(const std::function<void(const json&)>& fn) const {
  // The texts are shared, not copied: taking them is a pointer each, and the parsing (one
  // object at a time) happens without the lock.
  std::vector<Text> texts;
  {
    std::lock_guard<std::mutex> l(mu_);
    texts.reserve(contents_.objects.size());
    for (const auto& [k, e] : contents_.objects) texts.push_back(e.text);
  }
  for (const auto& t : texts) fn(json::parse(t->str(), nullptr, false));
}

std::vector<json> ObjectCache::ByIndex(const std::string& key) const {
  std::vector<Text> texts;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = contents_.index.find(key);
    if (it == contents_.index.end()) return {};
    for (const auto& k : it->second)
      if (auto o = contents_.objects.find(k); o != contents_.objects.end())
        texts.push_back(o->second.text);
  }
  std::vector<json> out;
  out.reserve(texts.size());
  for (const auto& t : texts) out.push_back(json::parse(t->str(), nullptr, false));
  return out;
}

size_t ObjectCache::size() const {
  std::lock_guard<std::mutex> l(mu_);
  return contents_.objects.size();
}

size_t ObjectCache::bytes() const {
  std::lock_guard<std::mutex> l(mu_);
  return contents_.bytes + (dict_ ? dict_->bytes() : 0);
}

void ObjectCache::Observe(const json& obj) {
  if (!obj.is_object()) return;
  Put(obj);
}

std::string ObjectCache::TrimmedText(json& obj) const {
  if (opts_.trim) opts_.trim(obj);
  return obj.dump(-1, ' ', false, json::error_handler_t::replace);
}

ObjectCache::Entry ObjectCache::MakeEntry(const json& trimmed, const std::string& text,
                                          const Dictionary& dict) const {
  return Entry{std::make_shared<const util::PackedText>(text, dict), VersionOf(trimmed),
               opts_.index ? opts_.index(trimmed) : std::string()};
}

void ObjectCache::Insert(Contents& c, const std::string& key, Entry e) {
  auto it = c.objects.find(key);
  if (it != c.objects.end()) {
    // Never step back: a write-through may race the watch's newer copy.
    if (e.resource_version != 0 && it->second.resource_version > e.resource_version) return;
    c.bytes -= it->second.text->size();
    if (!it->second.index.empty() && it->second.index != e.index) {
      auto& set = c.index[it->second.index];
      set.erase(key);
      if (set.empty()) c.index.erase(it->second.index);
    }
  }
  c.bytes += e.text->size();
  if (!e.index.empty()) c.index[e.index].insert(key);
  c.objects[key] = std::move(e);
}

void ObjectCache::Put(json obj) {
  const std::string key = KeyOf(obj);
  Dictionary dict;
  {
    std::lock_guard<std::mutex> l(mu_);
    dict = dict_;
  }
  const std::string text = TrimmedText(obj);
  Entry e = MakeEntry(obj, text, dict);  // packed without the lock
  std::lock_guard<std::mutex> l(mu_);
  Insert(contents_, key, std::move(e));
  TrainIfDueLocked();
}

void ObjectCache::TrainIfDueLocked() {
  if (dict_ || contents_.objects.size() < util::TextDictionary::kTrainAt) return;
  std::vector<std::string> texts;
  texts.reserve(contents_.objects.size());
  for (const auto& [k, e] : contents_.objects) texts.push_back(e.text->str());
  dict_ = util::TextDictionary::Train(texts);
  if (!dict_) return;
  size_t i = 0;
  for (auto& [k, e] : contents_.objects) {
    auto packed = std::make_shared<const util::PackedText>(texts[i++], dict_);
    contents_.bytes = contents_.bytes - e.text->size() + packed->size();
    e.text = std::move(packed);
  }
}

void ObjectCache::Erase(const json& obj) {
  const std::string key = KeyOf(obj);
  std::lock_guard<std::mutex> l(mu_);
  auto it = contents_.objects.find(key);
  if (it == contents_.objects.end()) return;
  if (!it->second.index.empty()) {
    auto& set = contents_.index[it->second.index];
    set.erase(key);
    if (set.empty()) contents_.index.erase(it->second.index);
  }
  contents_.bytes -= it->second.text->size();
  contents_.objects.erase(it);
}

void ObjectCache::Replace(Contents fresh, Dictionary dict) {
  {
    std::lock_guard<std::mutex> l(mu_);
    contents_ = std::move(fresh);
    // Objects packed with the previous dictionary keep it until they are replaced.
    if (dict) dict_ = std::move(dict);
  }
  synced_ = true;
  cv_.notify_all();
  // The listing's parsed pages are freed by now: hand the heap they grew back to the system.
  util::ReleaseFreeMemory();
}

// One page of a paged list at a time (limit + continue), each trimmed into `out` as it comes,
// so memory never holds more than a page of parsed objects however many there are. The first
// page is what the dictionary learns from: objects of one kind differ in little but names,
// uids and versions.
Result<std::string> ObjectCache::ListInto(Contents& out, Dictionary& dict) {
  std::string token, rv;
  do {
    std::string path = opts_.collection + "?limit=" + std::to_string(kPageSize);
    if (!token.empty()) path += "&continue=" + util::UrlEncode(token);
    auto page = client_->List(path, opts_.selector);
    if (!page) return Fail(page.error());
    const auto& md = Field(*page, "metadata");
    rv = StrField(md, "resourceVersion");
    token = StrField(md, "continue");
    auto items = page->find("items");
    if (items == page->end() || !items->is_array()) continue;
    std::vector<std::string> texts;
    texts.reserve(items->size());
    for (auto& item : *items) {
      if (opts_.changed) opts_.changed(item);  // looked at again: it may have changed unseen
      texts.push_back(TrimmedText(item));
    }
    if (!dict && texts.size() >= util::TextDictionary::kTrainAt)
      dict = util::TextDictionary::Train(texts);
    for (size_t i = 0; i < texts.size(); ++i)
      Insert(out, KeyOf((*items)[i]), MakeEntry((*items)[i], texts[i], dict));
  } while (!token.empty() && !stopping_);
  return rv;
}

void ObjectCache::Loop() {
  util::Backoff backoff;
  std::string rv;
  while (!stopping_) {
    if (rv.empty()) {
      Contents fresh;
      Dictionary dict;
      auto listed = ListInto(fresh, dict);
      if (!listed) {
        spdlog::warn("{} cache: listing: {}", opts_.collection, listed.error().message);
        if (!Sleep(backoff.Next())) return;
        continue;
      }
      if (stopping_) return;
      rv = *listed;
      Replace(std::move(fresh), std::move(dict));
    }
    auto s = client_->Watch(
        opts_.collection, opts_.selector, rv, 300,
        [&](const WatchEvent& ev) {
          backoff.Reset();
          if (std::string v = StrField(Field(ev.object, "metadata"), "resourceVersion"); !v.empty())
            rv = v;
          if (ev.type == "BOOKMARK") return !stopping_;
          if (ev.type == "DELETED")
            Erase(ev.object);
          else
            Put(ev.object);
          if (opts_.changed) opts_.changed(ev.object);
          return !stopping_.load();
        },
        "", &stopping_);
    if (stopping_) break;
    if (!s) {
      if (s.error().code == ErrorCode::kGone) {
        rv.clear();  // compacted: relist
        continue;
      }
      spdlog::warn("{} cache: watch: {}; reconnecting", opts_.collection, s.error().message);
      if (!Sleep(backoff.Next())) return;
    }
    // An OK end is the server closing the watch after its timeout: resume from rv.
  }
}

}  // namespace berth::kube
