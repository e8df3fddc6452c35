#include "support/k8s/control_plane.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>

#include <yaml-cpp/yaml.h>

#include "runtime/kubernetes/client.h"
#include "support/ports.h"
#include "util/base64.h"
#include "util/strings.h"

namespace berth::testing {
namespace {

using namespace std::chrono_literals;

// The pinned version, read from versions.sh so the harness and ensure.sh cannot disagree.
std::string PinnedVersion() {
  auto text = util::ReadFile(std::string(BERTH_SOURCE_DIR) + "/tests/support/k8s/versions.sh");
  if (text)
    for (const auto& line : util::Split(*text, '\n'))
      if (util::StartsWith(line, "K8S_VERSION=")) return util::Trim(line.substr(12));
  return "v1.36.1";
}

Status Openssl(const std::vector<std::string>& args, const std::string& cwd) {
  std::vector<std::string> argv{util::FindExecutable("openssl")};
  argv.insert(argv.end(), args.begin(), args.end());
  util::SpawnOptions so;
  so.cwd = cwd;
  auto r = util::RunCommand(argv, 60s, so);
  if (!r) return Fail(r.error());
  if (r->exit_code != 0)
    return Fail(ErrorCode::kInternal, "openssl " + util::Join(args, " ") + ": " + r->err);
  return {};
}

Status Write(const std::string& path, const std::string& text) {
  return util::WriteFileAtomic(path, text, 0600);
}

std::string Quote(const std::string& s) {
  return "\"" + s + "\"";
}

}  // namespace

bool ControlPlane::SkipRequested() {
  const char* v = std::getenv("BERTH_TEST_SKIP_KUBERNETES");
  return v && std::string(v) == "1";
}

std::string ControlPlane::DefaultBinDir() {
  if (const char* b = std::getenv("BERTH_K8S_BIN"); b && *b) return b;
  std::string cache;
  if (const char* c = std::getenv("BERTH_CACHE"); c && *c)
    cache = c;
  else
    cache = std::string(std::getenv("HOME") ? std::getenv("HOME") : "/root") + "/.cache/berth";
  return cache + "/k8s-" + PinnedVersion() + "/bin";
}

Result<util::Subprocess> ControlPlane::Launch(const std::string& name,
                                              const std::vector<std::string>& argv) {
  util::SpawnOptions so;
  so.stdout_path = dir() + "/" + name + ".log";
  so.stderr_path = "=stdout";
  so.cwd = dir();
  return util::Subprocess::Spawn(argv, so);
}

std::string ControlPlane::LogTail(const std::string& component, size_t bytes) const {
  std::string path =
      component == "etcd" && etcd_ ? etcd_->log_path() : dir() + "/" + component + ".log";
  auto t = util::ReadFile(path);
  if (!t) return "(no log " + path + ")";
  return t->size() > bytes ? t->substr(t->size() - bytes) : *t;
}

Status ControlPlane::MakePki() {
  std::string pki = dir() + "/pki";
  if (auto s = util::MakeDirs(pki, 0700); !s) return s;
  if (auto s = Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "3", "-subj",
                        "/CN=berth-test-ca", "-addext", "basicConstraints=critical,CA:TRUE",
                        "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"},
                       pki);
      !s)
    return s;
  // Serving certificate for 127.0.0.1 and the in-cluster names.
  if (auto s =
          Write(pki + "/server.ext",
                "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,IP:10.0.0.1,"
                "DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,"
                "DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n");
      !s)
    return s;
  if (auto s = Openssl(
          {"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
           "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=kube-apiserver"},
          pki);
      !s)
    return s;
  if (auto s =
          Openssl({"x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                   "-CAcreateserial", "-out", "server.crt", "-days", "3", "-extfile", "server.ext"},
                  pki);
      !s)
    return s;
  // Service-account token signing key.
  if (auto s = Openssl({"genrsa", "-out", "sa.key", "2048"}, pki); !s) return s;
  if (auto s = Openssl({"rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"}, pki); !s) return s;
  return {};
}

