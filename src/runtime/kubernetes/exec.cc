#include "runtime/kubernetes/exec.h"

#include <nlohmann/json.hpp>

#include "util/strings.h"

namespace berth::kube {
namespace {

constexpr size_t kMaxOutput = 64 * 1024;

// Keeps the tail: a command's last words say why it failed.
void AppendTail(std::string* out, std::string_view data) {
  if (!out) return;
  out->append(data);
  if (out->size() > 2 * kMaxOutput) out->erase(0, out->size() - kMaxOutput);
}

}  // namespace

Result<int> ExitCodeFromStatus(std::string_view status_json) {
  nlohmann::json st = nlohmann::json::parse(status_json, nullptr, false);
  if (st.is_discarded() || !st.is_object())
    return Fail(ErrorCode::kFailed, "exec: the error channel holds no Status object");
  auto str = [](const nlohmann::json& o, const char* k) -> std::string {
    auto it = o.find(k);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::string status = str(st, "status");
  if (status == "Success") return 0;
  std::string message = str(st, "message");
  if (str(st, "reason") == "NonZeroExitCode") {
    auto d = st.find("details");
    if (d != st.end() && d->is_object()) {
      auto causes = d->find("causes");
      if (causes != d->end() && causes->is_array())
        for (const auto& c : *causes) {
          if (!c.is_object() || str(c, "reason") != "ExitCode") continue;
          std::string m = str(c, "message");
          // An exit status: decimal, at most 10 digits (Windows codes exceed 255).
          if (m.empty() || m.size() > 10 || m.find_first_not_of("0123456789") != std::string::npos)
            break;
          long long code = std::stoll(m);
          if (code > 0 && code <= 0x7fffffff) return static_cast<int>(code);
          break;
        }
    }
    return Fail(ErrorCode::kFailed, "exec: a non-zero exit without a readable code" +
                                        (message.empty() ? std::string() : ": " + message));
  }
  if (status != "Failure")
    return Fail(ErrorCode::kFailed, "exec: a Status that is neither Success nor Failure");
  return Fail(ErrorCode::kFailed, "exec: " + (message.empty() ? std::string("failed") : message));
}

std::string ExecPath(const std::string& kns, const std::string& pod, const std::string& container,
                     const std::vector<std::string>& argv) {
  std::string p = NamespacedPath("/api/v1", kns, "pods", pod) +
                  "/exec?container=" + util::UrlEncode(container) + "&stdout=true&stderr=true";
  for (const auto& a : argv) p += "&command=" + util::UrlEncode(a);
  return p;
}

Result<int> ExecInPod(KubeClient& client, const std::string& kns, const std::string& pod,
                      const std::string& container, const std::vector<std::string>& argv,
                      std::chrono::milliseconds timeout, std::string* output) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::string what = "exec in pod " + kns + "/" + pod;
  auto ws = client.OpenWebSocket(ExecPath(kns, pod, container, argv),
                                 {"v5.channel.k8s.io", "v4.channel.k8s.io"}, timeout);
  if (!ws) {
    if (ws.error().code == ErrorCode::kTimeout) return Fail(Wrap(ws.error(), what));
    return Fail(ErrorCode::kUnavailable, what + " was refused: " + ws.error().message);
  }
  std::string status;
  bool have_status = false;
  for (;;) {
    auto m = (*ws)->Receive(deadline);
    if (!m) {
      (*ws)->Close();
      if (have_status) break;  // the Status came; a connection cut after it changes nothing
      return Fail(Wrap(m.error(), what));
    }
    if (m->opcode == net::ws::Opcode::kClose) break;
    if (m->opcode != net::ws::Opcode::kBinary || m->payload.empty()) continue;
    const unsigned char channel = static_cast<unsigned char>(m->payload[0]);
    std::string_view data = std::string_view(m->payload).substr(1);
    if (channel == 1 || channel == 2) {
      AppendTail(output, data);
    } else if (channel == 3) {
      if (status.size() + data.size() > kMaxOutput)
        return Fail(ErrorCode::kFailed, what + ": the Status is larger than 64 KiB");
      status.append(data);
      have_status = !status.empty();
    }
  }
  (*ws)->Close();
  if (output && output->size() > kMaxOutput) output->erase(0, output->size() - kMaxOutput);
  if (!have_status)
    return Fail(ErrorCode::kUnavailable, what + ": the stream ended without the command's status");
  auto code = ExitCodeFromStatus(status);
  if (!code) return Fail(Wrap(code.error(), what));
  return *code;
}

}  // namespace berth::kube
