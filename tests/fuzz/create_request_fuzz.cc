// The REST create body (POST /v1/environments) through the path EnvironmentService::Create
// takes before the store: strict decoding, defaults, ValidateSpec. A spec that passes must
// survive the store's serialize/parse round trip and build a Docker create body and Kubernetes
// manifests without throwing.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "api/api_server.h"
#include "berth/validate.h"
#include "runtime/docker/docker_api.h"
#include "runtime/kubernetes/manifests.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "create_request_fuzz: %s\n", what);
    abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  bool pull_policy_given = false;
  auto spec = berth::api::ParseCreateRequest(body, &pull_policy_given);
  if (!spec) {
    Check(!spec.error().message.empty(), "an error without a message");
    return 0;
  }
  if (spec->image.empty()) spec->image = "busybox";
  berth::ApplyDefaults(*spec, {"ctest.localhost"});
  spec->created_at = "2026-01-01T00:00:00Z";  // deterministic
  if (!berth::ValidateSpec(*spec)) return 0;

  auto stored = berth::ParseSpec(berth::SerializeSpec(*spec));
  Check(stored.has_value(), "a valid spec does not read back from the store");
  Check(berth::SerializeSpec(*stored) == berth::SerializeSpec(*spec),
        "the store round trip changed the spec");

  berth::VolumeMount vol{berth::VolumeMount::Kind::kBind, "/srv/berth/vol", spec->volume_mount};
  if (spec->volume_mount.empty()) vol = {};
  auto body_json = berth::runtime::docker::BuildCreateBody(*spec, vol, {"127.0.0.1", ""});
  (void)body_json;  // may refuse (e.g. unsupported release mode); must not throw

  berth::kube::ManifestOptions mo;
  mo.kube_namespace = "berth-fuzz";
  mo.controller = spec->controller.empty() ? "deployment" : spec->controller;
  mo.volume = vol;
  (void)berth::kube::PodTemplate(*spec, mo).dump();
  (void)berth::kube::ServiceManifest(*spec, mo).dump();
  return 0;
}
