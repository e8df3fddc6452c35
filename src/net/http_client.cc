#include "net/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>

#include "net/curl_connection.h"
#include "util/strings.h"

namespace berth::net {
namespace {

std::once_flag g_curl_init;

struct CurlSlist {
  curl_slist* list = nullptr;
  ~CurlSlist() {
    if (list) curl_slist_free_all(list);
  }
  void Add(const std::string& s) { list = curl_slist_append(list, s.c_str()); }
};

// An error answer's body is kept up to this size.
constexpr size_t kMaxErrorBody = 64 * 1024;

struct StreamCtx {
  CURL* curl = nullptr;
  const ChunkFn* on_chunk = nullptr;
  std::string* body = nullptr;
  std::map<std::string, std::string>* headers = nullptr;
  bool stopped = false;
  long status = 0;
};

size_t WriteCb(char* ptr, size_t size, size_t n, void* ud) {
  auto* ctx = static_cast<StreamCtx*>(ud);
  size_t len = size * n;
  if (ctx->on_chunk && ctx->status == 0) {
    // The status line has been read before the first byte of body.
    curl_easy_getinfo(ctx->curl, CURLINFO_RESPONSE_CODE, &ctx->status);
  }
  if (ctx->on_chunk && (ctx->status < 200 || ctx->status >= 300)) {
    if (ctx->body->size() < kMaxErrorBody)
      ctx->body->append(ptr, std::min(len, kMaxErrorBody - ctx->body->size()));
  } else if (ctx->on_chunk) {
    if (!(*ctx->on_chunk)(std::string_view(ptr, len))) {
      ctx->stopped = true;
      return 0;  // aborts the transfer
    }
  } else {
    ctx->body->append(ptr, len);
  }
  return len;
}

size_t HeaderCb(char* ptr, size_t size, size_t n, void* ud) {
  auto* ctx = static_cast<StreamCtx*>(ud);
  std::string_view line(ptr, size * n);
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    (*ctx->headers)[util::ToLower(line.substr(0, colon))] = util::Trim(line.substr(colon + 1));
  }
  return size * n;
}

void SetBlob(CURL* c, CURLoption opt, const std::string& pem) {
  curl_blob blob{};
  blob.data = const_cast<char*>(pem.data());
  blob.len = pem.size();
  blob.flags = CURL_BLOB_COPY;
  curl_easy_setopt(c, opt, &blob);
}

}  // namespace

void EnsureCurlInitialised() {
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

void ApplyConnectionOptions(CURL* c, const ClientOptions& opts, const std::string& url) {
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
  if (!opts.unix_socket.empty())
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, opts.unix_socket.c_str());
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opts.connect_timeout.count()));
  const auto& tls = opts.tls;
  if (!tls.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, tls.ca_file.c_str());
  if (!tls.ca_pem.empty()) SetBlob(c, CURLOPT_CAINFO_BLOB, tls.ca_pem);
  if (!tls.cert_file.empty()) curl_easy_setopt(c, CURLOPT_SSLCERT, tls.cert_file.c_str());
  if (!tls.cert_pem.empty()) SetBlob(c, CURLOPT_SSLCERT_BLOB, tls.cert_pem);
  if (!tls.key_file.empty()) curl_easy_setopt(c, CURLOPT_SSLKEY, tls.key_file.c_str());
  if (!tls.key_pem.empty()) SetBlob(c, CURLOPT_SSLKEY_BLOB, tls.key_pem);
  if (tls.insecure_skip_verify) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
}

struct HttpClient::Impl {
  CURL* curl = nullptr;
  std::atomic<bool> cancel{false};
  ~Impl() {
    if (curl) curl_easy_cleanup(curl);
  }
};

HttpClient::HttpClient(ClientOptions opts)
    : opts_(std::move(opts)), impl_(std::make_unique<Impl>()) {
  EnsureCurlInitialised();
  impl_->curl = curl_easy_init();
}

