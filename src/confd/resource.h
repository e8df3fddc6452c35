// One confd template resource (a conf.d/*.toml [template] table) and how it is applied.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "berth/result.h"
#include "berth/store.h"
#include "confd/confd.h"
#include "confd/memkv.h"
#include "template/template.h"

namespace berth::confd {

struct ResourceConfig {
  std::string toml_path;
  std::string src;  // absolute: confdir/templates/<src>
  std::string dest;
  std::vector<std::string> keys;  // as written
  std::string prefix;             // path.Join("/", global prefix, resource prefix)
  std::optional<mode_t> mode;
  int uid = -1;  // -1: leave the owner alone
  int gid = -1;
  std::string check_cmd;
  std::string reload_cmd;
};

// Parses a resource file. kInvalidArgument names the file and the problem.
Result<ResourceConfig> ParseResourceFile(const std::string& toml_path, const Options& opts);
// The same for the file's text; `toml_path` names it in errors and in the config.
Result<ResourceConfig> ParseResource(std::string_view text, const std::string& toml_path,
                                     const Options& opts);

enum class SyncResult { kInSync, kUpdated, kNoop };

class TemplateResource {
 public:
  TemplateResource(ResourceConfig cfg, const Options& opts);

  const ResourceConfig& config() const { return cfg_; }
  // The store prefixes read: prefix joined with each key.
  const std::vector<std::string>& store_keys() const { return store_keys_; }
  // True when a change of `key` can change this resource's output.
  bool Watches(std::string_view key) const;

  // Reads the keys, renders, and syncs dest (check_cmd, rename, reload_cmd).
  Result<SyncResult> Process(store::Store& store);
  // Renders from an already filled key space (no store, no files written).
  Result<std::string> Render();
  KVStore& kv() { return *kv_; }

 private:
  Status LoadValues(store::Store& store);
  Result<const tmpl::Template*> Parsed();
  Result<SyncResult> Sync(const std::string& content);

  ResourceConfig cfg_;
  bool noop_;
  bool sync_only_;
  bool keep_stage_file_;
  std::vector<std::string> store_keys_;
  std::unique_ptr<KVStore> kv_;  // stable address: the template's functions point at it
  std::string src_text_;         // the source the cached template was parsed from
  std::optional<tmpl::Template> tmpl_;
};

// Runs `cmd` with /bin/sh -c, as confd does, with a time limit. The error carries the output.
Status RunShell(const std::string& cmd, std::chrono::milliseconds timeout);

}  // namespace berth::confd
