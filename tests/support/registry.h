// A real image registry (Debian's docker-registry, distribution 2.8) on a free loopback port,
// plain HTTP, storing in its own temp dir; stopped and removed in the destructor. Podman must
// be told it is insecure: PodmanOptions::insecure_registries = {registry->address()}.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "berth/result.h"
#include "util/fs.h"
#include "util/process.h"

namespace berth::testing {

struct RegistryOptions {
  // Set: the registry asks for this login (htpasswd, bcrypt), as a private registry does.
  std::string username;
  std::string password;
  // https with a server certificate from a throw-away test CA (ca_file()).
  bool tls = false;
  std::chrono::milliseconds timeout = std::chrono::seconds(30);
};

class Registry {
 public:
  static Result<std::unique_ptr<Registry>> Start(RegistryOptions opts);
  // kUnavailable when /usr/bin/docker-registry is missing or does not answer GET /v2/.
  static Result<std::unique_ptr<Registry>> Start(
      std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // True when BERTH_TEST_SKIP_REGISTRY=1 (or BERTH_TEST_SKIP_PODMAN=1).
  static bool SkipRequested();

  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }  // no scheme
  int port() const { return port_; }
  const std::string& username() const { return opts_.username; }
  const std::string& password() const { return opts_.password; }
  bool tls() const { return opts_.tls; }
  std::string ca_file() const { return dir_->path() + "/ca.crt"; }
  std::string LogTail(size_t bytes = 4000) const;

 private:
  Registry() = default;
  Status Launch(std::chrono::milliseconds timeout);
  Status WriteSecrets();  // htpasswd and certificates, once

  RegistryOptions opts_;
  std::unique_ptr<util::TempDir> dir_;
  util::Subprocess proc_;
  int port_ = 0;
  std::string log_path_;
};

}  // namespace berth::testing