Status ControlPlane::AppendPodLog(const std::vector<std::string>& lines,
                                  const std::string& stream) {
  auto now = std::chrono::system_clock::now();
  std::time_t secs = std::chrono::system_clock::to_time_t(now);
  auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()) %
               std::chrono::seconds(1);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[64];
  std::snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(nanos.count()));
  std::string records;
  for (const auto& l : lines) records += std::string(stamp) + " " + stream + " F " + l + "\n";
  // One write, so a follower never sees half a record.
  std::ofstream f(pod_log_file(), std::ios::app | std::ios::binary);
  f.write(records.data(), static_cast<std::streamsize>(records.size()));
  f.flush();
  if (!f) return Fail(ErrorCode::kInternal, "appending to " + pod_log_file());
  return {};
}

Result<ControlPlane::ClientCert> ControlPlane::IssueClientCert(
    const std::string& user, const std::vector<std::string>& groups) {
  std::string pki = dir() + "/pki";
  std::string base = "user-" + user;
  for (char& c : base)
    if (!isalnum(static_cast<unsigned char>(c)) && c != '-') c = '_';
  std::string subj;
  for (const auto& g : groups) subj += "/O=" + g;
  subj += "/CN=" + user;
  if (!util::PathExists(pki + "/client.ext"))
    if (auto s = Write(pki + "/client.ext",
                       "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,"
                       "keyEncipherment\nextendedKeyUsage=clientAuth\n");
        !s)
      return Fail(s.error());
  if (auto s = Openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", base + ".key", "-out", base + ".csr", "-subj", subj},
                       pki);
      !s)
    return Fail(s.error());
  if (auto s = Openssl(
          {"x509", "-req", "-in", base + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
           "-CAcreateserial", "-out", base + ".crt", "-days", "3", "-extfile", "client.ext"},
          pki);
      !s)
    return Fail(s.error());
  return ClientCert{pki + "/" + base + ".crt", pki + "/" + base + ".key"};
}

Status ControlPlane::WriteKubeconfig(const std::string& path, const std::string& user,
                                     const std::string& cert, const std::string& key, bool embed) {
  std::ostringstream y;
  y << "apiVersion: v1\nkind: Config\nclusters:\n- name: berth-test\n  cluster:\n    server: "
    << server_ << "\n";
  if (embed) {
    auto ca = util::ReadFile(ca_file());
    auto c = util::ReadFile(cert);
    auto k = util::ReadFile(key);
    if (!ca || !c || !k) return Fail(ErrorCode::kInternal, "reading certificates for " + path);
    y << "    certificate-authority-data: " << util::Base64Encode(*ca) << "\n";
    y << "users:\n- name: " << Quote(user) << "\n  user:\n";
    y << "    client-certificate-data: " << util::Base64Encode(*c) << "\n";
    y << "    client-key-data: " << util::Base64Encode(*k) << "\n";
  } else {
    y << "    certificate-authority: " << ca_file() << "\n";
    y << "users:\n- name: " << Quote(user) << "\n  user:\n";
    y << "    client-certificate: " << cert << "\n    client-key: " << key << "\n";
  }
  y << "contexts:\n- name: berth-test\n  context:\n    cluster: berth-test\n    user: "
    << Quote(user) << "\ncurrent-context: berth-test\n";
  return Write(path, y.str());
}

Result<std::string> ControlPlane::UserKubeconfig(const std::string& user,
                                                 const std::vector<std::string>& groups,
                                                 bool embed) {
  auto cert = IssueClientCert(user, groups);
  if (!cert) return Fail(cert.error());
  std::string path = dir() + "/" + user + (embed ? "" : "-files") + ".kubeconfig";
  for (char& c : path)
    if (c == ':') c = '_';
  if (auto s = WriteKubeconfig(path, user, cert->cert_file, cert->key_file, embed); !s)
    return Fail(s.error());
  return path;
}

kube::Connection ControlPlane::AdminConnection() const {
  kube::Connection c;
  c.server = server_;
  c.context = "berth-test";
  c.tls.ca_file = ca_file();
  c.tls.cert_file = dir() + "/pki/user-admin.crt";
  c.tls.key_file = dir() + "/pki/user-admin.key";
  return c;
}

