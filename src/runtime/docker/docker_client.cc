#include "runtime/docker/docker_client.h"

#include <cctype>
#include <cstdlib>

#include "util/fs.h"
#include "util/strings.h"

namespace berth::runtime::docker {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

constexpr milliseconds kPullTimeout{30 * 60 * 1000};

bool Ok(long status) {
  return status >= 200 && status < 300;
}

}  // namespace

std::string PathEscape(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '/' || c == ':' || c == '@' || c == '.' || c == '-' || c == '_') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

Result<Endpoint> ResolveDockerHost(std::string_view docker_host) {
  std::string host(docker_host);
  if (host.empty()) {
    const char* env = std::getenv("DOCKER_HOST");
    if (env && *env) {
      host = env;
    } else if (util::PathExists("/run/podman/podman.sock")) {
      host = "unix:///run/podman/podman.sock";
    } else {
      host = "unix:///var/run/docker.sock";
    }
  }
  Endpoint ep;
  ep.display = host;
  if (util::StartsWith(host, "unix://")) {
    ep.unix_socket = host.substr(7);
    if (ep.unix_socket.empty() || ep.unix_socket[0] != '/')
      return Fail(ErrorCode::kInvalidArgument,
                  "docker host " + host + ": socket path is not absolute");
    ep.base_url = "http://docker";
    return ep;
  }
  std::string rest;
  if (util::StartsWith(host, "tcp://"))
    rest = host.substr(6);
  else if (util::StartsWith(host, "http://"))
    rest = host.substr(7);
  else
    return Fail(
        ErrorCode::kInvalidArgument,
        "docker host " + host + ": expected unix:///path, tcp://host:port or http://host:port");
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.empty() || rest.find_first_of("/?#@ ") != std::string::npos)
    return Fail(ErrorCode::kInvalidArgument, "docker host " + host + ": bad address");
  ep.base_url = "http://" + rest;
  return ep;
}

// Borrows an idle HTTP connection for one call and gives it back afterwards.
class DockerClient::Lease {
 public:
  explicit Lease(DockerClient& c) : c_(c) {
    std::lock_guard lock(c_.mu_);
    if (!c_.idle_.empty()) {
      client_ = std::move(c_.idle_.back());
      c_.idle_.pop_back();
    }
    if (!client_) {
      net::ClientOptions o;
      o.base_url = c_.endpoint_.base_url;
      o.unix_socket = c_.endpoint_.unix_socket;
      client_ = std::make_unique<net::HttpClient>(o);
    }
  }
  ~Lease() {
    std::lock_guard lock(c_.mu_);
    if (c_.idle_.size() < 16) c_.idle_.push_back(std::move(client_));
  }
  net::HttpClient* operator->() { return client_.get(); }

 private:
  DockerClient& c_;
  std::unique_ptr<net::HttpClient> client_;
};

DockerClient::DockerClient(Endpoint endpoint) : endpoint_(std::move(endpoint)) {}
DockerClient::~DockerClient() = default;

Error DockerClient::Unreachable(const Error& e) const {
  if (e.code != ErrorCode::kUnavailable) return e;
  return Error{e.code,
               "cannot reach the container engine at " + endpoint_.display + ": " + e.message};
}

Result<json> DockerClient::Version() {
  net::HttpRequest req;
  req.path = "/version";
  auto resp = Lease(*this)->Send(req);
  if (!resp) return Fail(Unreachable(resp.error()));
  if (!Ok(resp->status)) return Fail(ErrorFromResponse(resp->status, resp->body, "GET /version"));
  json j = json::parse(resp->body, nullptr, false);
  if (!j.is_object())
    return Fail(ErrorCode::kUnavailable,
                endpoint_.display + " does not answer like a Docker engine (GET /version)");
  return j;
}

Status DockerClient::Ping(milliseconds timeout) {
  net::HttpRequest req;
  req.path = "/_ping";
  req.timeout = timeout;
  auto resp = Lease(*this)->Send(req);
  if (!resp) return Fail(Unreachable(resp.error()));
  if (!Ok(resp->status)) return Fail(ErrorFromResponse(resp->status, resp->body, "GET /_ping"));
  return {};
}

