// What the e2e suites on Podman share: one Podman service and one test image for the whole
// suite, servers on them with a block of loopback ports of their own, and a CLI call's JSON.
//   class MySuite : public PodmanSuite {
//     static void SetUpTestSuite() { StartPodman("berth-mine:1"); }
//     static void TearDownTestSuite() { StopPodman(); }
//     void SetUp() override { RequirePodman(); ... }
//   };
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>

#include "support/berth_server.h"
#include "support/podman.h"
#include "util/process.h"

namespace berth::testing {

class PodmanSuite : public ::testing::Test {
 protected:
  // Starts Podman and builds `image_tag` into it (nothing when BERTH_TEST_SKIP_PODMAN=1).
  static void StartPodman(const std::string& image_tag);
  static void StopPodman();
  // Skips the test when Podman is skipped; fails it when the suite's set-up failed.
  static void RequirePodman();
  // A server on this Podman with the test image as its default (IfNotPresent: there is no
  // registry) and its own block of `ports` free loopback ports as port_range.
  static BerthServerOptions ServerOptions(int ports = 12);
  // The JSON a CLI call printed, expecting it to succeed.
  static nlohmann::json Json(const util::CommandResult& r);

  static PodmanService* podman_;
  static std::string image_;
};

}  // namespace berth::testing