Status ControlPlane::WaitFor(const std::string& what, const std::function<bool()>& ready) {
  auto deadline = std::chrono::steady_clock::now() + opts_.start_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ready()) return {};
    for (auto& [name, p] : procs_)
      if (!p.running())
        return Fail(ErrorCode::kUnavailable,
                    name + " exited while waiting for " + what + ":\n" + LogTail(name));
    std::this_thread::sleep_for(200ms);
  }
  return Fail(ErrorCode::kTimeout, "timed out waiting for " + what);
}

Status ControlPlane::StartApiserver() {
  std::string pki = dir() + "/pki";
  Error last(ErrorCode::kUnavailable, "kube-apiserver did not start");
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = FreeLoopbackPort();
    server_ = "https://127.0.0.1:" + std::to_string(port_);
    std::vector<std::string> argv = {
        bin_dir_ + "/kube-apiserver",
        "--etcd-servers=" + etcd_->endpoint(),
        "--etcd-prefix=/registry-" + std::to_string(port_),
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        "--secure-port=" + std::to_string(port_),
        "--tls-cert-file=" + pki + "/server.crt",
        "--tls-private-key-file=" + pki + "/server.key",
        "--client-ca-file=" + pki + "/ca.crt",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        "--service-account-key-file=" + pki + "/sa.pub",
        "--service-account-signing-key-file=" + pki + "/sa.key",
        "--service-cluster-ip-range=10.0.0.0/24",
        "--service-node-port-range=30000-32767",
        "--authorization-mode=RBAC",
        "--allow-privileged=true",
        "--profiling=false",
        // Debian's etcd 3.4 has no RequestWatchProgress, which streaming watch-lists need:
        // with WatchList on, every client-go watch (kwok's, kubectl wait's) broke and relisted
        // after a backoff, holding pods Pending for tens of seconds. Off, they list+watch.
        "--feature-gates=WatchList=false",
        // ConfigMap watches go straight to etcd, so a test can provoke "410 Gone" by compacting.
        "--watch-cache-sizes=configmaps#0",
        // Pod logs (and exec, port-forward) go to kwok's kubelet server: at the node's
        // InternalIP (kwok also adds a Hostname address, which does not resolve), verified
        // against the cluster CA, with a client certificate as a real kubelet requires.
        "--kubelet-preferred-address-types=InternalIP",
        "--kubelet-certificate-authority=" + pki + "/ca.crt",
        "--kubelet-client-certificate=" + pki + "/user-kube-apiserver-kubelet-client.crt",
        "--kubelet-client-key=" + pki + "/user-kube-apiserver-kubelet-client.key",
        "--v=1",
    };
    auto p = Launch("kube-apiserver", argv);
    if (!p) return Fail(p.error());
    procs_.emplace_back("kube-apiserver", std::move(*p));
    kube::KubeClient probe(AdminConnection());
    auto st = WaitFor("kube-apiserver /readyz", [&] {
      auto r = probe.Request("GET", "/readyz", "", "");
      return r.has_value() && util::Trim(*r) == "ok";
    });
    if (st) return {};
    last = Error(st.error().code, st.error().message + "\n" + LogTail("kube-apiserver"));
    procs_.back().second.Stop();
    procs_.pop_back();
    // Only a lost race for the port is worth another try.
    if (LogTail("kube-apiserver").find("address already in use") == std::string::npos) break;
  }
  return Fail(last);
}

