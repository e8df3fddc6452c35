#include "cli/completion_cmd.h"

#include <iostream>
#include <set>

#include "berth/validate.h"
#include "cli/completion.h"
#include "cli/manpage.h"

namespace berth::cli {
namespace {

// Asked on every <TAB>: an unreachable server must cost the shell little.
constexpr std::chrono::milliseconds kLiveTimeout{2000};

// Environment names (in the namespace the command line names, else the configured default) or
// namespaces, from the API. Nothing on any error: completion never prints one.
std::vector<std::string> LiveCandidates(const Completion& c, const GlobalOptions& outer) {
  GlobalOptions g = outer;
  if (!c.config.empty()) g.config_file = c.config;
  if (!c.socket.empty()) g.socket = c.socket;
  if (!c.server.empty()) g.server = c.server;
  if (!c.token.empty()) g.token = c.token;
  auto cfg = LoadEffectiveConfig(g);
  if (!cfg) return {};
  std::string ns = c.ns.empty() ? cfg->default_namespace : c.ns;
  const bool names = c.live == Completion::Live::kEnvironments;
  if (names && !ValidateNamespace(ns)) return {};
  ApiClient client(EndpointFor(g, *cfg), kLiveTimeout);
  auto r = client.Call("GET", names ? "/v1/environments?namespace=" + ns : "/v1/environments");
  if (!r || !r->contains("items") || !(*r)["items"].is_array()) return {};
  std::set<std::string> out;
  for (const auto& v : (*r)["items"]) {
    if (!v.contains("spec") || !v["spec"].is_object()) continue;
    auto it = v["spec"].find(names ? "name" : "namespace");
    if (it != v["spec"].end() && it->is_string()) out.insert(it->get<std::string>());
  }
  return {out.begin(), out.end()};
}

}  // namespace

void AddCompletionCommands(CLI::App& app, int& rc) {
  auto shell = std::make_shared<std::string>();
  auto* completion = app.add_subcommand(
      "completion",
      "Print the shell completion script (bash, zsh or fish): source <(berth completion bash)");
  completion->add_option("shell", *shell, "bash, zsh or fish")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh", "fish"}));
  completion->callback([&rc, shell] {
    auto script = CompletionScript(*shell);
    if (!script) return void(rc = ReportError(script.error()));
    std::cout << *script;
    rc = 0;
  });

  auto mandir = std::make_shared<std::string>();
  auto* manpages =
      app.add_subcommand("manpages", "Write a man page for berth and each command into DIR");
  manpages->add_option("dir", *mandir, "Directory (created if missing)")->required();
  manpages->callback([&app, &rc, mandir] {
    auto files = WriteManPages(app, BERTH_VERSION_STRING, *mandir);
    if (!files) return void(rc = ReportError(files.error()));
    for (const auto& f : *files) std::cout << f << "\n";
    rc = 0;
  });
}

int RunComplete(const CLI::App& root, const std::vector<std::string>& args) {
  std::string shell = "bash";
  size_t i = 0;
  for (; i < args.size() && args[i] != "--"; ++i)
    if (args[i] == "--shell" && i + 1 < args.size()) shell = args[++i];
  std::vector<std::string> words(
      args.begin() + static_cast<std::ptrdiff_t>(std::min(i + 1, args.size())), args.end());
  std::string current;
  if (!words.empty()) {
    current = words.back();
    words.pop_back();
  }
  Completion c = Complete(root, words, current);
  std::vector<std::string> out = c.words;
  if (c.live != Completion::Live::kNone) {
    // The flags CLI11 would have read from the environment (the config file and socket are
    // read from it by the config loader itself).
    GlobalOptions g;
    if (const char* v = std::getenv("BERTH_SERVER")) g.server = v;
    if (const char* v = std::getenv("BERTH_TOKEN")) g.token = v;
    for (auto& n : LiveCandidates(c, g))
      if (n.compare(0, c.value_prefix.size(), c.value_prefix) == 0) out.push_back(n);
  }
  // bash splits "--name=value" at '=' and completes only the value.
  const std::string prefix = shell == "bash" ? "" : c.emit_prefix;
  for (const auto& w : out) std::cout << prefix << w << "\n";
  return 0;
}

}  // namespace berth::cli
