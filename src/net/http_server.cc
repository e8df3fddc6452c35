#include "net/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>

#include <spdlog/spdlog.h>
#include <cstring>
#include <vector>

#include "util/fs.h"
#include "util/strings.h"

namespace berth::net {
namespace {

constexpr size_t kMaxBody = 1 << 20;  // 1 MiB: specs are small; bigger is a mistake or abuse

// Why a thread per connection, bounded, rather than MHD's event loop: handlers block (store
// writes, engine calls, log follows and watch streams that wait for data), and MHD's internal
// polling modes call them on the loop's own threads, where one slow handler or stream stalls
// every connection of that thread; making them all asynchronous (suspend/resume) would touch
// every handler. A thread per connection keeps handlers independent, and the three bounds make
// it safe: a connection limit per listener (so threads are bounded), a per-client limit on TCP
// (so one client cannot take the whole listener), and an idle timeout (so connections that
// never finish their request go away). docs/configuration.md, "API listeners".
struct ConnCtx {
  std::string target;  // the request target as sent: path?query, still percent-encoded
  bool started = false;
  std::string body;
  bool too_large = false;
  // Spooled body (SpoolRule): the file, its size so far, the limit and the first write error.
  util::UniqueFd spool;
  int64_t spooled = 0;
  int64_t spool_max = 0;
  std::string spool_error;
};

struct StreamCtx {
  std::unique_ptr<BodyStream> stream;
  std::string pending;
  size_t offset = 0;
};

MHD_Result CollectKv(void* cls, enum MHD_ValueKind, const char* key, const char* value) {
  auto* m = static_cast<std::map<std::string, std::string>*>(cls);
  if (key) (*m)[key] = value ? value : "";
  return MHD_YES;
}

MHD_Result CollectHeader(void* cls, enum MHD_ValueKind, const char* key, const char* value) {
  auto* m = static_cast<std::map<std::string, std::string>*>(cls);
  if (key) (*m)[util::ToLower(key)] = value ? value : "";
  return MHD_YES;
}

ssize_t StreamReader(void* cls, uint64_t, char* buf, size_t max) {
  auto* ctx = static_cast<StreamCtx*>(cls);
  while (ctx->offset >= ctx->pending.size()) {
    ctx->pending.clear();
    ctx->offset = 0;
    if (!ctx->stream->Next(ctx->pending)) return MHD_CONTENT_READER_END_OF_STREAM;
  }
  size_t n = std::min(max, ctx->pending.size() - ctx->offset);
  std::memcpy(buf, ctx->pending.data() + ctx->offset, n);
  ctx->offset += n;
  return static_cast<ssize_t>(n);
}

// The user of the process at the other end of a unix socket (SO_PEERCRED); "" if unknown.
std::string PeerUser(MHD_Connection* conn) {
  const MHD_ConnectionInfo* ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  if (!ci) return "";
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return "";
  passwd pw{};
  passwd* found = nullptr;
  char buf[1024];
  if (::getpwuid_r(cred.uid, &pw, buf, sizeof buf, &found) == 0 && found) return pw.pw_name;
  return "uid " + std::to_string(cred.uid);
}

// "unix", or the client's IPv4 address.
std::string PeerOf(MHD_Connection* conn) {
  const MHD_ConnectionInfo* ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET) {
    char buf[INET_ADDRSTRLEN];
    auto* sin = reinterpret_cast<const sockaddr_in*>(ci->client_addr);
    inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf);
    return buf;
  }
  return "unix";
}

void StreamFree(void* cls) {
  delete static_cast<StreamCtx*>(cls);
}

// libmicrohttpd's own messages (mostly clients that hang up mid-stream) are debug detail.
void LogMhd(void*, const char* fmt, va_list ap) {
  char buf[512];
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  spdlog::debug("http: {}", buf);
}

}  // namespace

struct HttpServer::Impl {
  // One per daemon: the callbacks' context.
  struct Listener {
    Impl* impl = nullptr;
    ListenerLimits limits;
  };
  Handler handler;
  SpoolRule spool_rule;
  std::string spool_dir;
  std::vector<MHD_Daemon*> daemons;
  std::vector<std::unique_ptr<Listener>> listeners;
  std::vector<std::string> unix_paths;

  // Called with the raw request target before MHD decodes it: MHD's decoding stops at a %00,
  // which would answer "/x%00" as "/x". Its result is the request's context.
  static void* LogUri(void*, const char* uri, MHD_Connection*) {
    auto* ctx = new ConnCtx();
    ctx->target = uri ? uri : "";
    return ctx;
  }