Status ControlPlane::StartControllers() {
  struct Component {
    const char* name;
    const char* user;
    std::vector<std::string> extra;
  };
  std::string pki = dir() + "/pki";
  std::vector<Component> comps = {
      {"kube-controller-manager",
       "system:kube-controller-manager",
       {"--service-account-private-key-file=" + pki + "/sa.key",
        "--root-ca-file=" + pki + "/ca.crt", "--use-service-account-credentials=true",
        // No node IPAM (kwok pods get their IPs from kwok); no cloud.
        "--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-"
        "controller"}},
      {"kube-scheduler", "system:kube-scheduler", {}},
  };
  for (auto& c : comps) {
    auto cert = IssueClientCert(c.user, {});
    if (!cert) return Fail(cert.error());
    std::string kc = dir() + "/" + c.name + ".kubeconfig";
    if (auto s = WriteKubeconfig(kc, c.user, cert->cert_file, cert->key_file, false); !s) return s;
    std::vector<std::string> argv = {bin_dir_ + "/" + c.name,
                                     "--kubeconfig=" + kc,
                                     "--authentication-kubeconfig=" + kc,
                                     "--authorization-kubeconfig=" + kc,
                                     "--bind-address=127.0.0.1",
                                     "--secure-port=" + std::to_string(FreeLoopbackPort()),
                                     "--leader-elect=false",
                                     "--v=1"};
    argv.insert(argv.end(), c.extra.begin(), c.extra.end());
    auto p = Launch(c.name, argv);
    if (!p) return Fail(p.error());
    procs_.emplace_back(c.name, std::move(*p));
  }
  // The service-account controller runs: pods can be admitted in new namespaces.
  kube::KubeClient admin(AdminConnection());
  return WaitFor("the default service account", [&] {
    return admin.Get("/api/v1/namespaces/default/serviceaccounts/default").has_value();
  });
}

Status ControlPlane::StartKwok() {
  // kwok's kubelet server answers every container's log request from one file (ClusterLogs
  // without a selector). It must exist before the first request.
  if (auto s = util::MakeDirs(dir() + "/pod-logs", 0700); !s) return s;
  if (auto s = Write(pod_log_file(), ""); !s) return s;
  if (auto s = Write(dir() + "/kwok-logs.yaml",
                     "apiVersion: kwok.x-k8s.io/v1alpha1\nkind: ClusterLogs\nmetadata:\n  name: "
                     "berth-test-pod-logs\nspec:\n  logs:\n  - logsFile: " +
                         pod_log_file() + "\n");
      !s)
    return s;
  // Exec into any pod runs the command on this host in pod_exec_dir() (ClusterExec with a
  // local target): the pods/exec subresource through the API server and a kubelet, for real,
  // with a command whose effects a test can see.
  if (auto s = util::MakeDirs(pod_exec_dir(), 0700); !s) return s;
  if (auto s = Write(dir() + "/kwok-exec.yaml",
                     "apiVersion: kwok.x-k8s.io/v1alpha1\nkind: ClusterExec\nmetadata:\n  name: "
                     "berth-test-pod-exec\nspec:\n  execs:\n  - local:\n      workDir: " +
                         pod_exec_dir() + "\n");
      !s)
    return s;
  // One port for the server and the nodes' status.daemonEndpoints.kubeletEndpoint.Port (the
  // node stages set it from --node-port): where the API server sends log requests.
  std::string kubelet_port = std::to_string(FreeLoopbackPort());
  std::string pki = dir() + "/pki";
  std::vector<std::string> argv = {
      bin_dir_ + "/kwok",
      // kwok's behaviour: the upstream default stages, put there by build.sh.
      "--config=" + bin_dir_ + "/kwok-stages.yaml",
      "--config=" + dir() + "/kwok-logs.yaml",
      "--config=" + dir() + "/kwok-exec.yaml",
      "--kubeconfig=" + admin_kubeconfig_,
      "--manage-all-nodes=false",
      "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
      "--manage-nodes-with-label-selector=",
      "--disregard-status-with-annotation-selector=kwok.x-k8s.io/status=custom",
      "--disregard-status-with-label-selector=",
      "--cidr=10.244.0.1/16",
      "--node-ip=127.0.0.1",
      "--node-lease-duration-seconds=40",
      "--server-address=127.0.0.1:" + kubelet_port,
      "--node-port=" + kubelet_port,
      // The API server's serving certificate (IP:127.0.0.1, from the cluster CA) also serves
      // the kubelet API, so --kubelet-certificate-authority verifies it.
      "--tls-cert-file=" + pki + "/server.crt",
      "--tls-private-key-file=" + pki + "/server.key",
  };
  auto p = Launch("kwok", argv);
  if (!p) return Fail(p.error());
  procs_.emplace_back("kwok", std::move(*p));
  kube::KubeClient admin(AdminConnection());
  for (int i = 0; i < opts_.nodes; ++i) {
    std::string name = "kwok-node-" + std::to_string(i);
    nlohmann::json node = {
        {"apiVersion", "v1"},
        {"kind", "Node"},
        {"metadata",
         {{"name", name},
          {"annotations", {{"kwok.x-k8s.io/node", "fake"}, {"node.alpha.kubernetes.io/ttl", "0"}}},
          {"labels",
           {{"kubernetes.io/hostname", name}, {"kubernetes.io/os", "linux"}, {"type", "kwok"}}}}},
        {"status",
         {{"allocatable", {{"cpu", "64"}, {"memory", "512Gi"}, {"pods", "500"}}},
          {"capacity", {{"cpu", "64"}, {"memory", "512Gi"}, {"pods", "500"}}},
          // Both types: kwok's node-initialize stage rewrites the list when one is missing
          // (with neither --node-name nor a Hostname it would empty it).
          {"addresses",
           {{{"type", "InternalIP"}, {"address", "127.0.0.1"}},
            {{"type", "Hostname"}, {"address", name}}}}}}};
    auto r = admin.Create("/api/v1/nodes", node);
    if (!r && r.error().code != ErrorCode::kAlreadyExists) return Fail(r.error());
  }
  return WaitFor("kwok nodes Ready", [&] {
    auto nodes = admin.List("/api/v1/nodes", "type=kwok");
    if (!nodes) return false;
    int ready = 0;
    for (const auto& n : (*nodes)["items"])
      if (n.contains("status") && n["status"].contains("conditions"))
        for (const auto& c : n["status"]["conditions"])
          if (c.value("type", "") == "Ready" && c.value("status", "") == "True") ++ready;
    return ready >= opts_.nodes;
  });
}

