// A confd-compatible runner: conf.d/*.toml template resources rendered from the store (etcd v3
// or Berth's embedded store) with confd's stage -> check_cmd -> rename -> reload_cmd flow.
// `berth router --confdir` calls Run(). docs/confd.md describes the supported setup.
#pragma once

#include <string>
#include <vector>

#include "berth/result.h"

namespace berth::confd {

struct Options {
  std::string confdir;             // has conf.d/*.toml and templates/
  std::string backend = "etcdv3";  // "etcdv3" | "store" (the embedded store via store_url)
  std::vector<std::string> nodes;  // etcd endpoints "http://127.0.0.1:2379"
  std::string store_url;           // for backend "store": e.g. sqlite:///path/berth.db
  std::string prefix;              // global prefix, like confd -prefix
  bool onetime = false;
  bool watch = false;
  int interval_seconds = 600;
  bool noop = false;
  bool sync_only = false;  // write changed files without check_cmd and reload_cmd
  bool keep_stage_file = false;
};

int Run(const Options& opts);         // process exit code; logs to stderr
Status RunOnce(const Options& opts);  // used by tests

}  // namespace berth::confd