Result<ApiVersion> DockerClient::Negotiate() {
  {
    std::lock_guard lock(mu_);
    if (version_) return *version_;
  }
  auto v = Version();
  if (!v) return Fail(v.error());
  auto chosen = NegotiateApiVersion(v->dump());
  if (!chosen) return Fail(Wrap(chosen.error(), endpoint_.display));
  std::lock_guard lock(mu_);
  version_ = *chosen;
  return *chosen;
}

Result<net::HttpResponse> DockerClient::Call(const std::string& method, const std::string& path,
                                             const std::string& body, milliseconds timeout) {
  auto v = Negotiate();
  if (!v) return Fail(v.error());
  net::HttpRequest req;
  req.method = method;
  req.path = "/v" + v->ToString() + path;
  req.body = body;
  req.timeout = timeout;
  if (!body.empty()) req.headers["Content-Type"] = "application/json";
  auto resp = Lease(*this)->Send(req);
  if (!resp) return Fail(Unreachable(resp.error()));
  return resp;
}

Result<net::HttpResponse> DockerClient::CallStream(
    const std::string& method, const std::string& path, milliseconds timeout,
    const net::ChunkFn& on_chunk, const std::atomic<bool>* cancel,
    const std::map<std::string, std::string>& headers) {
  auto v = Negotiate();
  if (!v) return Fail(v.error());
  net::HttpRequest req;
  req.method = method;
  req.path = "/v" + v->ToString() + path;
  req.timeout = timeout;
  req.cancel = cancel;
  req.headers = headers;
  auto resp = Lease(*this)->Stream(req, on_chunk);
  if (!resp) return Fail(Unreachable(resp.error()));
  return resp;
}

Result<std::string> DockerClient::CreateContainer(const std::string& name, const json& body) {
  auto resp = Call("POST", "/containers/create?name=" + util::UrlEncode(name), body.dump());
  if (!resp) return Fail(resp.error());
  if (!Ok(resp->status))
    return Fail(ErrorFromResponse(resp->status, resp->body, "creating container " + name));
  json j = json::parse(resp->body, nullptr, false);
  if (!j.is_object() || !j.contains("Id") || !j["Id"].is_string())
    return Fail(ErrorCode::kInternal, "creating container " + name + ": no Id in the answer");
  return j["Id"].get<std::string>();
}

Status DockerClient::StartContainer(const std::string& id) {
  auto resp = Call("POST", "/containers/" + PathEscape(id) + "/start");
  if (!resp) return Fail(resp.error());
  if (resp->status == 304 || Ok(resp->status)) return {};
  return Fail(ErrorFromResponse(resp->status, resp->body, "starting container " + id));
}

Status DockerClient::StopContainer(const std::string& id, int timeout_seconds) {
  auto resp =
      Call("POST", "/containers/" + PathEscape(id) + "/stop?t=" + std::to_string(timeout_seconds),
           {}, milliseconds((timeout_seconds + 30) * 1000L));
  if (!resp) return Fail(resp.error());
  if (resp->status == 304 || Ok(resp->status)) return {};
  return Fail(ErrorFromResponse(resp->status, resp->body, "stopping container " + id));
}

Status DockerClient::RestartContainer(const std::string& id, int timeout_seconds) {
  auto resp = Call(
      "POST", "/containers/" + PathEscape(id) + "/restart?t=" + std::to_string(timeout_seconds), {},
      milliseconds((timeout_seconds + 30) * 1000L));
  if (!resp) return Fail(resp.error());
  if (Ok(resp->status)) return {};
  return Fail(ErrorFromResponse(resp->status, resp->body, "restarting container " + id));
}

Result<std::string> DockerClient::CreateExec(const std::string& id,
                                             const std::vector<std::string>& argv) {
  nlohmann::json body = {
      {"Cmd", argv}, {"AttachStdin", false}, {"AttachStdout", true}, {"AttachStderr", true}};
  auto resp = Call("POST", "/containers/" + PathEscape(id) + "/exec", body.dump());
  if (!resp) return Fail(resp.error());
  if (!Ok(resp->status))
    return Fail(ErrorFromResponse(resp->status, resp->body, "exec in container " + id));
  auto j = nlohmann::json::parse(resp->body, nullptr, false);
  if (!j.is_object() || !j.contains("Id") || !j["Id"].is_string())
    return Fail(ErrorCode::kInternal, "exec in container " + id + ": no exec id in the answer");
  return j["Id"].get<std::string>();
}