Result<std::unique_ptr<ControlPlane>> ControlPlane::Start(ControlPlaneOptions opts) {
  std::unique_ptr<ControlPlane> cp(new ControlPlane());
  cp->opts_ = std::move(opts);
  cp->bin_dir_ = cp->opts_.bin_dir.empty() ? DefaultBinDir() : cp->opts_.bin_dir;
  std::vector<std::string> need = {"kube-apiserver"};
  if (cp->opts_.controllers) {
    need.push_back("kube-controller-manager");
    need.push_back("kube-scheduler");
  }
  if (cp->opts_.kwok) {
    need.push_back("kwok");
    need.push_back("kwok-stages.yaml");
  }
  for (const auto& b : need)
    if (::access((cp->bin_dir_ + "/" + b).c_str(), R_OK) != 0)
      return Fail(ErrorCode::kUnavailable,
                  cp->bin_dir_ + "/" + b +
                      " not found: run tests/support/k8s/ensure.sh (builds the pinned Kubernetes "
                      "binaries), or set BERTH_TEST_SKIP_KUBERNETES=1");
  cp->dir_ = std::make_unique<util::TempDir>("berth-k8s");
  if (auto s = cp->MakePki(); !s) return Fail(s.error());
  auto admin = cp->IssueClientCert("admin", {"system:masters"});
  if (!admin) return Fail(admin.error());
  // The API server's client certificate towards kubelets (kwok's server).
  if (auto k = cp->IssueClientCert("kube-apiserver-kubelet-client", {}); !k) return Fail(k.error());

  EtcdServerOptions eo;
  eo.binary = cp->opts_.etcd_binary;
  if (eo.binary.empty() && ::access((cp->bin_dir_ + "/etcd").c_str(), X_OK) == 0)
    eo.binary = cp->bin_dir_ + "/etcd";
  auto etcd = EtcdServer::Start(eo);
  if (!etcd) return Fail(Wrap(etcd.error(), "etcd for kube-apiserver"));
  cp->etcd_ = std::move(*etcd);

  if (auto s = cp->StartApiserver(); !s) return Fail(s.error());
  cp->admin_kubeconfig_ = cp->dir() + "/admin.kubeconfig";
  if (auto s = cp->WriteKubeconfig(cp->admin_kubeconfig_, "admin", admin->cert_file,
                                   admin->key_file, true);
      !s)
    return Fail(s.error());
  if (cp->opts_.controllers)
    if (auto s = cp->StartControllers(); !s) return Fail(s.error());
  if (cp->opts_.kwok)
    if (auto s = cp->StartKwok(); !s) return Fail(s.error());
  return cp;
}

