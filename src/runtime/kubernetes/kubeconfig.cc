#include "runtime/kubernetes/kubeconfig.h"

#include <cstdlib>

#include <yaml-cpp/yaml.h>

#include "util/base64.h"
#include "util/fs.h"
#include "util/process.h"
#include "util/strings.h"

namespace berth::kube {
namespace {

std::string Str(const YAML::Node& n, const char* key) {
  const YAML::Node v = n[key];
  if (!v || !v.IsScalar()) return "";
  return v.as<std::string>();
}

bool Bool(const YAML::Node& n, const char* key) {
  const YAML::Node v = n[key];
  if (!v || !v.IsScalar()) return false;
  return v.as<bool>();
}

// kubectl resolves relative file references against the directory of the file naming them.
std::string ResolvePath(const std::string& p, const std::string& dir) {
  if (p.empty() || p[0] == '/' || dir.empty()) return p;
  if (p[0] == '~' && (p.size() == 1 || p[1] == '/')) {
    const char* home = std::getenv("HOME");
    return std::string(home ? home : "") + p.substr(1);
  }
  return dir + "/" + p;
}

Result<std::string> DecodeData(const YAML::Node& n, const char* key, const std::string& what) {
  std::string raw = Str(n, key);
  if (raw.empty()) return std::string();
  // As kubectl writes it, or wrapped and unpadded as hand-made kubeconfigs have it.
  auto d = util::Base64Decode(raw, {.ignore_whitespace = true, .require_padding = false});
  if (!d) return Fail(ErrorCode::kInvalidArgument, what + ": " + key + " is not valid base64");
  return *d;
}

Result<ExecConfig> ParseExec(const YAML::Node& n, const std::string& dir, const std::string& user) {
  ExecConfig e;
  e.api_version = Str(n, "apiVersion");
  e.command = Str(n, "command");
  e.install_hint = Str(n, "installHint");
  e.provide_cluster_info = Bool(n, "provideClusterInfo");
  if (e.command.empty())
    return Fail(ErrorCode::kInvalidArgument, "user \"" + user + "\": exec.command is empty");
  if (e.api_version != "client.authentication.k8s.io/v1" &&
      e.api_version != "client.authentication.k8s.io/v1beta1")
    return Fail(ErrorCode::kInvalidArgument,
                "user \"" + user + "\": exec apiVersion \"" + e.api_version +
                    "\" is not supported (want client.authentication.k8s.io/v1)");
  // As client-go: a command with a path separator is relative to the kubeconfig's directory;
  // a bare name is looked up in $PATH when run.
  if (e.command.find('/') != std::string::npos) e.command = ResolvePath(e.command, dir);
  if (auto args = n["args"]; args && args.IsSequence())
    for (const auto& a : args) e.args.push_back(a.as<std::string>());
  if (auto env = n["env"]; env && env.IsSequence())
    for (const auto& kv : env) e.env[Str(kv, "name")] = Str(kv, "value");
  return e;
}

template <typename T, typename F>
Status ParseNamed(const YAML::Node& root, const char* list, const char* inner, const F& parse,
                  std::map<std::string, T>& out) {
  const YAML::Node seq = root[list];
  if (!seq) return {};
  if (!seq.IsSequence())
    return Fail(ErrorCode::kInvalidArgument, std::string(list) + " must be a list");
  for (const auto& item : seq) {
    std::string name = Str(item, "name");
    if (name.empty())
      return Fail(ErrorCode::kInvalidArgument, std::string(list) + ": an entry has no name");
    auto parsed = parse(item[inner], name);
    if (!parsed) return Fail(parsed.error());
    out.emplace(name, std::move(*parsed));  // first definition in a file wins, too
  }
  return {};
}

}  // namespace

Result<KubeConfigFile> ParseKubeConfig(const std::string& yaml_text, const std::string& dir) {
  KubeConfigFile cfg;
  try {
    YAML::Node root = YAML::Load(yaml_text);
    if (!root || root.IsNull()) return cfg;  // an empty file is a valid, empty config
    if (!root.IsMap()) return Fail(ErrorCode::kInvalidArgument, "kubeconfig is not a mapping");
    cfg.current_context = Str(root, "current-context");

    auto cluster = [&](const YAML::Node& n, const std::string& name) -> Result<KubeCluster> {
      KubeCluster c;
      if (!n) return c;
      c.server = Str(n, "server");
      c.certificate_authority = ResolvePath(Str(n, "certificate-authority"), dir);
      auto ca = DecodeData(n, "certificate-authority-data", "cluster \"" + name + "\"");
      if (!ca) return Fail(ca.error());
      c.certificate_authority_data = *ca;
      c.insecure_skip_tls_verify = Bool(n, "insecure-skip-tls-verify");
      c.tls_server_name = Str(n, "tls-server-name");
      return c;
    };
    auto user = [&](const YAML::Node& n, const std::string& name) -> Result<KubeUser> {
      KubeUser u;
      if (!n) return u;
      std::string what = "user \"" + name + "\"";
      u.client_certificate = ResolvePath(Str(n, "client-certificate"), dir);
      u.client_key = ResolvePath(Str(n, "client-key"), dir);
      auto cd = DecodeData(n, "client-certificate-data", what);
      if (!cd) return Fail(cd.error());
      u.client_certificate_data = *cd;
      auto kd = DecodeData(n, "client-key-data", what);
      if (!kd) return Fail(kd.error());
      u.client_key_data = *kd;
      u.token = Str(n, "token");
      u.token_file = ResolvePath(Str(n, "tokenFile"), dir);
      u.username = Str(n, "username");
      u.password = Str(n, "password");
      if (auto ex = n["exec"]; ex && ex.IsMap()) {
        auto e = ParseExec(ex, dir, name);
        if (!e) return Fail(e.error());
        u.exec = std::move(*e);
      }
      return u;
    };
    auto context = [&](const YAML::Node& n, const std::string&) -> Result<KubeContext> {
      KubeContext c;
      if (!n) return c;
      c.cluster = Str(n, "cluster");
      c.user = Str(n, "user");
      c.ns = Str(n, "namespace");
      return c;
    };
    if (auto s = ParseNamed<KubeCluster>(root, "clusters", "cluster", cluster, cfg.clusters); !s)
      return Fail(s.error());
    if (auto s = ParseNamed<KubeUser>(root, "users", "user", user, cfg.users); !s)
      return Fail(s.error());
    if (auto s = ParseNamed<KubeContext>(root, "contexts", "context", context, cfg.contexts); !s)
      return Fail(s.error());
  } catch (const YAML::Exception& e) {
    return Fail(ErrorCode::kInvalidArgument, std::string("kubeconfig: ") + e.what());
  }
  return cfg;
}

void MergeKubeConfig(KubeConfigFile& into, const KubeConfigFile& next) {
  for (const auto& [k, v] : next.clusters) into.clusters.emplace(k, v);
  for (const auto& [k, v] : next.users) into.users.emplace(k, v);
  for (const auto& [k, v] : next.contexts) into.contexts.emplace(k, v);
  if (into.current_context.empty()) into.current_context = next.current_context;
  into.sources.insert(into.sources.end(), next.sources.begin(), next.sources.end());
}

namespace {

Result<KubeConfigFile> LoadFile(const std::string& path) {
  auto text = util::ReadFile(path);
  if (!text) return Fail(text.error());
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  if (dir.empty()) dir = "/";
  auto cfg = ParseKubeConfig(*text, dir);
  if (!cfg) return Fail(Wrap(cfg.error(), path));
  cfg->sources.push_back(path);
  return cfg;
}

std::optional<std::string> Env(const std::optional<std::string>& override, const char* name) {
  if (override) return override;
  const char* v = std::getenv(name);
  if (!v) return std::nullopt;
  return std::string(v);
}

}  // namespace

Result<KubeConfigFile> LoadKubeConfigFiles(const LoadOptions& opts) {
  if (!opts.kubeconfig.empty()) {
    if (!util::PathExists(opts.kubeconfig))
      return Fail(ErrorCode::kInvalidArgument, "kubeconfig " + opts.kubeconfig + " does not exist");
    return LoadFile(opts.kubeconfig);
  }
  auto env = Env(opts.kubeconfig_env, "KUBECONFIG");
  if (env && !env->empty()) {
    // kubectl skips files that do not exist but fails on files it cannot parse.
    KubeConfigFile merged;
    bool any = false;
    for (const auto& p : util::Split(*env, ':')) {
      if (!util::PathExists(p)) continue;
      auto f = LoadFile(p);
      if (!f) return Fail(f.error());
      MergeKubeConfig(merged, *f);
      any = true;
    }
    if (any) return merged;
    return Fail(ErrorCode::kNotFound, "none of the files in KUBECONFIG exist: " + *env);
  }
  auto home = Env(opts.home, "HOME");
  if (home && !home->empty()) {
    std::string p = *home + "/.kube/config";
    if (util::PathExists(p)) return LoadFile(p);
  }
  return Fail(ErrorCode::kNotFound,
              "no kubeconfig: set --kubeconfig or KUBECONFIG, or create "
              "~/.kube/config");
}

Result<Connection> ResolveContext(const KubeConfigFile& cfg, const std::string& context) {
  std::string name = context.empty() ? cfg.current_context : context;
  if (name.empty())
    return Fail(
        ErrorCode::kInvalidArgument,
        "kubeconfig has no current-context; pass --context (contexts: " +
            [&] {
              std::vector<std::string> n;
              for (const auto& [k, v] : cfg.contexts) n.push_back(k);
              return util::Join(n, ", ");
            }() +
            ")");
  auto ctx = cfg.contexts.find(name);
  if (ctx == cfg.contexts.end())
    return Fail(ErrorCode::kNotFound, "context \"" + name + "\" not found in kubeconfig");
  auto cl = cfg.clusters.find(ctx->second.cluster);
  if (cl == cfg.clusters.end())
    return Fail(ErrorCode::kNotFound, "context \"" + name + "\": cluster \"" + ctx->second.cluster +
                                          "\" not found in kubeconfig");
  Connection c;
  c.context = name;
  c.ns = ctx->second.ns;
  c.server = cl->second.server;
  while (!c.server.empty() && c.server.back() == '/') c.server.pop_back();
  if (c.server.empty())
    return Fail(ErrorCode::kInvalidArgument, "cluster \"" + cl->first + "\" has no server");
  if (!util::StartsWith(c.server, "https://") && !util::StartsWith(c.server, "http://"))
    c.server = "https://" + c.server;
  c.tls.ca_file = cl->second.certificate_authority;
  c.tls.ca_pem = cl->second.certificate_authority_data;
  c.tls.insecure_skip_verify = cl->second.insecure_skip_tls_verify;
  if (c.tls.insecure_skip_verify && (!c.tls.ca_file.empty() || !c.tls.ca_pem.empty()))
    return Fail(
        ErrorCode::kInvalidArgument,
        "cluster \"" + cl->first +
            "\": certificate-authority and insecure-skip-tls-verify are mutually exclusive");
  if (!ctx->second.user.empty()) {
    auto u = cfg.users.find(ctx->second.user);
    if (u == cfg.users.end())
      return Fail(ErrorCode::kNotFound, "context \"" + name + "\": user \"" + ctx->second.user +
                                            "\" not found in kubeconfig");
    const KubeUser& user = u->second;
    c.tls.cert_file = user.client_certificate;
    c.tls.cert_pem = user.client_certificate_data;
    c.tls.key_file = user.client_key;
    c.tls.key_pem = user.client_key_data;
    bool has_cert = !c.tls.cert_file.empty() || !c.tls.cert_pem.empty();
    bool has_key = !c.tls.key_file.empty() || !c.tls.key_pem.empty();
    if (has_cert != has_key)
      return Fail(ErrorCode::kInvalidArgument,
                  "user \"" + u->first + "\": client certificate and key must be given together");
    c.token = user.token;
    c.token_file = user.token_file;
    c.username = user.username;
    c.password = user.password;
    c.exec = user.exec;
  }
  return c;
}

Result<Connection> InClusterConnection(const LoadOptions& opts) {
  auto host = Env(opts.service_host, "KUBERNETES_SERVICE_HOST");
  auto port = Env(opts.service_port, "KUBERNETES_SERVICE_PORT");
  if (!host || host->empty() || !port || port->empty())
    return Fail(ErrorCode::kNotFound,
                "not running in a cluster (KUBERNETES_SERVICE_HOST/PORT are not set)");
  std::string token = opts.service_account_dir + "/token";
  if (!util::PathExists(token))
    return Fail(ErrorCode::kNotFound, "in-cluster: no service-account token at " + token);
  Connection c;
  c.in_cluster = true;
  c.context = "in-cluster";
  bool v6 = host->find(':') != std::string::npos;
  c.server = "https://" + (v6 ? "[" + *host + "]" : *host) + ":" + *port;
  c.token_file = token;
  c.tls.ca_file = opts.service_account_dir + "/ca.crt";
  if (auto ns = util::ReadFile(opts.service_account_dir + "/namespace")) c.ns = util::Trim(*ns);
  return c;
}

Result<Connection> LoadConnection(const LoadOptions& opts) {
  auto files = LoadKubeConfigFiles(opts);
  if (files) return ResolveContext(*files, opts.context);
  if (files.error().code != ErrorCode::kNotFound || !opts.kubeconfig.empty())
    return Fail(files.error());
  auto in = InClusterConnection(opts);
  if (in) return in;
  return Fail(ErrorCode::kNotFound, files.error().message + "; " + in.error().message);
}

}  // namespace berth::kube
