// What most e2e suites start with: a registry on loopback, a Podman that trusts it, and test
// images pushed there, so "pull Always" really pulls. A suite keeps one for all its tests.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "berth/result.h"
#include "support/podman.h"
#include "support/registry.h"

namespace berth::testing {

struct TestEngine {
  std::unique_ptr<Registry> registry;  // declared first: stopped after Podman
  std::unique_ptr<PodmanService> podman;
  std::vector<std::string> images;  // one per tag asked for, as pushed ("<registry>/<tag>")
};

// Starts the registry and Podman, then builds and pushes each of `tags` ("berth-e2e:1").
Result<std::unique_ptr<TestEngine>> StartTestEngine(const std::vector<std::string>& tags);

}  // namespace berth::testing