HttpClient::~HttpClient() = default;

void HttpClient::Cancel() {
  impl_->cancel = true;
}

Result<HttpResponse> HttpClient::Send(const HttpRequest& req) {
  return Stream(req, nullptr);
}

Result<HttpResponse> HttpClient::Stream(const HttpRequest& req, const ChunkFn& on_chunk) {
  CURL* c = impl_->curl;
  if (!c) return Fail(ErrorCode::kInternal, "curl_easy_init failed");
  curl_easy_reset(c);
  HttpResponse resp;
  StreamCtx ctx;
  ctx.curl = c;
  ctx.on_chunk = on_chunk ? &on_chunk : nullptr;
  ctx.body = &resp.body;
  ctx.headers = &resp.headers;

  std::string url = opts_.base_url + req.path;
  ApplyConnectionOptions(c, opts_, url);
  auto timeout = req.timeout.count() >= 0 ? req.timeout : opts_.timeout;
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, WriteCb);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &ctx);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, HeaderCb);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &ctx);
  // Cancel() and the request's own flag are honoured through the progress callback, which
  // libcurl calls at least once a second even on an idle stream.
  struct CancelFlags {
    const std::atomic<bool>* client;
    const std::atomic<bool>* request;
  } flags{&impl_->cancel, req.cancel};
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &flags);
  curl_easy_setopt(
      c, CURLOPT_XFERINFOFUNCTION,
      +[](void* p, curl_off_t, curl_off_t, curl_off_t, curl_off_t) -> int {
        auto* f = static_cast<CancelFlags*>(p);
        return f->client->load() || (f->request && f->request->load()) ? 1 : 0;
      });

  CurlSlist headers;
  bool has_ct = false;
  for (const auto& [k, v] : req.headers) {
    headers.Add(k + ": " + v);
    if (util::ToLower(k) == "content-type") has_ct = true;
  }
  if (!bearer_.empty()) headers.Add("Authorization: Bearer " + bearer_);
  if (!req.body.empty() && !has_ct) headers.Add("Content-Type: application/json");
  headers.Add("Expect:");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.list);

  if (req.method == "GET") {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else if (req.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    if (!req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.data());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    }
  }

  CURLcode rc = impl_->cancel || (req.cancel && req.cancel->load()) ? CURLE_ABORTED_BY_CALLBACK
                                                                    : curl_easy_perform(c);
  impl_->cancel = false;  // a Cancel() ends one request, the running or the next one
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  if (rc == CURLE_WRITE_ERROR && ctx.stopped) return resp;
  if (rc == CURLE_ABORTED_BY_CALLBACK)
    return Fail(ErrorCode::kUnavailable, "request cancelled: " + req.method + " " + url);
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    if (on_chunk && resp.status != 0) return resp;  // a stream that simply ran its course
    return Fail(ErrorCode::kTimeout, req.method + " " + url + ": timed out");
  }
  // A server that refuses a request (401, 413...) may close the connection while our body is still
  // in flight, cutting the tail of its answer; the status line it sent is still the answer.
  if ((rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR) &&
      resp.status >= 400 && !on_chunk)
    return resp;
  if (rc != CURLE_OK) {
    std::string where = opts_.unix_socket.empty() ? url : (opts_.unix_socket + " (" + url + ")");
    return Fail(ErrorCode::kUnavailable, where + ": " + curl_easy_strerror(rc));
  }
  return resp;
}

bool LineSplitter::Feed(std::string_view chunk, const std::function<bool(std::string_view)>& fn) {
  buf_.append(chunk);
  size_t start = 0;
  while (true) {
    size_t nl = buf_.find('\n', start);
    if (nl == std::string::npos) break;
    std::string_view line(buf_.data() + start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!fn(line)) {
      buf_.erase(0, nl + 1);
      return false;
    }
    start = nl + 1;
  }
  buf_.erase(0, start);
  return true;
}

}  // namespace berth::net
