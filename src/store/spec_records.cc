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

}  // namespace berth::store