Result<std::string> DockerClient::StartExec(const std::string& exec_id,
                                            std::chrono::milliseconds timeout) {
  auto resp = Call("POST", "/exec/" + PathEscape(exec_id) + "/start",
                   nlohmann::json{{"Detach", false}, {"Tty", false}}.dump(), timeout);
  if (!resp) return Fail(resp.error());
  if (!Ok(resp->status))
    return Fail(ErrorFromResponse(resp->status, resp->body, "starting exec " + exec_id));
  std::string out;
  FrameDecoder frames;
  frames.Feed(resp->body, [&](FrameDecoder::Stream, std::string_view payload) {
    out.append(payload);
    return true;
  });
  return frames.corrupt() ? resp->body : out;
}

Result<nlohmann::json> DockerClient::InspectExec(const std::string& exec_id) {
  auto resp = Call("GET", "/exec/" + PathEscape(exec_id) + "/json");
  if (!resp) return Fail(resp.error());
  if (!Ok(resp->status))
    return Fail(ErrorFromResponse(resp->status, resp->body, "inspecting exec " + exec_id));
  auto j = nlohmann::json::parse(resp->body, nullptr, false);
  if (!j.is_object()) return Fail(ErrorCode::kInternal, "inspecting exec: not JSON");
  return j;
}

Status DockerClient::RemoveContainer(const std::string& id, bool force, bool volumes) {
  std::string q = std::string("?force=") + (force ? "1" : "0") + "&v=" + (volumes ? "1" : "0");
  auto resp = Call("DELETE", "/containers/" + PathEscape(id) + q, {}, milliseconds(120000));
  if (!resp) return Fail(resp.error());
  if (Ok(resp->status)) return {};
  return Fail(ErrorFromResponse(resp->status, resp->body, "removing container " + id));
}

Result<json> DockerClient::InspectContainer(const std::string& id_or_name, milliseconds timeout) {
  auto resp = Call("GET", "/containers/" + PathEscape(id_or_name) + "/json", {}, timeout);
  if (!resp) return Fail(resp.error());
  if (!Ok(resp->status))
    return Fail(ErrorFromResponse(resp->status, resp->body, "container " + id_or_name));
  json j = json::parse(resp->body, nullptr, false);
  if (!j.is_object())
    return Fail(ErrorCode::kInternal, "container " + id_or_name + ": inspect answer is not JSON");
  return j;
}

Result<json> DockerClient::Stats(const std::string& id, milliseconds timeout) {
  auto resp = Call("GET", "/containers/" + PathEscape(id) + "/stats?stream=false&one-shot=true", {},
                   timeout);
  if (!resp) return Fail(resp.error());
  if (!Ok(resp->status))
    return Fail(ErrorFromResponse(resp->status, resp->body, "stats of container " + id));
  json j = json::parse(resp->body, nullptr, false);
  if (!j.is_object())
    return Fail(ErrorCode::kInternal, "stats of container " + id + ": answer is not JSON");
  return j;
}

Result<json> DockerClient::ListContainers(const std::vector<std::string>& label_filters) {
  json filters = json::object();
  if (!label_filters.empty()) filters["label"] = label_filters;
  auto resp = Call("GET", "/containers/json?all=1&filters=" + util::UrlEncode(filters.dump()));
  if (!resp) return Fail(resp.error());
  if (!Ok(resp->status))
    return Fail(ErrorFromResponse(resp->status, resp->body, "listing containers"));
  json j = json::parse(resp->body, nullptr, false);
  if (!j.is_array())
    return Fail(ErrorCode::kInternal, "listing containers: answer is not an array");
  return j;
}

