// Shared set-up for router integration tests: a temp dir, a SQLite store, a loopback upstream
// and router options for a real nginx on a free port.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "berth/route.h"
#include "berth/store.h"
#include "router/route_sync.h"
#include "router/router_options.h"
#include "support/nginx.h"
#include "support/ports.h"
#include "util/fs.h"

namespace berth::router {

class RouterFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::NginxSkipRequested()) GTEST_SKIP() << "BERTH_TEST_SKIP_NGINX=1";
    auto ok = testing::CheckNginx(/*lua=*/true);
    ASSERT_TRUE(ok) << ok.error().message;
    dir_ = std::make_unique<util::TempDir>("berth-router-test");
    auto s = store::OpenStore("sqlite://" + dir_->path() + "/berth.db");
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    auto up = testing::HttpUpstream::Start("a");
    ASSERT_TRUE(up) << up.error().message;
    upstream_ = std::move(*up);
    http_port_ = testing::FreeLoopbackPort();
    opts_.nginx_binary = testing::NginxBinary();
    opts_.module_dir = testing::NginxModuleDir();
    opts_.prefix = dir_->path() + "/nginx";
    opts_.http_listen = "127.0.0.1:" + std::to_string(http_port_);
  }

  void TearDown() override {
    if (sync_) sync_->Stop();
    sync_.reset();
  }

  void StartSync() {
    sync_ = std::make_unique<RouteSync>(*store_, opts_);
    auto s = sync_->Start();
    ASSERT_TRUE(s) << s.error().message;
  }

  // Writes a route to the store and waits until the router applied it.
  int64_t PutRoute(const std::string& name, int port, int https_port = 0,
                   const std::string& domain = "") {
    Route r{
        "default",  name, port, https_port, {domain.empty() ? name + ".ctest.localhost" : domain},
        "127.0.0.1"};
    auto rev = store_->Put(store::keys::Route("default", name), SerializeRoute(r));
    EXPECT_TRUE(rev) << rev.error().message;
    return rev ? *rev : 0;
  }

  testing::HttpAnswer Get(const std::string& host, const std::string& path = "/") {
    auto r = testing::GetWithHost(http_port_, host, path);
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : testing::HttpAnswer{};
  }

  static constexpr std::chrono::milliseconds kApplyTimeout{20000};

  std::unique_ptr<util::TempDir> dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<testing::HttpUpstream> upstream_;
  int http_port_ = 0;
  RouterOptions opts_;
  std::unique_ptr<RouteSync> sync_;
};

}  // namespace berth::router
