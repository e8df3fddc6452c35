// A real Kubernetes control plane for integration tests and benchmarks, all on loopback:
// etcd, kube-apiserver (client-certificate auth, RBAC, NodePorts), kube-controller-manager and
// kube-scheduler (so Deployments make ReplicaSets and Pods), and kwok as fake kubelets whose
// nodes have InternalIP 127.0.0.1, so pods go Running with hostIP 127.0.0.1. kwok also serves
// the kubelet API (HTTPS, certificate from the cluster CA) at the nodes' kubeletEndpoint, so
// the pod log subresource works: every container's log is pod_log_file() (see AppendPodLog), and
// so does pods/exec: the command runs on this host in pod_exec_dir().
// Binaries come from tests/support/k8s/ensure.sh (built from the Go module proxy into
// ${BERTH_CACHE:-~/.cache/berth}/k8s-<version>/bin); certificates are made with the openssl
// CLI in the control plane's own temp dir. Everything stops in the destructor.
//
//   if (ControlPlane::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_KUBERNETES=1";
//   auto cp = ControlPlane::Start();
//   ASSERT_TRUE(cp.has_value()) << cp.error().message;
//   KubeClient admin((*cp)->AdminConnection());
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "berth/result.h"
#include "runtime/kubernetes/kubeconfig.h"
#include "support/etcd.h"
#include "util/fs.h"
#include "util/process.h"

namespace berth::testing {

struct ControlPlaneOptions {
  std::string bin_dir;      // "" = $BERTH_K8S_BIN or the ensure.sh cache
  std::string etcd_binary;  // "" = <bin_dir>/etcd if built, else Debian's /usr/bin/etcd
  bool controllers = true;  // kube-controller-manager + kube-scheduler
  bool kwok = true;         // fake kubelets (needs controllers to matter)
  int nodes = 1;
  std::chrono::seconds start_timeout{180};
};

class ControlPlane {
 public:
  static Result<std::unique_ptr<ControlPlane>> Start(ControlPlaneOptions opts = {});
  // True when BERTH_TEST_SKIP_KUBERNETES=1: the only case in which a test may skip.
  static bool SkipRequested();
  // Where ensure.sh puts the binaries for the pinned version.
  static std::string DefaultBinDir();

  ~ControlPlane();
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;

  const std::string& server() const { return server_; }  // https://127.0.0.1:PORT
  int port() const { return port_; }
  const std::string& dir() const { return dir_->path(); }
  std::string ca_file() const { return dir() + "/pki/ca.crt"; }
  const std::string& admin_kubeconfig() const { return admin_kubeconfig_; }
  std::string kubectl() const { return bin_dir_ + "/kubectl"; }
  kube::Connection AdminConnection() const;
  std::string etcd_endpoint() const { return etcd_->endpoint(); }

  struct ClientCert {
    std::string cert_file, key_file;
  };
  // A client certificate signed by the cluster CA: CN = user, O = each group.
  Result<ClientCert> IssueClientCert(const std::string& user,
                                     const std::vector<std::string>& groups);
  // A kubeconfig for that user, the certificate embedded as *-data (embed) or as file paths.
  Result<std::string> UserKubeconfig(const std::string& user,
                                     const std::vector<std::string>& groups, bool embed = true);
  // kubectl with the admin kubeconfig; the whole result (exit code, out, err).
  Result<util::CommandResult> Kubectl(const std::vector<std::string>& args,
                                      std::chrono::seconds timeout = std::chrono::seconds(60));
  // Applies a (multi-document) YAML manifest as admin with server-side apply, through the
  // API directly (no kubectl needed).
  Status ApplyManifest(const std::string& manifest);
  // The file kwok serves as every container's log (GET .../pods/<pod>/log, kubectl logs), in
  // the CRI log format the kubelet reads ("<RFC3339Nano> stdout F <text>").
  std::string pod_log_file() const { return dir() + "/pod-logs/containers.log"; }
  // Where a command exec'd into any pod runs (kwok runs it on this host, in this directory).
  std::string pod_exec_dir() const { return dir() + "/pod-exec"; }
  // Appends one CRI record per line (stream "stdout" or "stderr"), timestamped now.
  Status AppendPodLog(const std::vector<std::string>& lines, const std::string& stream = "stdout");
  // The last bytes of a component's log ("etcd", "kube-apiserver", ...).
  std::string LogTail(const std::string& component, size_t bytes = 3000) const;

 private:
  ControlPlane() = default;
  Status MakePki();
  Status StartApiserver();
  Status StartControllers();
  Status StartKwok();
  Status WaitFor(const std::string& what, const std::function<bool()>& ready);
  Result<util::Subprocess> Launch(const std::string& name, const std::vector<std::string>& argv);
  Status WriteKubeconfig(const std::string& path, const std::string& user, const std::string& cert,
                         const std::string& key, bool embed);

  ControlPlaneOptions opts_;
  std::string bin_dir_;
  std::unique_ptr<util::TempDir> dir_;
  std::unique_ptr<EtcdServer> etcd_;
  // Stopped in reverse order of start by the destructor.
  std::vector<std::pair<std::string, util::Subprocess>> procs_;
  std::string server_;
  int port_ = 0;
  std::string admin_kubeconfig_;
};

}  // namespace berth::testing
