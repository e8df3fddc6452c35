// OpenStore: picks a backend from a URL.
//   sqlite:///var/lib/berth/berth.db[?sync=full|normal&keep=10000]
//   etcd://host:port[,host:port...]
//   etcd+https://host:port[,...][?ca=/path&cert=/path&key=/path]
//     (TLS files default to $BERTH_ETCD_CA, $BERTH_ETCD_CERT, $BERTH_ETCD_KEY)
#include <cstdlib>
#include <map>

#include "berth/store.h"
#include "berth/validate.h"
#include "store/etcd_store.h"
#include "store/sqlite_store.h"
#include "util/strings.h"

namespace berth::store {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size() || HexValue(s[i + 1]) < 0 || HexValue(s[i + 2]) < 0) {
      return Fail(ErrorCode::kInvalidArgument, "bad percent-escape in store URL");
    }
    out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
    i += 2;
  }
  if (out.find('\0') != std::string::npos) {
    return Fail(ErrorCode::kInvalidArgument, "NUL byte in store URL");
  }
  return out;
}

Result<std::map<std::string, std::string>> ParseQuery(std::string_view q) {
  std::map<std::string, std::string> out;
  for (const auto& part : util::Split(q, '&')) {
    auto eq = part.find('=');
    auto key = PercentDecode(std::string_view(part).substr(0, eq));
    auto value =
        PercentDecode(eq == std::string::npos ? "" : std::string_view(part).substr(eq + 1));
    if (!key) return Fail(key.error());
    if (!value) return Fail(value.error());
    out[*key] = *value;
  }
  return out;
}

Result<int64_t> ParseInt(const std::string& s, const std::string& what) {
  try {
    size_t used = 0;
    int64_t v = std::stoll(s, &used);
    if (used == s.size() && v >= 0) return v;
  } catch (...) {
  }
  return Fail(ErrorCode::kInvalidArgument, "store URL: bad " + what + " '" + s + "'");
}

Result<std::unique_ptr<Store>> OpenSqlite(std::string_view rest) {
  auto qpos = rest.find('?');
  auto path = PercentDecode(rest.substr(0, qpos));
  if (!path) return Fail(path.error());
  if (path->empty() || (*path)[0] != '/') {
    return Fail(ErrorCode::kInvalidArgument,
                "sqlite store URL needs an absolute path: sqlite:///var/lib/berth/berth.db");
  }
  SqliteStoreOptions opts;
  opts.path = *path;
  if (qpos != std::string_view::npos) {
    auto q = ParseQuery(rest.substr(qpos + 1));
    if (!q) return Fail(q.error());
    for (const auto& [k, v] : *q) {
      if (k == "sync") {
        if (v != "full" && v != "normal") {
          return Fail(ErrorCode::kInvalidArgument, "sqlite store URL: sync must be full|normal");
        }
        opts.synchronous_full = v == "full";
      } else if (k == "keep") {
        auto n = ParseInt(v, "keep");
        if (!n) return Fail(n.error());
        opts.keep_revisions = *n;
      } else {
        return Fail(ErrorCode::kInvalidArgument, "sqlite store URL: unknown option " + k);
      }
    }
  }
  auto s = SqliteStore::Open(std::move(opts));
  if (!s) return Fail(s.error());
  return std::unique_ptr<Store>(std::move(*s));
}