  static ServerResponse BadPath() {
    return ServerResponse::Json(
        400,
        R"({"error":{"code":"InvalidArgument","message":"request path has a bad escape or a control character"}})");
  }

  static MHD_Result Access(void* cls, MHD_Connection* conn, const char*, const char* method,
                           const char*, const char* upload_data, size_t* upload_size,
                           void** con_cls) {
    auto* listener = static_cast<Listener*>(cls);
    auto* ctx = static_cast<ConnCtx*>(*con_cls);
    if (!ctx) return MHD_NO;  // LogUri always runs first
    if (!ctx->started) {
      ctx->started = true;
      if (listener->impl->spool_rule) {
        std::map<std::string, std::string> headers;
        MHD_get_connection_values(conn, MHD_HEADER_KIND, &CollectHeader, &headers);
        int64_t max = listener->impl->spool_rule(method, ctx->target, headers, PeerOf(conn));
        if (max > 0) {
          ctx->spool_max = max;
          ctx->spool = util::UniqueFd(
              ::open(listener->impl->spool_dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
          if (!ctx->spool)
            ctx->spool_error = "cannot spool the request body in " + listener->impl->spool_dir +
                               ": " + std::strerror(errno);
        }
      }
      return MHD_YES;
    }
    if (*upload_size > 0 && ctx->spool_max > 0) {
      // Past the limit or after an error the rest is read and dropped: the answer comes at the end.
      if (ctx->spool_error.empty() &&
          ctx->spooled + static_cast<int64_t>(*upload_size) > ctx->spool_max)
        ctx->too_large = true;
      if (!ctx->too_large && ctx->spool_error.empty()) {
        const char* p = upload_data;
        size_t left = *upload_size;
        while (left > 0) {
          ssize_t w = ::write(ctx->spool.get(), p, left);
          if (w < 0 && errno == EINTR) continue;
          if (w < 0) {
            ctx->spool_error = std::string("spooling the request body: ") + std::strerror(errno);
            break;
          }
          p += w;
          left -= static_cast<size_t>(w);
        }
        ctx->spooled += static_cast<int64_t>(*upload_size);
      }
      *upload_size = 0;
      return MHD_YES;
    }
    if (*upload_size > 0) {
      if (ctx->body.size() + *upload_size > kMaxBody)
        ctx->too_large = true;
      else
        ctx->body.append(upload_data, *upload_size);
      *upload_size = 0;
      return MHD_YES;
    }
    ServerRequest req;
    const std::string raw_path = ctx->target.substr(0, ctx->target.find('?'));
    const bool path_ok = util::UrlDecode(raw_path, req.path) &&
                         std::none_of(req.path.begin(), req.path.end(), [](char c) {
                           return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
                         });
    ServerResponse resp;
    if (ctx->too_large) {
      const std::string limit =
          ctx->spool_max > 0 ? std::to_string(ctx->spool_max) + " bytes" : std::string("1 MiB");
      resp = ServerResponse::Json(
          413,
          R"({"error":{"code":"InvalidArgument","message":"request body over )" + limit + R"("}})");
    } else if (!ctx->spool_error.empty()) {
      resp = ServerResponse::Json(
          503, R"({"error":{"code":"Unavailable","message":")" + ctx->spool_error + R"("}})");
    } else if (!path_ok) {
      resp = BadPath();
    } else {
      req.method = method;
      req.body = std::move(ctx->body);
      if (ctx->spool) {
        req.body_fd = ctx->spool.get();
        req.body_size = ctx->spooled;
      }
      MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, &CollectKv, &req.query);
      MHD_get_connection_values(conn, MHD_HEADER_KIND, &CollectHeader, &req.headers);
      req.peer = PeerOf(conn);
      if (req.peer == "unix") req.peer_user = PeerUser(conn);
      // The idle timeout is for the client's silence, not the handler's work: MHD would close
      // a connection whose handler ran longer than the timeout before sending its answer.
      MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
      try {
        resp = listener->impl->handler(req);
      } catch (const std::exception& e) {
        resp = ServerResponse::Json(
            500, std::string(R"({"error":{"code":"Internal","message":"unexpected error"}})"));
      }
      // A stream stays exempt: a follow may be silent for hours. From 0, MHD restarts the clock.
      if (!resp.stream)
        MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT,
                                  listener->limits.idle_timeout_seconds);
    }
    MHD_Response* r = nullptr;
    if (resp.stream) {
      auto* sctx = new StreamCtx();
      sctx->stream = std::move(resp.stream);
      r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, &StreamReader, sctx,
                                            &StreamFree);
    } else {
      r = MHD_create_response_from_buffer(resp.body.size(), resp.body.data(),
                                          MHD_RESPMEM_MUST_COPY);
    }
    for (const auto& [k, v] : resp.headers) MHD_add_response_header(r, k.c_str(), v.c_str());
    MHD_Result ret = MHD_queue_response(conn, static_cast<unsigned>(resp.status), r);
    MHD_destroy_response(r);
    return ret;
  }

  static void Completed(void* cls, MHD_Connection* conn, void** con_cls,
                        enum MHD_RequestTerminationCode) {
    delete static_cast<ConnCtx*>(*con_cls);
    *con_cls = nullptr;
    // A kept-alive connection after a stream waits for its next request under the timeout again.
    if (conn)
      MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT,
                                static_cast<Listener*>(cls)->limits.idle_timeout_seconds);
  }

  Status Start(int fd, const std::string& what, const ListenerLimits& limits) {
    auto listener = std::make_unique<Listener>();
    listener->impl = this;
    listener->limits = limits;
    MHD_Daemon* d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
            MHD_USE_ERROR_LOG,
        0, nullptr, nullptr, &Access, listener.get(), MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_URI_LOG_CALLBACK, &LogUri, nullptr, MHD_OPTION_NOTIFY_COMPLETED, &Completed,
        listener.get(), MHD_OPTION_CONNECTION_LIMIT, limits.max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, limits.max_connections_per_client,
        MHD_OPTION_CONNECTION_TIMEOUT, limits.idle_timeout_seconds,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, limits.connection_memory_bytes,
        MHD_OPTION_EXTERNAL_LOGGER, &LogMhd, nullptr, MHD_OPTION_END);
    if (!d) {
      ::close(fd);
      return Fail(ErrorCode::kUnavailable, "cannot start HTTP server on " + what);
    }
    daemons.push_back(d);
    listeners.push_back(std::move(listener));
    return {};
  }
};

