// Runs a command in a pod's container through the pods/exec subresource, the way kubectl exec
// does: a WebSocket with the channel protocol (v5.channel.k8s.io, else v4.channel.k8s.io), one
// message per chunk whose first byte names the stream (1 stdout, 2 stderr, 3 the final Status).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "berth/result.h"
#include "runtime/kubernetes/client.h"

namespace berth::kube {

// The exit code in the error channel's Status: 0 for Success, N for a NonZeroExitCode failure
// with cause ExitCode "N"; any other failure (no such container, no such executable) is
// kFailed with the API's message.
Result<int> ExitCodeFromStatus(std::string_view status_json);

// The exec subresource's path for argv in container `container` of pod `kns`/`pod`, stdout
// and stderr attached, no stdin, no TTY.
std::string ExecPath(const std::string& kns, const std::string& pod, const std::string& container,
                     const std::vector<std::string>& argv);

// Runs argv to its end (or the deadline: kTimeout) and returns its exit code, with the last
// 64 KiB of stdout and stderr in `output` when set. An API server or kubelet that refuses the
// stream (RBAC without pods/exec, a node that does not serve exec) is kUnavailable saying so:
// the command did not run.
Result<int> ExecInPod(KubeClient& client, const std::string& kns, const std::string& pod,
                      const std::string& container, const std::vector<std::string>& argv,
                      std::chrono::milliseconds timeout, std::string* output);

}  // namespace berth::kube
