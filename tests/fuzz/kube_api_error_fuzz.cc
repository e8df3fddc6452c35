// Kubernetes error replies (MapApiError over a Status body) and the request description that
// names them (ParseRequest over a path): first line = method and path, the rest = the body.
#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/kubernetes/api_error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string_view head = nl == std::string_view::npos ? in : in.substr(0, nl);
  std::string body(nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1));
  size_t sp = head.find(' ');
  std::string method(sp == std::string_view::npos ? std::string_view("GET") : head.substr(0, sp));
  std::string path(sp == std::string_view::npos ? head : head.substr(sp + 1));
  auto req = berth::kube::ParseRequest(method, path);
  (void)req.Describe();
  for (long status : {401L, 403L, 404L, 409L, 410L, 422L, 429L, 500L, 504L})
    (void)berth::kube::MapApiError(req, status, body);
  return 0;
}