HttpServer::HttpServer(Handler handler) : impl_(std::make_unique<Impl>()) {
  impl_->handler = std::move(handler);
}

HttpServer::~HttpServer() {
  Stop();
}

void HttpServer::SetSpoolRule(SpoolRule rule, std::string dir) {
  impl_->spool_rule = std::move(rule);
  impl_->spool_dir = std::move(dir);
}

Status HttpServer::ListenUnix(const std::string& path, const ListenerLimits& limits) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path))
    return Fail(ErrorCode::kInvalidArgument, "socket path too long: " + path);
  auto dir = path.substr(0, path.rfind('/'));
  if (!dir.empty())
    if (auto s = util::MakeDirs(dir, 0755); !s) return s;
  // A stale socket from a killed daemon is replaced; a live one means another server runs.
  if (util::PathExists(path)) {
    int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    bool live = ::connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(probe);
    if (live) return Fail(ErrorCode::kAlreadyExists, "another berth serve is listening on " + path);
    ::unlink(path.c_str());
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Fail(ErrorCode::kUnavailable, std::string("socket: ") + std::strerror(errno));
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 128) != 0) {
    int e = errno;
    ::close(fd);
    return Fail(ErrorCode::kUnavailable, "cannot listen on " + path + ": " + std::strerror(e));
  }
  ::chmod(path.c_str(), 0660);
  impl_->unix_paths.push_back(path);
  ListenerLimits unix_limits = limits;
  unix_limits.max_connections_per_client = 0;  // every unix client has the same (no) address
  return impl_->Start(fd, path, unix_limits);
}

Status HttpServer::ListenTcp(const std::string& address, const ListenerLimits& limits) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos)
    return Fail(ErrorCode::kInvalidArgument, "listen address must be host:port, not " + address);
  std::string host = address.substr(0, colon);
  if (host.empty()) host = "0.0.0.0";
  int port = 0;
  try {
    port = std::stoi(address.substr(colon + 1));
  } catch (...) {
  }
  if (port < 1 || port > 65535) return Fail(ErrorCode::kInvalidArgument, "bad port in " + address);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &sin.sin_addr) != 1)
    return Fail(ErrorCode::kInvalidArgument, "listen host must be an IPv4 address: " + host);
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0 || ::listen(fd, 128) != 0) {
    int e = errno;
    ::close(fd);
    return Fail(ErrorCode::kUnavailable, "cannot listen on " + address + ": " + std::strerror(e));
  }
  return impl_->Start(fd, address, limits);
}

void HttpServer::Stop() {
  for (auto* d : impl_->daemons) MHD_stop_daemon(d);
  impl_->daemons.clear();
  impl_->listeners.clear();
  for (const auto& p : impl_->unix_paths) ::unlink(p.c_str());
  impl_->unix_paths.clear();
}

}  // namespace berth::net
