#include "store/spec_records.h"

#include "berth/validate.h"

namespace berth::store {

Result<StoredSpec> LoadSpec(Store& store, const std::string& ns, const std::string& name) {
  if (auto s = ValidateNamespace(ns); !s) return Fail(s.error());
  if (auto s = ValidateName(name); !s) return Fail(s.error());
  auto kv = store.Get(keys::Spec(ns, name));
  if (!kv) return Fail(kv.error());
  if (!*kv) return Fail(ErrorCode::kNotFound, "environment " + ns + "/" + name + " not found");
  auto spec = ParseSpec((*kv)->value);
  if (!spec) return Fail(spec.error());
  return StoredSpec{std::move(*spec), (*kv)->mod_revision};
}

Result<int> MigrateSpecRecords(Store& store) {
  auto snap = store.List(keys::kSpecs);
  if (!snap) return Fail(Wrap(snap.error(), "listing environments to migrate"));
  int rewritten = 0;
  for (const auto& kv : snap->kvs) {
    for (KeyValue cur = kv;;) {
      bool flat = false;
      auto spec = ParseSpec(cur.value, &flat);  // one parse tells the form and the content
      if (!spec || !flat) break;
      if (spec->uid.empty()) spec->uid = NewUid();
      if (spec->deleting && spec->deletion_timestamp.empty())
        spec->deletion_timestamp = NowRfc3339();
      auto r = store.Commit(
          Txn{{Compare{cur.key, cur.mod_revision}}, {Op::Put(cur.key, SerializeSpec(*spec))}});
      if (r) {
        ++rewritten;
        break;
      }
      if (r.error().code != ErrorCode::kConflict)
        return Fail(Wrap(r.error(), "migrating " + cur.key));
      // Written meanwhile (by an older replica, or migrated by another): look again.
      auto again = store.Get(cur.key);
      if (!again) return Fail(again.error());
      if (!*again) break;
      cur = **again;
    }
  }
  return rewritten;
}

}  // namespace berth::store
