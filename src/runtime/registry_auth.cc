#include "runtime/registry_auth.h"

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include <cstdlib>

#include "util/base64.h"
#include "util/fs.h"
#include "util/process.h"

namespace berth::runtime {
namespace {

using nlohmann::json;

// A helper name becomes part of a program name: letters, digits, - _ . only.
bool SafeHelperName(std::string_view n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
      return false;
  return true;
}

std::string StrOf(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

std::string RegistryOf(std::string_view ref) {
  auto slash = ref.find('/');
  if (slash == std::string_view::npos) return "docker.io";
  std::string_view first = ref.substr(0, slash);
  if (first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos ||
      first == "localhost")
    return std::string(first);
  return "docker.io";
}

std::string NormalizeRegistryKey(std::string_view key) {
  if (key.rfind("https://", 0) == 0)
    key.remove_prefix(8);
  else if (key.rfind("http://", 0) == 0)
    key.remove_prefix(7);
  if (auto slash = key.find('/'); slash != std::string_view::npos) key = key.substr(0, slash);
  std::string k(key);
  if (k == "index.docker.io" || k == "registry-1.docker.io") k = "docker.io";
  return k;
}

std::string XRegistryAuth(const RegistryCredential& c) {
  json j = json::object();
  if (!c.identity_token.empty()) {
    j["identitytoken"] = c.identity_token;
  } else {
    j["username"] = c.username;
    j["password"] = c.password;
  }
  j["serveraddress"] = c.registry;
  std::string b = util::Base64Encode(j.dump());
  for (char& ch : b) {
    if (ch == '+') ch = '-';
    if (ch == '/') ch = '_';
  }
  return b;
}

RegistryCredentials::RegistryCredentials(std::vector<RegistryLogin> logins,
                                         std::string docker_config_dir,
                                         std::chrono::milliseconds helper_deadline)
    : logins_(std::move(logins)),
      docker_config_dir_(std::move(docker_config_dir)),
      helper_deadline_(helper_deadline) {}

std::string RegistryCredentials::ConfigPath() const {
  std::string dir = docker_config_dir_;
  if (dir.empty())
    if (const char* d = std::getenv("DOCKER_CONFIG"); d && *d) dir = d;
  if (dir.empty()) {
    const char* home = std::getenv("HOME");
    if (!home || !*home) return "";
    dir = std::string(home) + "/.docker";
  }
  return dir + "/config.json";
}

Result<std::optional<RegistryCredential>> RegistryCredentials::FromHelper(
    const std::string& helper, const std::string& registry, const std::string& source) const {
  if (!SafeHelperName(helper))
    return Fail(ErrorCode::kInvalidArgument,
                source + ": credential helper name \"" + helper + "\" is not a plain name");
  const std::string program = "docker-credential-" + helper;
  auto r = util::RunCommand({program, "get"}, helper_deadline_, {}, registry);
  if (!r) return Fail(ErrorCode::kUnavailable, program + ": " + r.error().message);
  if (r->timed_out)
    return Fail(ErrorCode::kUnavailable, program + " get: no answer within " +
                                             std::to_string(helper_deadline_.count()) + " ms");
  if (r->exit_code != 0) {
    // The protocol's "not found" is a normal answer: no credential for this registry.
    if (r->out.find("credentials not found") != std::string::npos ||
        r->err.find("credentials not found") != std::string::npos)
      return std::optional<RegistryCredential>{};
    std::string why = r->err.empty() ? r->out : r->err;
    if (why.size() > 200) why.resize(200);
    return Fail(ErrorCode::kUnavailable,
                program + " get failed (exit " + std::to_string(r->exit_code) + "): " + why);
  }
  json j = json::parse(r->out, nullptr, false);
  if (!j.is_object())
    return Fail(ErrorCode::kUnavailable, program + " get: the answer is not a JSON object");
  RegistryCredential c;
  c.registry = registry;
  c.username = StrOf(j, "Username");
  c.password = StrOf(j, "Secret");
  c.source = source;
  // The helper protocol's way of returning an identity token.
  if (c.username == "<token>") {
    c.identity_token = c.password;
    c.username.clear();
    c.password.clear();
  }
  return std::optional<RegistryCredential>(std::move(c));
}

Result<std::optional<RegistryCredential>> RegistryCredentials::For(
    const std::string& registry) const {
  const std::string want = NormalizeRegistryKey(registry);
  for (const auto& l : logins_) {
    if (NormalizeRegistryKey(l.registry) != want) continue;
    RegistryCredential c;
    c.registry = registry;
    c.username = l.username;
    c.password = l.password;
    c.source = "berth.toml [registries.\"" + l.registry + "\"]";
    if (!l.password_file.empty()) {
      auto p = util::ReadFile(l.password_file);
      if (!p)
        return Fail(ErrorCode::kUnavailable, c.source + ": reading password_file " +
                                                 l.password_file + ": " + p.error().message);
      c.password = *p;
      while (!c.password.empty() && (c.password.back() == '\n' || c.password.back() == '\r'))
        c.password.pop_back();
    }
    return std::optional<RegistryCredential>(std::move(c));
  }
  const std::string path = ConfigPath();
  if (path.empty() || !util::PathExists(path)) return std::optional<RegistryCredential>{};
  auto text = util::ReadFile(path);
  if (!text) return Fail(ErrorCode::kUnavailable, "reading " + path + ": " + text.error().message);
  json cfg = json::parse(*text, nullptr, false);
  if (!cfg.is_object())
    return Fail(ErrorCode::kUnavailable, path + " is not a JSON object; fix or remove it");
  if (auto helpers = cfg.find("credHelpers"); helpers != cfg.end() && helpers->is_object())
    for (const auto& [key, helper] : helpers->items())
      if (NormalizeRegistryKey(key) == want && helper.is_string())
        return FromHelper(helper.get<std::string>(), registry, path + " credHelpers");
  if (auto store = StrOf(cfg, "credsStore"); !store.empty()) {
    auto c = FromHelper(store, registry, path + " credsStore");
    if (!c || *c) return c;  // not found there: auths may still have it
  }
  if (auto auths = cfg.find("auths"); auths != cfg.end() && auths->is_object()) {
    for (const auto& [key, entry] : auths->items()) {
      if (NormalizeRegistryKey(key) != want || !entry.is_object()) continue;
      RegistryCredential c;
      c.registry = registry;
      c.source = path + " auths";
      c.identity_token = StrOf(entry, "identitytoken");
      if (auto a = StrOf(entry, "auth"); !a.empty()) {
        auto decoded = util::Base64Decode(a);
        auto colon = decoded ? decoded->find(':') : std::string::npos;
        if (!decoded || colon == std::string::npos)
          return Fail(ErrorCode::kUnavailable,
                      path + ": auths[\"" + key + "\"].auth is not base64 of user:password");
        c.username = decoded->substr(0, colon);
        c.password = decoded->substr(colon + 1);
      } else {
        c.username = StrOf(entry, "username");
        c.password = StrOf(entry, "password");
      }
      if (c.username.empty() && c.identity_token.empty()) continue;
      return std::optional<RegistryCredential>(std::move(c));
    }
  }
  return std::optional<RegistryCredential>{};
}

std::string RegistryCredentials::SourcesSignature() const {
  std::string sig;
  auto add = [&sig](const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      sig += "-;";
      return;
    }
    sig += std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
           std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
           std::to_string(st.st_mtim.tv_nsec) + ";";
  };
  add(ConfigPath());
  for (const auto& l : logins_)
    if (!l.password_file.empty()) add(l.password_file);
  return sig;
}

Result<std::vector<RegistryCredential>> RegistryCredentials::All() const {
  // Helpers may hand out short-lived tokens: even unchanged files are read again after 30 s.
  constexpr auto kReuseFor = std::chrono::seconds(30);
  const std::string sig = SourcesSignature();
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard l(cache_mu_);
    if (cache_ && sig == cache_signature_ && now - cache_at_ < kReuseFor) return *cache_;
  }
  auto all = Collect();
  if (!all) return all;  // errors are never reused: the next call tries again
  std::lock_guard l(cache_mu_);
  cache_ = *all;
  cache_signature_ = sig;
  cache_at_ = now;
  return all;
}

Result<std::vector<RegistryCredential>> RegistryCredentials::Collect() const {
  std::vector<std::string> registries;
  for (const auto& l : logins_) registries.push_back(NormalizeRegistryKey(l.registry));
  const std::string path = ConfigPath();
  if (!path.empty() && util::PathExists(path)) {
    auto text = util::ReadFile(path);
    json cfg = text ? json::parse(*text, nullptr, false) : json();
    for (const char* section : {"auths", "credHelpers"})
      if (cfg.is_object())
        if (auto it = cfg.find(section); it != cfg.end() && it->is_object())
          for (const auto& [key, v] : it->items()) registries.push_back(NormalizeRegistryKey(key));
  }
  std::vector<RegistryCredential> out;
  std::vector<std::string> done;
  for (const auto& r : registries) {
    if (std::find(done.begin(), done.end(), r) != done.end()) continue;
    done.push_back(r);
    auto c = For(r);
    if (!c) return Fail(c.error());
    if (*c) out.push_back(std::move(**c));
  }
  return out;
}

}  // namespace berth::runtime
