// Release records (docs/releases.md): one key per release of an environment and one head key
// saying which release is current and which deploy holds the environment's deploy lock. Every
// change is a compare-and-swap on the head, so two deploys cannot both win, on SQLite or etcd.
//   /berth/releases/<ns>/<name>/<id>   a Release (JSON)
//   /berth/release-heads/<ns>/<name>   a ReleaseHead (JSON)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "berth/result.h"
#include "berth/store.h"

namespace berth::store {

inline constexpr std::string_view kReleases = "/berth/releases/";
inline constexpr std::string_view kReleaseHeads = "/berth/release-heads/";

std::string ReleasePrefix(std::string_view ns, std::string_view name);  // ends with '/'
std::string ReleaseKey(std::string_view ns, std::string_view name, std::string_view id);
std::string ReleaseHeadKey(std::string_view ns, std::string_view name);

struct Release {
  std::string id;      // "r<seq>"
  int64_t seq = 0;     // monotonic per environment
  std::string mode;    // "code" | "image"
  std::string image;   // image mode: the reference deployed
  std::string digest;  // code mode: "sha256:<hex>" of the uploaded archive
  int64_t files = 0;   // code mode: entries extracted
  int64_t bytes = 0;   // code mode: bytes of file content
  std::string message;
  std::string created_at;  // RFC 3339
  std::string created_by;
  std::string phase = "Pending";  // Pending | Running | Failed
  std::string reason;             // why Failed, or the step a Pending one is at
  std::string previous;           // the release current when this one started ("" = none)
  std::string previous_image;     // image mode: the image before this release
  std::string reload_command;     // code mode: run instead of a restart ("" = restart)
  bool rolled_back = false;       // failed and `current` went back to `previous`
  std::string finished_at;
};

struct ReleaseHead {
  int64_t next_seq = 1;
  std::string current;  // "" = no release yet
  // The deploy lock: the release (or "rollback") being made, by whom, until when.
  std::string locked_by;    // "" = free
  std::string lock_holder;  // "<host>/<pid>" of the berth serve that holds it
  int64_t lock_until = 0;   // unix seconds; a lock past it is stale
};

std::string SerializeRelease(const Release& r);
Result<Release> ParseRelease(const std::string& text);
std::string SerializeReleaseHead(const ReleaseHead& h);
Result<ReleaseHead> ParseReleaseHead(const std::string& text);

// Every release of one environment, oldest first (by seq).
Result<std::vector<Release>> ListReleases(Store& store, std::string_view ns, std::string_view name);
// The head and its mod_revision (0 = none yet: a default head).
Result<std::pair<ReleaseHead, int64_t>> GetReleaseHead(Store& store, std::string_view ns,
                                                       std::string_view name);
// Adds to `txn` the deletes of every release record and the head of ns/name.
Status DeleteReleaseRecords(Store& store, std::string_view ns, std::string_view name, Txn& txn);

}  // namespace berth::store
