// The Go-template engine as the router's confd mode uses it: parse any text with confd's
// functions, then execute it over a small key space of route records and a dot with every kind
// of value. Parse and execution errors are fine; crashes, sanitizer reports and hangs are not.
//
// Templates are written by the operator, and Go's own engine lets them loop for ever; Berth's
// bounds every execution (tmpl::ExecLimits), which this target sets low (10,000 steps, 64 KiB
// of output) so that every input ends fast: a range over INT64_MAX or a template calling
// itself now ends with the bound's error (it once ran out of memory). `seq` yields at most 10
// numbers and DNS lookups are stubbed out.
#include <cstdint>
#include <string>
#include <string_view>

#include "confd/funcs.h"
#include "confd/memkv.h"
#include "template/template.h"

namespace tmpl = berth::tmpl;
namespace confd = berth::confd;

namespace {

struct Fixture {
  confd::KVStore kv;
  tmpl::FuncMap funcs;
  tmpl::Value dot;

  Fixture() {
    kv.Set("/devnginx/default/demo",
           R"({"name": "demo", "http_port": 30080, "https_port": 30443, )"
           R"("domain": "demo.ctest.localhost www.demo.test", "host_ip": "127.0.0.1"})");
    kv.Set("/devnginx/team/api", R"({"name": "api", "http_port": 31000, "https_port": 0, )"
                                 R"("domain": "api.team.test", "host_ip": "::1"})");
    kv.Set("/app/upstream/app1", "10.0.1.100:80");
    kv.Set("/app/upstream/app2", "10.0.1.101:80");
    kv.Set("/nginx/domain", "example.com");
    kv.Set("/list", "[1, 2.5, \"x\", null, {\"a\": [true]}]");
    funcs = confd::ConfdFuncs(&kv);
    auto seq = funcs["seq"];
    funcs["seq"] = tmpl::MakeFunc(
        [seq](std::span<const tmpl::Value> a) -> berth::Result<tmpl::Value> {
          if (a[0].is_int() && a[1].is_int()) {
            // Compared in unsigned arithmetic: the operands may be anything.
            uint64_t span =
                static_cast<uint64_t>(a[1].as_int()) - static_cast<uint64_t>(a[0].as_int());
            if (a[1].as_int() >= a[0].as_int() && span >= 10) return tmpl::Value(tmpl::List{});
          }
          return seq->fn(a);
        },
        2, 2);
    auto none = tmpl::MakeFunc(
        [](std::span<const tmpl::Value>) -> berth::Result<tmpl::Value> {
          return tmpl::Value(tmpl::List{});
        },
        1, 3);
    funcs["lookupIP"] = none;
    funcs["lookupSRV"] = none;
    tmpl::Map m({{"Name", "demo"},
                 {"Int", int64_t{-7}},
                 {"Big", int64_t{INT64_MAX}},
                 {"Float", 2.5},
                 {"True", true},
                 {"Nil", tmpl::Value::Nil()},
                 {"List", tmpl::List{"a", int64_t{1}, tmpl::List{}, tmpl::Value::Nil()}},
                 {"Map", tmpl::Map({{"k", "v"}, {"n", int64_t{3}}})}});
    dot = tmpl::Value(std::move(m));
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture* f = new Fixture();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto t = tmpl::Template::Parse("fuzz.tmpl", text, f->funcs);
  if (!t) return 0;
  t->set_limits({.max_steps = 10'000, .max_output = 64u << 10});
  std::string out;
  (void)t->Execute(f->dot, out);
  return 0;
}
