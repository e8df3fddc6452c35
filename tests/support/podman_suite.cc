#include "support/podman_suite.h"

#include "support/images.h"
#include "support/ports.h"

namespace berth::testing {

PodmanService* PodmanSuite::podman_ = nullptr;
std::string PodmanSuite::image_;

void PodmanSuite::StartPodman(const std::string& image_tag) {
  if (PodmanService::SkipRequested()) return;
  auto p = PodmanService::Start();
  ASSERT_TRUE(p) << p.error().message;
  podman_ = p->release();
  auto img = BuildTestImage(*podman_, image_tag);
  ASSERT_TRUE(img) << img.error().message;
  image_ = *img;
}

void PodmanSuite::StopPodman() {
  delete podman_;
  podman_ = nullptr;
  image_.clear();
}

void PodmanSuite::RequirePodman() {
  if (PodmanService::SkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_PODMAN=1";
  ASSERT_NE(podman_, nullptr);
}

BerthServerOptions PodmanSuite::ServerOptions(int ports) {
  BerthServerOptions o;
  o.docker_host = podman_->docker_host();
  o.default_image = image_;
  o.pull_policy = "IfNotPresent";
  int base = FreeLoopbackPortBlock(ports);
  EXPECT_GT(base, 0) << "no free block of loopback ports";
  o.port_min = base;
  o.port_max = base + ports - 1;
  return o;
}

nlohmann::json PodmanSuite::Json(const util::CommandResult& r) {
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  try {
    return nlohmann::json::parse(r.out);
  } catch (...) {
    ADD_FAILURE() << "not JSON: " << r.out << r.err;
    return nlohmann::json();
  }
}

}  // namespace berth::testing
