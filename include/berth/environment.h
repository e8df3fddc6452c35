// The Environment: what a user asks for (Spec) and what Berth observed (EnvStatus).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "berth/result.h"

namespace berth {

// An environment's namespaced name: "<ns>/<name>" as text is the controller's queue key, the
// owner written into claims, and the tail of its store records' keys. Parsed in one place.
struct EnvKey {
  std::string ns;
  std::string name;
  std::string String() const { return ns + "/" + name; }
  // "<ns>/<name>" with both parts non-empty and exactly one slash; nullopt otherwise.
  static std::optional<EnvKey> Parse(std::string_view text);
  // The key a record under `prefix` belongs to ("/berth/envs/" + "ns/name"); nullopt for a
  // key outside the prefix or without a namespaced name.
  static std::optional<EnvKey> FromRecordKey(std::string_view record_key, std::string_view prefix);
  auto operator<=>(const EnvKey&) const = default;
};

struct PortSpec {
  std::string name;        // "ssh", "http", "https" or a user name (DNS-1123 label, <= 15 chars)
  int container_port = 0;  // 1..65535
  int host_port = 0;       // 0 = allocate (docker: from the configured range; k8s: NodePort by API)
  // Set by the server, never taken from a request: the host port was chosen by Berth, not
  // pinned by the user, so the controller may move it when another process takes it.
  bool auto_assigned = false;
  bool operator==(const PortSpec&) const = default;
};

struct Resources {
  std::string cpu_limit = "500m";  // the original's defaults
  std::string memory_limit = "2000Mi";
  std::string cpu_request = "10m";
  std::string memory_request = "100Mi";
  bool operator==(const Resources&) const = default;
};

enum class PullPolicy { kAlways, kIfNotPresent, kNever };
enum class ReleaseMode { kImage, kCode };

struct EnvironmentSpec {
  std::string ns = "default";
  std::string name;
  std::string image;
  ReleaseMode release_mode = ReleaseMode::kImage;
  // Code mode: how the workload picks a new release up, run in it with sh -c; "" = a restart
  // (docs/releases.md). A deploy's --reload-cmd overrides it.
  std::string reload_command;
  int replicas = 1;
  std::vector<PortSpec> ports;  // empty on input = ssh 22, http 80, https 443
  Resources resources;
  std::map<std::string, std::string> env;
  std::map<std::string, std::string> labels;
  std::vector<std::string> command;  // empty = the image's own
  std::vector<std::string> domains;  // "<name>.<base>" per configured base domain
  PullPolicy pull_policy = PullPolicy::kAlways;
  std::string volume_mount = "/apps";  // empty = no persistent volume
  std::string controller;              // kubernetes only: "deployment" (default) or "rc"
  // The CI branch this environment is for ("" = none): `create --from-branch` names the
  // environment after it (core/branch_name.h) and labels it berth.dev/branch=<that name>.
  std::string branch;
  // The TTL last asked for (create or extend); 0 = keeps until deleted. The server turns it
  // into expires_at, which is what the controller acts on.
  int64_t ttl_seconds = 0;
  // RFC 3339; "" = never. Set by the API only (create: created_at + ttl; extend: now + ttl):
  // once it passes, the controller deletes the environment (an Expired event first).
  std::string expires_at;
  bool purge_on_expiry = false;  // an expired environment's volume goes too
  // Desired: the workload stopped (Docker: the container stopped; Kubernetes: scaled to 0),
  // its ports, volume, domains and route kept. Set by `berth sleep` (or idle sleep), cleared
  // by `berth wake` or a request through the router.
  bool sleeping = false;
  // Put to sleep after this long without a request through the router; 0 = the configured
  // environments.idle_sleep, -1 = never (overrides the configuration).
  int64_t idle_sleep_seconds = 0;
  // Set by create: if the first rollout fails for good (image missing...), the controller
  // records the error and removes everything, so a failed create leaves nothing behind. A
  // first rollout is one the status has never seen Running (observed_generation 0).
  bool rollback_on_failure = false;

  // Metadata (the stored record's `metadata`, docs/architecture.md "Records"). Written by the
  // API only, like the rest of the spec; the controller writes the status record and removes
  // both records to finish a deletion.
  // Unique per incarnation: a re-created environment of the same name has another.
  std::string uid;
  // Bumped by rebuild: a workload whose generation is older is replaced.
  int64_t generation = 1;
  std::string created_at;  // RFC 3339
  // Marked for deletion (the record's metadata.deletionTimestamp, kept in deletion_timestamp).
  bool deleting = false;
  std::string deletion_timestamp;
  // With deleting: remove the volume too (the finalizer berth.dev/purge-volume).
  bool purge = false;

