// Renders the original platform's nginx route template (confd style: getvs + json per route)
// over 10,000 routes, and the same shape from pre-parsed data, printing times and peak RSS.
//
//   ninja -C build bench/template/template_bench && ./build/template_bench [routes] [iterations]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "confd/funcs.h"
#include "confd/memkv.h"
#include "template/template.h"
#include "util/fs.h"

using berth::confd::ConfdFuncs;
using berth::confd::KVStore;
namespace tmpl = berth::tmpl;

namespace {

double Ms(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

long PeakRssKb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

std::string RouteJson(int i) {
  std::string name = "env-" + std::to_string(i);
  return R"({"name": ")" + name + R"(", "http_port": )" + std::to_string(30000 + i % 2768) +
         R"(, "https_port": )" + std::to_string(30000 + (i + 7) % 2768) + R"(, "domain": ")" +
         name + ".ctest.a.com " + name + R"(.ctest.b.com", "host_ip": "10.0.)" +
         std::to_string(i / 250 % 256) + "." + std::to_string(i % 250) + R"("})";
}

}  // namespace

int main(int argc, char** argv) {
  int routes = argc > 1 ? std::atoi(argv[1]) : 10000;
  int iters = argc > 2 ? std::atoi(argv[2]) : 5;
  std::string tpl_path = (std::filesystem::path(__FILE__).parent_path() /
                          "../../tests/unit/confd/testdata/service.conf.tpl")
                             .lexically_normal();
  auto text = berth::util::ReadFile(tpl_path);
  if (!text) {
    std::fprintf(stderr, "cannot read the route template: %s\n", text.error().message.c_str());
    return 1;
  }
  std::printf("command: %s %d %d\n", argv[0], routes, iters);
  std::printf("template: %s\n", tpl_path.c_str());

  KVStore kv;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < routes; ++i)
    kv.Set("/devnginx/default/env-" + std::to_string(i), RouteJson(i));
  auto t1 = std::chrono::steady_clock::now();
  auto t = tmpl::Template::Parse("service.conf.tpl", *text, ConfdFuncs(&kv));
  auto t2 = std::chrono::steady_clock::now();
  if (!t) {
    std::fprintf(stderr, "%s\n", t.error().message.c_str());
    return 1;
  }
  std::printf("routes: %d, fill key space: %.2f ms, parse template: %.3f ms\n", routes, Ms(t1 - t0),
              Ms(t2 - t1));

  // confd style: every execution lists the keys and parses each JSON value.
  // The first execution parses every JSON value; later ones hit the json cache (the runner keeps
  // unchanged values' identity across passes, so only changed routes are parsed again).
  size_t bytes = 0;
  double best = 1e18, total = 0, first = 0;
  for (int i = 0; i < iters; ++i) {
    std::string out;
    out.reserve(bytes);
    auto a = std::chrono::steady_clock::now();
    auto st = t->Execute(tmpl::Value(), out);
    auto b = std::chrono::steady_clock::now();
    if (!st) {
      std::fprintf(stderr, "%s\n", st.error().message.c_str());
      return 1;
    }
    bytes = out.size();
    if (i == 0) first = Ms(b - a);
    best = std::min(best, Ms(b - a));
    total += Ms(b - a);
  }
  std::printf(
      "render (getvs + json per route): first (cold json) %.2f ms, best %.2f ms, mean %.2f ms, "
      "output %zu bytes, %.2f us/route\n",
      first, best, total / iters, bytes, best * 1000 / routes);

  // Engine alone: the same blocks over already-parsed route maps passed as dot.
  tmpl::List data;
  data.reserve(routes);
  for (int i = 0; i < routes; ++i) data.push_back(*tmpl::Value::FromJson(RouteJson(i)));
  tmpl::Value dot(std::move(data));
  std::string engine_text = *text;
  auto pos = engine_text.find("{{- range getvs \"/devnginx/default/*\"}}\n{{- $r := json .}}");
  if (pos != std::string::npos) {
    engine_text.replace(
        pos, std::string("{{- range getvs \"/devnginx/default/*\"}}\n{{- $r := json .}}").size(),
        "{{- range .}}{{$r := .}}");
  }
  auto te = tmpl::Template::Parse("engine.tpl", engine_text, ConfdFuncs(&kv));
  if (!te) {
    std::fprintf(stderr, "%s\n", te.error().message.c_str());
    return 1;
  }
  best = 1e18;
  total = 0;
  for (int i = 0; i < iters; ++i) {
    std::string out;
    out.reserve(bytes);
    auto a = std::chrono::steady_clock::now();
    auto st = te->Execute(dot, out);
    auto b = std::chrono::steady_clock::now();
    if (!st) {
      std::fprintf(stderr, "%s\n", st.error().message.c_str());
      return 1;
    }
    bytes = out.size();
    best = std::min(best, Ms(b - a));
    total += Ms(b - a);
  }
  std::printf(
      "render (pre-parsed data, engine only): best %.2f ms, mean %.2f ms, output %zu "
      "bytes, %.2f us/route\n",
      best, total / iters, bytes, best * 1000 / routes);
  std::printf("peak RSS: %ld KiB\n", PeakRssKb());
  return 0;
}
