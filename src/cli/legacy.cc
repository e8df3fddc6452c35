// The original control program's commands, with its exact output formats (BRIEF.md):
//   re_create  -> host_IP=...\nphase=...\nssh_port=N,http_port=N,https_port=N
//   re_view    -> {"status": "sucess", "http_port": N, "https_port": N, "ssh_port": N,
//                  "host_ip": "...", "phase": "Running"}   ("sucess" is the original's spelling)
#include <iostream>

#include "cli/commands.h"
#include "cli/completion.h"
#include "cli/output.h"
#include "cli/target.h"

namespace berth::cli {

using nlohmann::json;

namespace {

void PrintCreateLines(const json& view) {
  std::cout << "host_IP=" << StatusField(view, "host_ip") << "\n"
            << "phase="
            << (StatusField(view, "phase").empty() ? "Pending" : StatusField(view, "phase")) << "\n"
            << "ssh_port=" << PublishedPort(view, "ssh")
            << ",http_port=" << PublishedPort(view, "http")
            << ",https_port=" << PublishedPort(view, "https") << "\n";
}

// Python's json.dumps spacing, in the original's key order.
std::string ViewLine(const json& view) {
  return std::string("{\"status\": \"sucess\", \"http_port\": ") +
         std::to_string(PublishedPort(view, "http")) +
         ", \"https_port\": " + std::to_string(PublishedPort(view, "https")) +
         ", \"ssh_port\": " + std::to_string(PublishedPort(view, "ssh")) +
         ", \"host_ip\": " + json(StatusField(view, "host_ip")).dump() + ", \"phase\": " +
         json(StatusField(view, "phase").empty() ? "Pending" : StatusField(view, "phase")).dump() +
         "}";
}

}  // namespace

void AddLegacyCommands(CLI::App& app, GlobalOptions& g, int& rc) {
  const std::string group = "Original control program (borg) commands";

  auto* list_pod = app.add_subcommand("list_pod", "List environments, one line each (original)");
  list_pod->group(group);
  list_pod->callback([&g, &rc] {
    auto t = OpenTarget(g);
    if (!t) return void(rc = ReportError(t.error()));
    auto r = t->client.Call("GET", "/v1/environments?namespace=" + t->ns);
    if (!r) return void(rc = ReportError(r.error()));
    std::vector<std::vector<std::string>> rows;
    for (const auto& v : (*r)["items"]) {
      std::string phase = StatusField(v, "phase");
      rows.push_back({v["spec"].value("name", ""), phase.empty() ? "Pending" : phase,
                      StatusField(v, "host_ip"), std::to_string(PublishedPort(v, "ssh")),
                      std::to_string(PublishedPort(v, "http")),
                      std::to_string(PublishedPort(v, "https"))});
    }
    PrintTable(std::cout, {"NAME", "PHASE", "HOST_IP", "SSH_PORT", "HTTP_PORT", "HTTPS_PORT"},
               rows);
  });

  struct Args {
    std::string name, image;
    int timeout = 300;
  };
  auto a = std::make_shared<Args>();

  auto* re_create =
      app.add_subcommand("re_create", "Create an environment and wait until it runs (original)");
  re_create->group(group);
  re_create->add_option("--name", a->name, "Environment name")->required();
  re_create->add_option("--image,--images", a->image, "Image (default: config default_image)");
  re_create->add_option("--timeout", a->timeout, "Seconds to wait (default 300)");
  re_create->callback([&g, &rc, a] {
    auto t = ResolveTarget(g, a->name);
    if (!t) return void(rc = ReportError(t.error()));
    json body = {{"namespace", t->ns}, {"name", a->name}};
    if (!a->image.empty()) body["image"] = a->image;
    auto r = t->client.Call("POST", "/v1/environments", body.dump());
    if (!r) return void(rc = ReportError(r.error()));
    auto v = WaitRunning(t->client, t->ns, a->name, 1, a->timeout, false);
    if (!v) return void(rc = ReportError(v.error()));
    PrintCreateLines(*v);
  });

  auto* re_view = app.add_subcommand("re_view", "Show an environment as one JSON line (original)");
  re_view->group(group);
  re_view->add_option("--name", a->name, "Environment name")
      ->required()
      ->type_name(kEnvironmentArg);
  re_view->callback([&g, &rc, a] {
    auto t = ResolveTarget(g, a->name);
    if (!t) return void(rc = ReportError(t.error()));
    auto r = t->client.Call("GET", "/v1/environments/" + t->ns + "/" + a->name);
    if (!r) return void(rc = ReportError(r.error()));
    std::cout << ViewLine(*r) << "\n";
  });

  auto* re_delete =
      app.add_subcommand("re_delete", "Delete an environment and wait until it is gone (original)");
  re_delete->group(group);
  re_delete->add_option("--name", a->name, "Environment name")
      ->required()
      ->type_name(kEnvironmentArg);
  re_delete->add_option("--timeout", a->timeout, "Seconds to wait (default 300)");
  re_delete->callback([&g, &rc, a] {
    auto t = ResolveTarget(g, a->name);
    if (!t) return void(rc = ReportError(t.error()));
    auto r = t->client.Call("DELETE", "/v1/environments/" + t->ns + "/" + a->name);
    if (!r) return void(rc = ReportError(r.error()));
    if (auto s = WaitDeleted(t->client, t->ns, a->name, a->timeout, false); !s)
      return void(rc = ReportError(s.error()));
    std::cout << "{\"status\": \"sucess\", \"name\": " << json(a->name).dump() << "}\n";
  });

  auto* re_rebuild =
      app.add_subcommand("re_rebuild", "Rebuild an environment and wait until it runs (original)");
  re_rebuild->group(group);
  re_rebuild->add_option("--name", a->name, "Environment name")
      ->required()
      ->type_name(kEnvironmentArg);
  re_rebuild->add_option("--image,--images", a->image, "Switch to this image");
  re_rebuild->add_option("--timeout", a->timeout, "Seconds to wait (default 300)");
  re_rebuild->callback([&g, &rc, a] {
    auto t = ResolveTarget(g, a->name);
    if (!t) return void(rc = ReportError(t.error()));
    json body = json::object();
    if (!a->image.empty()) body["image"] = a->image;
    auto r = t->client.Call("POST", "/v1/environments/" + t->ns + "/" + a->name + "/rebuild",
                            body.dump());
    if (!r) return void(rc = ReportError(r.error()));
    auto v = WaitRunning(t->client, t->ns, a->name, (*r)["spec"].value("generation", int64_t{1}),
                         a->timeout, false);
    if (!v) return void(rc = ReportError(v.error()));
    PrintCreateLines(*v);
  });
}

}  // namespace berth::cli