  std::string Key() const { return ns + "/" + name; }
  EnvKey Id() const { return {ns, name}; }
  int PortFor(const std::string& port_name) const;  // host port or 0
};

enum class Phase { kPending, kRunning, kFailed, kDeleting, kSleeping };

struct Event {
  std::string time;  // RFC 3339, of the latest occurrence
  std::string type;  // "Normal" | "Warning"
  std::string reason;
  std::string message;
  int count = 1;  // occurrences; a repeat is folded into one event, as Kubernetes does
};

struct EnvStatus {
  Phase phase = Phase::kPending;
  std::string reason;  // short machine word: ImagePullFailed, Creating, CrashLoop...
  std::string host_ip;
  std::map<std::string, int> ports;  // port name -> published host port
  bool routed = false;
  std::string last_error;
  int64_t observed_generation = 0;
  // The first rollout failed for good and the spec asked for rollback_on_failure: the
  // controller is removing everything, volume included, and then the records.
  bool rolling_back = false;
  std::string workload_id;
  std::vector<Event> events;  // newest last, bounded
  std::string updated_at;

  // Appends an event, or moves an identical one (type, reason, message) to the end with its
  // count raised: a retry loop cannot push the history out of the bounded list.
  void AddEvent(std::string type, std::string reason, std::string message);
};

// The idle time after which `spec` is put to sleep: its own idle_sleep_seconds when > 0, never
// when -1, else `configured` (environments.idle_sleep); <= 0 = never.
int64_t EffectiveIdleSleep(const EnvironmentSpec& spec, int64_t configured);

const char* PhaseName(Phase p);
Result<Phase> ParsePhase(const std::string& s);
const char* PullPolicyName(PullPolicy p);
Result<PullPolicy> ParsePullPolicy(const std::string& s);
const char* ReleaseModeName(ReleaseMode m);
Result<ReleaseMode> ParseReleaseMode(const std::string& s);

// The default ports of the original: ssh 22, http 80, https 443.
std::vector<PortSpec> DefaultPorts();

void to_json(nlohmann::json& j, const EnvironmentSpec& s);
void from_json(const nlohmann::json& j, EnvironmentSpec& s);
void to_json(nlohmann::json& j, const EnvStatus& s);
void from_json(const nlohmann::json& j, EnvStatus& s);
void to_json(nlohmann::json& j, const Event& e);
void from_json(const nlohmann::json& j, Event& e);

// Decodes a create request's fields (docs/api.md) strictly, at the API edge: an unknown field,
// a wrong type, a fraction, an integer out of its range (at any depth: ports[i], resources,
// env and label values, command elements) is kInvalidArgument naming the field's path.
// `pull_policy_given` / `ttl_given` are set to whether the body names a pull policy / a TTL
// (absent, the server's defaults apply; an explicit ttl_seconds 0 means never).
Result<EnvironmentSpec> DecodeCreateRequest(const nlohmann::json& body,
                                            bool* pull_policy_given = nullptr,
                                            bool* ttl_given = nullptr);

// The stored spec record, in the Kubernetes shape:
//   {"apiVersion": "berth.dev/v1", "kind": "Environment",
//    "metadata": {"namespace", "name", "uid", "generation", "createdAt", "labels",
//                 "deletionTimestamp"?, "finalizers"?: ["berth.dev/purge-volume"]},
//    "spec": {what the user asked for}}
// ParseSpec also reads the flat form releases before 0.2 stored (store::MigrateSpecRecords
// rewrites those on start). Parse without throwing: bad JSON or wrong types become
// kInvalidArgument. Tolerant on purpose (records an earlier release stored must load);
// requests go through DecodeCreateRequest. to_json/from_json above are the API's flat view.
// `flat_form`, when given, says whether the record read was in the flat form.
Result<EnvironmentSpec> ParseSpec(const std::string& text, bool* flat_form = nullptr);
Result<EnvStatus> ParseStatus(const std::string& text);
std::string SerializeSpec(const EnvironmentSpec& s);
std::string SerializeStatus(const EnvStatus& s);
// Whether a stored spec record is in the flat form of releases before 0.2.
bool IsFlatSpecRecord(const std::string& text);
// The finalizer a deletion that purges the volume carries.
inline constexpr char kPurgeVolumeFinalizer[] = "berth.dev/purge-volume";
// A new uid: 32 random hex digits in the 8-4-4-4-12 layout (a version 4 UUID).
std::string NewUid();
// What an environment the controller has not looked at yet shows: Pending, "Accepted", with
// the Accepted event at its creation time. No record holds it: the status record is the
// controller's alone, written first when it starts on the environment.
EnvStatus AcceptedStatus(const EnvironmentSpec& spec);

std::string NowRfc3339();

}  // namespace berth