// "host:port" or "[v6]:port" -> validated "host:port" for a URL.
Result<std::string> ParseHostPort(const std::string& hp) {
  std::string host;
  std::string port;
  if (!hp.empty() && hp[0] == '[') {
    auto close = hp.find(']');
    if (close == std::string::npos || close + 1 >= hp.size() || hp[close + 1] != ':') {
      return Fail(ErrorCode::kInvalidArgument, "etcd endpoint '" + hp + "': want [v6]:port");
    }
    host = hp.substr(1, close - 1);
    port = hp.substr(close + 2);
    if (auto st = ValidateHostIp(host); !st) return Fail(st.error());
    host = "[" + host + "]";
  } else {
    auto colon = hp.rfind(':');
    if (colon == std::string::npos) {
      return Fail(ErrorCode::kInvalidArgument, "etcd endpoint '" + hp + "': want host:port");
    }
    host = hp.substr(0, colon);
    port = hp.substr(colon + 1);
    if (!ValidateHostIp(host) && !ValidateDomain(host)) {
      return Fail(ErrorCode::kInvalidArgument, "etcd endpoint '" + hp + "': bad host");
    }
  }
  auto p = ParseInt(port, "port");
  if (!p) return Fail(p.error());
  if (auto st = ValidatePort(static_cast<int>(*p)); !st || *p > 65535) {
    return Fail(ErrorCode::kInvalidArgument, "etcd endpoint '" + hp + "': bad port");
  }
  return host + ":" + std::to_string(*p);
}

std::string EnvOr(const std::map<std::string, std::string>& q, const std::string& key,
                  const char* env) {
  if (auto it = q.find(key); it != q.end()) return it->second;
  const char* v = std::getenv(env);
  return v ? v : "";
}

Result<std::unique_ptr<Store>> OpenEtcd(std::string_view rest, bool tls) {
  auto qpos = rest.find('?');
  std::map<std::string, std::string> q;
  if (qpos != std::string_view::npos) {
    auto parsed = ParseQuery(rest.substr(qpos + 1));
    if (!parsed) return Fail(parsed.error());
    q = std::move(*parsed);
  }
  std::string hosts(rest.substr(0, qpos));
  while (!hosts.empty() && hosts.back() == '/') hosts.pop_back();
  EtcdStoreOptions opts;
  for (const auto& hp : util::Split(hosts, ',')) {
    auto ep = ParseHostPort(util::Trim(hp));
    if (!ep) return Fail(ep.error());
    opts.endpoints.push_back((tls ? "https://" : "http://") + *ep);
  }
  if (opts.endpoints.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "etcd store URL has no endpoints: etcd://host:port");
  }
  for (const auto& [k, v] : q) {
    if (k != "ca" && k != "cert" && k != "key") {
      return Fail(ErrorCode::kInvalidArgument, "etcd store URL: unknown option " + k);
    }
    if (!tls)
      return Fail(ErrorCode::kInvalidArgument, "etcd store URL: " + k + " needs etcd+https://");
  }
  if (tls) {
    opts.tls.ca_file = EnvOr(q, "ca", "BERTH_ETCD_CA");
    opts.tls.cert_file = EnvOr(q, "cert", "BERTH_ETCD_CERT");
    opts.tls.key_file = EnvOr(q, "key", "BERTH_ETCD_KEY");
    for (const auto* f : {&opts.tls.ca_file, &opts.tls.cert_file, &opts.tls.key_file}) {
      if (!f->empty() && (*f)[0] != '/') {
        return Fail(ErrorCode::kInvalidArgument, "etcd TLS file must be an absolute path: " + *f);
      }
    }
  }
  auto s = EtcdStore::Open(std::move(opts));
  if (!s) return Fail(s.error());
  return std::unique_ptr<Store>(std::move(*s));
}

}  // namespace

Result<std::unique_ptr<Store>> OpenStore(const std::string& url) {
  constexpr std::string_view kSqlite = "sqlite://";
  constexpr std::string_view kEtcd = "etcd://";
  constexpr std::string_view kEtcdTls = "etcd+https://";
  std::string_view u(url);
  if (util::StartsWith(u, kSqlite)) return OpenSqlite(u.substr(kSqlite.size()));
  if (util::StartsWith(u, kEtcd)) return OpenEtcd(u.substr(kEtcd.size()), false);
  if (util::StartsWith(u, kEtcdTls)) return OpenEtcd(u.substr(kEtcdTls.size()), true);
  return Fail(ErrorCode::kInvalidArgument,
              "unknown store URL '" + url +
                  "': want sqlite:///path/berth.db or etcd://host:port[,host:port]");
}

}  // namespace berth::store