Status DockerClient::Logs(const std::string& id, const LogOptions& opts, bool tty,
                          const LogSink& sink) {
  std::string q = "?stdout=1&stderr=1";
  q += opts.follow ? "&follow=1" : "&follow=0";
  q += opts.timestamps ? "&timestamps=1" : "&timestamps=0";
  q += "&tail=" + (opts.tail >= 0 ? std::to_string(opts.tail) : std::string("all"));
  FrameDecoder decoder;
  bool stopped = false;
  auto on_chunk = [&](std::string_view chunk) {
    if (tty) return (stopped = !sink(chunk), !stopped);
    bool go_on = decoder.Feed(chunk, [&](FrameDecoder::Stream, std::string_view payload) {
      return (stopped = !sink(payload), !stopped);
    });
    return go_on;
  };
  auto resp =
      CallStream("GET", "/containers/" + PathEscape(id) + "/logs" + q,
                 opts.follow ? milliseconds(0) : milliseconds(120000), on_chunk, opts.cancel);
  if (!resp) {
    if (opts.cancel && opts.cancel->load()) return {};  // the reader left: not an error
    return Fail(resp.error());
  }
  if (!Ok(resp->status)) return Fail(ErrorFromResponse(resp->status, resp->body, "logs of " + id));
  if (decoder.corrupt() && !stopped)
    return Fail(ErrorCode::kInternal, "logs of " + id + ": the engine sent an unframed stream");
  return {};
}

Status DockerClient::Events(const json& filters, int64_t since, const std::atomic<bool>* cancel,
                            const std::function<bool(const json&)>& fn) {
  net::LineSplitter lines;
  auto on_chunk = [&](std::string_view chunk) {
    return lines.Feed(chunk, [&](std::string_view line) {
      auto ev = json::parse(line, nullptr, false);
      return !ev.is_object() || fn(ev);  // a line that is not an event is skipped
    });
  };
  std::string path = "/events?filters=" + util::UrlEncode(filters.dump());
  if (since > 0) path += "&since=" + std::to_string(since);
  auto resp = CallStream("GET", path, milliseconds(0), on_chunk, cancel);
  if (!resp) {
    if (cancel && cancel->load()) return {};
    return Fail(resp.error());
  }
  if (!Ok(resp->status)) return Fail(ErrorFromResponse(resp->status, resp->body, "events"));
  return {};
}

namespace {

// A refused login is not a missing image: say which it was.
bool LooksLikeAuthFailure(std::string_view reason) {
  for (std::string_view word :
       {"unauthorized", "authentication required", "denied", "invalid username/password", "401"})
    if (reason.find(word) != std::string_view::npos) return true;
  return false;
}

Error PullFailure(const std::string& ref, const std::string& reason) {
  return Error{ErrorCode::kFailed, LooksLikeAuthFailure(reason)
                                       ? "pulling image " + ref + ": " + reason
                                       : "image not found: " + reason};
}

}  // namespace

Status DockerClient::PullImage(const std::string& ref, const ProgressFn& progress,
                               const std::string& registry_auth) {
  ImageName n = SplitImageRef(ref);
  std::string path = "/images/create?fromImage=" + util::UrlEncode(n.from_image) +
                     "&tag=" + util::UrlEncode(n.tag);
  net::LineSplitter lines;
  std::optional<std::string> stream_error;
  auto on_chunk = [&](std::string_view chunk) {
    lines.Feed(chunk, [&](std::string_view line) {
      if (auto err = PullLineError(line)) {
        if (!stream_error) stream_error = *err;
      } else if (progress) {
        if (auto p = PullLineProgress(line); !p.empty()) progress(p);
      }
      return true;
    });
    return true;
  };
  std::map<std::string, std::string> headers;
  if (!registry_auth.empty()) headers["X-Registry-Auth"] = registry_auth;
  auto resp = CallStream("POST", path, kPullTimeout, on_chunk, nullptr, headers);
  if (!resp) return Fail(resp.error());
  // A last line without a newline.
  if (auto err = PullLineError(lines.pending()); err && !stream_error) stream_error = *err;
  if (!Ok(resp->status)) {
    Error e = ErrorFromResponse(resp->status, resp->body, ref);
    return Fail(PullFailure(ref, e.message));
  }
  if (stream_error) return Fail(PullFailure(ref, ref + ": " + *stream_error));
  return {};
}

Result<json> DockerClient::InspectImage(const std::string& ref) {
  auto resp = Call("GET", "/images/" + PathEscape(ref) + "/json");
  if (!resp) return Fail(resp.error());
  if (!Ok(resp->status)) return Fail(ErrorFromResponse(resp->status, resp->body, "image " + ref));
  json j = json::parse(resp->body, nullptr, false);
  if (!j.is_object()) return Fail(ErrorCode::kInternal, "image " + ref + ": answer is not JSON");
  return j;
}

}  // namespace berth::runtime::docker
