// EnvironmentService: the operations users ask for, as store transactions. It validates every
// input, writes the desired state and returns; the controller does the work. It never talks to
// a backend.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "berth/config.h"
#include "berth/environment.h"
#include "berth/runtime.h"
#include "berth/store.h"
#include "core/ports.h"
#include "store/env_cache.h"
#include "store/informer.h"

namespace berth::api {

struct EnvView {
  EnvironmentSpec spec;
  std::optional<EnvStatus> status;
  int64_t revision = 0;  // of the spec
};

std::string SerializeView(const EnvView& v);

struct CreateOptions {
  bool rollback_on_failure = true;  // a create that cannot start leaves nothing behind
  bool pull_policy_given = false;   // false = use the configured default pull policy
  bool ttl_given = false;           // false = the namespace's default TTL (config)
};

class EnvironmentService {
 public:
  // `port_busy` (a bind probe, on a local engine only) makes allocation skip host ports other
  // processes hold; empty = the store's reservations alone decide. `runtime` says whether
  // Berth allocates host ports at all (allocates_host_ports) or the cluster does.
  EnvironmentService(store::Store& store, const Config& config, core::PortBusyFn port_busy = {},
                     runtime::Capabilities runtime = {});

  // Reads (Get, List, ListJson, Watch) come from `cache`, fed by `informer`, once the informer
  // has seen every commit made before the read (Informer::WaitFresh); straight from the store
  // when it has not within a moment, or without a cache.
  void ReadFrom(store::Informer* informer, const store::EnvCache* cache);

  Result<EnvView> Create(EnvironmentSpec spec, const CreateOptions& opts = {});
  Result<EnvView> Get(const std::string& ns, const std::string& name);
  // ns empty = every namespace.
  Result<std::vector<EnvView>> List(const std::string& ns);
  // The same as {"items": [view...]}, made from each environment's JSON kept in the cache;
  // `summary`: each item is store::EnvSummaryJson's (what a list table shows).
  Result<std::string> ListJson(const std::string& ns, bool summary = false);
  // Every environment as the periodic readers of all of them use it (the usage sampler, idle
  // sleep, /metrics), made without decoding thousands of records: the spec has only its
  // namespace, name, replicas, memory limit, idle_sleep_seconds, sleeping and deleting set,
  // the status only its phase and routed. ns "" = every namespace.
  Result<std::vector<EnvView>> ListBrief(const std::string& ns);
  // `berth list`'s table, printed here (?view=table): {"columns":[…],"rows":[[…],…]}.
  Result<std::string> ListTableJson(const std::string& ns);
  // Bumps the generation: the controller replaces the workload, keeping ports and volume.
  Result<EnvView> Rebuild(const std::string& ns, const std::string& name,
                          const std::string& new_image);
  Result<EnvView> Delete(const std::string& ns, const std::string& name, bool purge);
  // Sets the environment to expire `ttl_seconds` from now (0 = never).
  Result<EnvView> Extend(const std::string& ns, const std::string& name, int64_t ttl_seconds);

  // Desired state only: the controller stops the workload (keeping ports, volume, domains and
  // route) or starts it again. Idempotent: asking for the state it is in changes nothing.
  Result<EnvView> Sleep(const std::string& ns, const std::string& name);
  Result<EnvView> Wake(const std::string& ns, const std::string& name);

  // The spec's half of moving a held port (the controller asks, and writes the status): each
  // auto-assigned host port of incarnation `uid` that another process holds now moves to a
  // free one of the range, in one transaction with the spec (new reservation taken, the old
  // one released if still ours). Pinned ports never move. Empty when nothing moved (no port
  // held, another incarnation, being deleted, no allocation here).
  Result<std::vector<core::PortMove>> MoveHeldPorts(const std::string& ns, const std::string& name,
                                                    const std::string& uid);

  // Calls fn with the current view, then on every change, until fn returns false, the
  // environment is gone (fn gets nullopt), `timeout` passes (kTimeout) or `stop` is set.
  Status Watch(const std::string& ns, const std::string& name,
               const std::function<bool(const std::optional<EnvView>&)>& fn,
               std::chrono::milliseconds timeout, const std::atomic<bool>& stop);

 private:
  Status AllocatePorts(EnvironmentSpec& spec, store::Txn& txn);
  // `count` free ports of the configured range, none of `used` nor held on the host, from a
  // random start (concurrent allocators rarely collide; the transaction settles it if they do).
  Result<std::vector<int>> PickFreePorts(const std::set<int>& used, size_t count) const;
  // Refuses a create that would take the namespace past its quota (kPermissionDenied naming
  // the quota and the use), and adds the namespace's quota lock to `txn`.
  Status CheckQuota(const EnvironmentSpec& spec, store::Txn& txn);
  // Normalizes the requested domains and checks each may be claimed here (base domains,
  // allowed_domains, no IPs).
  Status CheckDomains(EnvironmentSpec& spec) const;
  // Applies `mutate` (true = changed, write it) to the stored spec with compare-and-swap.
  Result<EnvView> Update(const std::string& ns, const std::string& name,
                         const std::function<Result<bool>(EnvironmentSpec&)>& mutate,
                         bool even_while_rolling_back = false);

  // True when reads may come from the cache now.
  bool CacheFresh();

  store::Store& store_;
  store::Informer* informer_ = nullptr;
  const store::EnvCache* cache_ = nullptr;
  Config config_;
  core::PortBusyFn port_busy_;
  runtime::Capabilities runtime_;
};

}  // namespace berth::api
