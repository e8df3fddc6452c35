// Kubeconfig loading and resolution, as kubectl does it: --kubeconfig, else $KUBECONFIG (a
// list of files merged, the first file to define a name or field wins), else ~/.kube/config,
// else the in-cluster service-account config. A context (explicit or current-context) picks a
// cluster and a user.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "berth/result.h"
#include "net/http_client.h"

namespace berth::kube {

struct ExecConfig {
  std::string api_version;  // client.authentication.k8s.io/v1 (v1beta1 accepted)
  std::string command;      // resolved: absolute, or looked up in $PATH when it has no slash
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  bool provide_cluster_info = false;
  std::string install_hint;
};

struct KubeCluster {
  std::string server;
  std::string certificate_authority;       // path, resolved against the file that named it
  std::string certificate_authority_data;  // decoded PEM
  bool insecure_skip_tls_verify = false;
  std::string tls_server_name;
};

struct KubeUser {
  std::string client_certificate;
  std::string client_certificate_data;  // decoded PEM
  std::string client_key;
  std::string client_key_data;
  std::string token;
  std::string token_file;
  std::string username, password;
  std::optional<ExecConfig> exec;
};

struct KubeContext {
  std::string cluster;
  std::string user;
  std::string ns;
};

// The merged view of one or more kubeconfig files.
struct KubeConfigFile {
  std::map<std::string, KubeCluster> clusters;
  std::map<std::string, KubeUser> users;
  std::map<std::string, KubeContext> contexts;
  std::string current_context;
  std::vector<std::string> sources;  // files that were read, in order
};

// What a client needs to talk to one API server.
struct Connection {
  std::string server;  // https://host:port, no trailing slash
  net::TlsOptions tls;
  std::string token;       // static bearer token
  std::string token_file;  // re-read as it rotates
  std::string username, password;
  std::optional<ExecConfig> exec;
  std::string ns;       // the context's namespace ("" = default)
  std::string context;  // which context was used ("in-cluster" for the service account)
  bool in_cluster = false;
};

struct LoadOptions {
  std::string kubeconfig;  // --kubeconfig: must exist when set
  std::string context;     // --context
  // Overridable for tests; empty = from the process environment / real paths.
  std::optional<std::string> kubeconfig_env;  // $KUBECONFIG
  std::optional<std::string> home;            // $HOME
  std::string service_account_dir = "/var/run/secrets/kubernetes.io/serviceaccount";
  std::optional<std::string> service_host;  // $KUBERNETES_SERVICE_HOST
  std::optional<std::string> service_port;  // $KUBERNETES_SERVICE_PORT
};

// Parses one kubeconfig document; relative paths are resolved against `dir`.
Result<KubeConfigFile> ParseKubeConfig(const std::string& yaml_text, const std::string& dir);
// Merges `next` into `into` with kubectl's rule: the first definition of a name wins.
void MergeKubeConfig(KubeConfigFile& into, const KubeConfigFile& next);
// Loads and merges the files selected by `opts` (no in-cluster fallback). kNotFound if none.
Result<KubeConfigFile> LoadKubeConfigFiles(const LoadOptions& opts);
// Picks a context and resolves it into a Connection.
Result<Connection> ResolveContext(const KubeConfigFile& cfg, const std::string& context);
// The in-cluster config from the service-account directory and $KUBERNETES_SERVICE_HOST/PORT.
Result<Connection> InClusterConnection(const LoadOptions& opts);
// The whole chain: files, then in-cluster when no file is found.
Result<Connection> LoadConnection(const LoadOptions& opts);

}  // namespace berth::kube
