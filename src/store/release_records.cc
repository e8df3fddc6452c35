#include "store/release_records.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace berth::store {

using nlohmann::json;

std::string ReleasePrefix(std::string_view ns, std::string_view name) {
  return std::string(kReleases) + std::string(ns) + "/" + std::string(name) + "/";
}

std::string ReleaseKey(std::string_view ns, std::string_view name, std::string_view id) {
  return ReleasePrefix(ns, name) + std::string(id);
}

std::string ReleaseHeadKey(std::string_view ns, std::string_view name) {
  return std::string(kReleaseHeads) + std::string(ns) + "/" + std::string(name);
}

std::string SerializeRelease(const Release& r) {
  json j = {{"id", r.id},
            {"seq", r.seq},
            {"mode", r.mode},
            {"image", r.image},
            {"digest", r.digest},
            {"files", r.files},
            {"bytes", r.bytes},
            {"message", r.message},
            {"created_at", r.created_at},
            {"created_by", r.created_by},
            {"phase", r.phase},
            {"reason", r.reason},
            {"previous", r.previous},
            {"previous_image", r.previous_image},
            {"reload_command", r.reload_command},
            {"rolled_back", r.rolled_back},
            {"finished_at", r.finished_at}};
  // A message is the caller's text: never let bad UTF-8 make the encoder throw.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<Release> ParseRelease(const std::string& text) {
  try {
    json j = json::parse(text);
    Release r;
    r.id = j.value("id", "");
    r.seq = j.value("seq", int64_t{0});
    r.mode = j.value("mode", "");
    r.image = j.value("image", "");
    r.digest = j.value("digest", "");
    r.files = j.value("files", int64_t{0});
    r.bytes = j.value("bytes", int64_t{0});
    r.message = j.value("message", "");
    r.created_at = j.value("created_at", "");
    r.created_by = j.value("created_by", "");
    r.phase = j.value("phase", "Pending");
    r.reason = j.value("reason", "");
    r.previous = j.value("previous", "");
    r.previous_image = j.value("previous_image", "");
    r.reload_command = j.value("reload_command", "");
    r.rolled_back = j.value("rolled_back", false);
    r.finished_at = j.value("finished_at", "");
    return r;
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInvalidArgument, std::string("bad release record: ") + e.what());
  }
}

std::string SerializeReleaseHead(const ReleaseHead& h) {
  return json{{"next_seq", h.next_seq},
              {"current", h.current},
              {"locked_by", h.locked_by},
              {"lock_holder", h.lock_holder},
              {"lock_until", h.lock_until}}
      .dump();
}

Result<ReleaseHead> ParseReleaseHead(const std::string& text) {
  try {
    json j = json::parse(text);
    ReleaseHead h;
    h.next_seq = j.value("next_seq", int64_t{1});
    h.current = j.value("current", "");
    h.locked_by = j.value("locked_by", "");
    h.lock_holder = j.value("lock_holder", "");
    h.lock_until = j.value("lock_until", int64_t{0});
    return h;
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInvalidArgument, std::string("bad release head: ") + e.what());
  }
}

Result<std::vector<Release>> ListReleases(Store& store, std::string_view ns,
                                          std::string_view name) {
  auto snap = store.List(ReleasePrefix(ns, name));
  if (!snap) return Fail(snap.error());
  std::vector<Release> out;
  for (const auto& kv : snap->kvs)
    if (auto r = ParseRelease(kv.value)) out.push_back(std::move(*r));
  std::sort(out.begin(), out.end(),
            [](const Release& a, const Release& b) { return a.seq < b.seq; });
  return out;
}

Result<std::pair<ReleaseHead, int64_t>> GetReleaseHead(Store& store, std::string_view ns,
                                                       std::string_view name) {
  auto kv = store.Get(ReleaseHeadKey(ns, name));
  if (!kv) return Fail(kv.error());
  if (!*kv) return std::pair<ReleaseHead, int64_t>{ReleaseHead{}, 0};
  auto h = ParseReleaseHead((*kv)->value);
  if (!h) return Fail(h.error());
  return std::pair<ReleaseHead, int64_t>{*h, (*kv)->mod_revision};
}

Status DeleteReleaseRecords(Store& store, std::string_view ns, std::string_view name, Txn& txn) {
  auto snap = store.List(ReleasePrefix(ns, name));
  if (!snap) return Fail(snap.error());
  for (const auto& kv : snap->kvs) txn.ops.push_back(Op::Delete(kv.key));
  txn.ops.push_back(Op::Delete(ReleaseHeadKey(ns, name)));
  return {};
}

}  // namespace berth::store
