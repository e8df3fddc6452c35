// Registry credentials the way the Docker CLI finds them, so an image from a private registry
// (the original's Harbor) pulls with the same login a developer already has:
//   1. berth.toml's [registries."host"] table (username + password or password_file);
//   2. $DOCKER_CONFIG/config.json (else ~/.docker/config.json): credHelpers[host], then
//      credsStore (each runs `docker-credential-<helper> get` with the host on stdin), then
//      auths[host].auth / identitytoken.
// The file is read again on every lookup: a `docker login` (or a rotated secret) takes effect
// on the next pull without a restart. All() (every Kubernetes apply asks for it) reuses its last
// answer while config.json and the password files are unchanged, for at most 30 s, so
// credential helpers do not run once per rollout.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/config.h"
#include "berth/result.h"

namespace berth::runtime {

struct RegistryCredential {
  std::string registry;  // "127.0.0.1:5000", "docker.io"
  std::string username;
  std::string password;
  std::string identity_token;  // an OAuth refresh token (instead of a password)
  std::string source;          // where it came from, for messages: "berth.toml", "credHelpers"...
};

// The registry host of an image reference, as Docker decides it: the first path component
// when it has a "." or ":" or is "localhost", else "docker.io".
std::string RegistryOf(std::string_view image_ref);

// The value of Docker's X-Registry-Auth header for `c` (base64url of its JSON).
std::string XRegistryAuth(const RegistryCredential& c);

class RegistryCredentials {
 public:
  // `docker_config_dir` "" = $DOCKER_CONFIG, else $HOME/.docker.
  RegistryCredentials(std::vector<RegistryLogin> logins, std::string docker_config_dir,
                      std::chrono::milliseconds helper_deadline = std::chrono::seconds(10));

  // The credential for `registry`, nullopt when none is configured. An error when one is
  // configured but cannot be read (a broken config.json, a helper that fails or hangs).
  Result<std::optional<RegistryCredential>> For(const std::string& registry) const;

  // Every registry with a credential (for a Kubernetes dockerconfigjson Secret).
  Result<std::vector<RegistryCredential>> All() const;

 private:
  Result<std::optional<RegistryCredential>> FromHelper(const std::string& helper,
                                                       const std::string& registry,
                                                       const std::string& source) const;
  std::string ConfigPath() const;
  // What All() depends on, as files: config.json and the password files (device, inode, size,
  // modification time); a rewrite (atomic or in place) changes it.
  std::string SourcesSignature() const;
  Result<std::vector<RegistryCredential>> Collect() const;

  std::vector<RegistryLogin> logins_;
  std::string docker_config_dir_;
  std::chrono::milliseconds helper_deadline_;
  mutable std::mutex cache_mu_;
  mutable std::string cache_signature_;
  mutable std::chrono::steady_clock::time_point cache_at_;
  mutable std::optional<std::vector<RegistryCredential>> cache_;
};

// The config.json "auths" key forms Docker accepts for one host: "host", "https://host",
// "http://host", "https://host/v1/"...; docker.io is also "https://index.docker.io/v1/".
std::string NormalizeRegistryKey(std::string_view key);

}  // namespace berth::runtime