ControlPlane::~ControlPlane() {
  for (auto it = procs_.rbegin(); it != procs_.rend(); ++it) it->second.Stop(3000ms);
  procs_.clear();
  etcd_.reset();
  if (std::getenv("BERTH_TEST_KEEP_K8S") && dir_) dir_->Keep();
}

Result<util::CommandResult> ControlPlane::Kubectl(const std::vector<std::string>& args,
                                                  std::chrono::seconds timeout) {
  std::vector<std::string> argv{kubectl(), "--kubeconfig=" + admin_kubeconfig_};
  argv.insert(argv.end(), args.begin(), args.end());
  return util::RunCommand(argv, timeout);
}

namespace {

// YAML -> JSON keeping plain scalars' types (numbers, booleans, null); quoted stay strings.
nlohmann::json ToJson(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json o = nlohmann::json::object();
      for (const auto& kv : n) o[kv.first.as<std::string>()] = ToJson(kv.second);
      return o;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& v : n) a.push_back(ToJson(v));
      return a;
    }
    case YAML::NodeType::Scalar: {
      std::string v = n.Scalar();
      if (n.Tag() == "?") {
        if (v == "true") return true;
        if (v == "false") return false;
        if (v == "null" || v == "~") return nullptr;
        if (!v.empty() && v.find_first_not_of("0123456789-") == std::string::npos && v != "-") {
          try {
            return std::stoll(v);
          } catch (...) {
          }
        }
      }
      return v;
    }
    default:
      return nullptr;
  }
}

// Where each kind the tests apply lives in the API.
struct KindPath {
  const char* kind;
  const char* api;
  const char* plural;
  bool namespaced;
};
constexpr KindPath kKinds[] = {
    {"Namespace", "/api/v1", "namespaces", false},
    {"ServiceAccount", "/api/v1", "serviceaccounts", true},
    {"ConfigMap", "/api/v1", "configmaps", true},
    {"Service", "/api/v1", "services", true},
    {"PersistentVolume", "/api/v1", "persistentvolumes", false},
    {"PersistentVolumeClaim", "/api/v1", "persistentvolumeclaims", true},
    {"StorageClass", "/apis/storage.k8s.io/v1", "storageclasses", false},
    {"ClusterRole", "/apis/rbac.authorization.k8s.io/v1", "clusterroles", false},
    {"ClusterRoleBinding", "/apis/rbac.authorization.k8s.io/v1", "clusterrolebindings", false},
    {"Role", "/apis/rbac.authorization.k8s.io/v1", "roles", true},
    {"RoleBinding", "/apis/rbac.authorization.k8s.io/v1", "rolebindings", true},
    {"Deployment", "/apis/apps/v1", "deployments", true},
};

}  // namespace

Status ControlPlane::ApplyManifest(const std::string& manifest) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(manifest);
  } catch (const YAML::Exception& e) {
    return Fail(ErrorCode::kInvalidArgument, std::string("manifest: ") + e.what());
  }
  kube::KubeClient admin(AdminConnection());
  for (const auto& d : docs) {
    if (!d || d.IsNull()) continue;
    nlohmann::json obj = ToJson(d);
    std::string kind = obj.value("kind", "");
    const KindPath* k = nullptr;
    for (const auto& kp : kKinds)
      if (kind == kp.kind) k = &kp;
    if (!k) return Fail(ErrorCode::kInvalidArgument, "ApplyManifest: kind " + kind + " not mapped");
    std::string name = obj["metadata"].value("name", "");
    std::string path = std::string(k->api);
    if (k->namespaced) path += "/namespaces/" + obj["metadata"].value("namespace", "default");
    path += std::string("/") + k->plural + "/" + name;
    // The harness applies as admin with force: it sets up fixtures, it is not under test.
    auto r = admin.Apply(path, obj, true, "berth-test-fixture");
    if (!r) return Fail(Wrap(r.error(), "applying " + kind + " " + name));
  }
  return {};
}

}  // namespace berth::testing
