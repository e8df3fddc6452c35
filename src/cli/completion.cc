#include "cli/completion.h"

#include <algorithm>
#include <set>

namespace berth::cli {
namespace {

bool StartsWith(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

bool Hidden(const CLI::App* a) {
  return a->get_group().empty();
}

std::vector<const CLI::App*> Subcommands(const CLI::App* app) {
  return app->get_subcommands([](const CLI::App*) { return true; });
}

const CLI::App* FindSubcommand(const CLI::App* app, const std::string& word) {
  for (const CLI::App* s : Subcommands(app))
    if (s->check_name(word)) return s;
  return nullptr;
}

bool TakesValue(const CLI::Option* o) {
  return o->get_type_size_max() > 0;
}

// The option named by `word` ("--name", "-n") on the innermost command that has it: options of
// the commands above stay valid below them (the root app falls through).
const CLI::Option* FindOption(const std::vector<const CLI::App*>& chain, const std::string& word) {
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    for (const CLI::Option* o : (*it)->get_options()) {
      if (StartsWith(word, "--")) {
        for (const auto& l : o->get_lnames())
          if (word.substr(2) == l) return o;
      } else if (word.size() == 2) {
        for (const auto& s : o->get_snames())
          if (word.substr(1) == s) return o;
      }
    }
  }
  return nullptr;
}

// "TEXT:{table,wide,json,yaml}" (a CLI::IsMember check) -> its members.
std::vector<std::string> Choices(const CLI::Option* o) {
  std::string t = o->get_type_name();
  auto open = t.find('{');
  auto close = t.rfind('}');
  std::vector<std::string> out;
  if (open == std::string::npos || close == std::string::npos || close < open) return out;
  std::string body = t.substr(open + 1, close - open - 1);
  size_t start = 0;
  while (start <= body.size()) {
    size_t comma = body.find(',', start);
    if (comma == std::string::npos) comma = body.size();
    if (comma > start) out.push_back(body.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

bool TypeIs(const CLI::Option* o, const char* type) {
  const std::string t = o->get_type_name();
  return t == type || StartsWith(t, std::string(type) + ":");
}

// Completes the value of option `o` from `typed`.
void CompleteValue(const CLI::Option* o, const std::string& typed, Completion& c) {
  c.value_prefix = typed;
  if (TypeIs(o, kEnvironmentArg)) {
    c.live = Completion::Live::kEnvironments;
  } else if (TypeIs(o, kNamespaceArg)) {
    c.live = Completion::Live::kNamespaces;
  } else {
    for (auto& w : Choices(o))
      if (StartsWith(w, typed)) c.words.push_back(w);
  }
}

// Joins bash's split of "--opt=value" (COMP_WORDBREAKS holds '=') back into one word.
std::vector<std::string> JoinEquals(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == "=" && !out.empty() && StartsWith(out.back(), "--") &&
        out.back().find('=') == std::string::npos) {
      out.back() += "=";
      if (i + 1 < in.size()) out.back() += in[++i];
      continue;
    }
    out.push_back(in[i]);
  }
  return out;
}

void Remember(const CLI::Option* o, const std::string& value, Completion& c) {
  if (!o) return;
  const auto& l = o->get_lnames();
  auto has = [&](const char* n) { return std::find(l.begin(), l.end(), n) != l.end(); };
  if (has("namespace")) c.ns = value;
  if (has("config")) c.config = value;
  if (has("socket")) c.socket = value;
  if (has("server")) c.server = value;
  if (has("token")) c.token = value;
}

}  // namespace

Completion Complete(const CLI::App& root, std::vector<std::string> before, std::string current) {
  // The word under the cursor may itself be the tail of a split "--opt" "=" "val".
  before.push_back(current);
  before = JoinEquals(before);
  current = before.back();
  before.pop_back();

  Completion c;
  std::vector<const CLI::App*> chain{&root};
  const CLI::Option* pending = nullptr;  // an option whose value comes next
  size_t positionals = 0;
  bool options_done = false;
  for (const std::string& w : before) {
    if (pending) {
      Remember(pending, w, c);
      pending = nullptr;
      continue;
    }
    if (!options_done && w == "--") {
      options_done = true;
      continue;
    }
    if (!options_done && StartsWith(w, "-") && w.size() > 1) {
      auto eq = w.find('=');
      const CLI::Option* o = FindOption(chain, w.substr(0, eq));
      if (eq != std::string::npos) {
        Remember(o, w.substr(eq + 1), c);
      } else if (o && TakesValue(o)) {
        pending = o;
      }
      continue;
    }
    if (positionals == 0)
      if (const CLI::App* sub = FindSubcommand(chain.back(), w)) {
        chain.push_back(sub);
        continue;
      }
    ++positionals;
  }

  if (pending) {
    CompleteValue(pending, current, c);
    return c;
  }
  if (!options_done && StartsWith(current, "--") && current.find('=') != std::string::npos) {
    auto eq = current.find('=');
    if (const CLI::Option* o = FindOption(chain, current.substr(0, eq)); o && TakesValue(o)) {
      c.emit_prefix = current.substr(0, eq + 1);
      CompleteValue(o, current.substr(eq + 1), c);
    }
    return c;
  }
  if (!options_done && StartsWith(current, "-")) {
    std::set<std::string> seen;
    for (const CLI::App* a : chain)
      for (const CLI::Option* o : a->get_options()) {
        if (o->get_group().empty()) continue;  // hidden
        for (const auto& l : o->get_lnames())
          if (StartsWith("--" + l, current) && seen.insert("--" + l).second)
            c.words.push_back("--" + l);
      }
    return c;
  }
  const CLI::App* app = chain.back();
  if (positionals == 0) {
    for (const CLI::App* s : Subcommands(app))
      if (!Hidden(s) && StartsWith(s->get_name(), current)) c.words.push_back(s->get_name());
    if (!c.words.empty()) return c;
  }
  // The positional at this index, if the command has one there.
  size_t index = 0;
  for (const CLI::Option* o : app->get_options()) {
    if (!o->get_positional() || o->nonpositional()) continue;
    if (index++ == positionals) {
      CompleteValue(o, current, c);
      break;
    }
  }
  return c;
}

Result<std::string> CompletionScript(std::string_view shell) {
  // Each script hands the words before the cursor and the word under it to
  // `berth __complete --shell <shell> -- ...` and offers what it prints, one per line.
  if (shell == "bash")
    return std::string(R"(# bash completion for berth:  source <(berth completion bash)
# or install as /usr/share/bash-completion/completions/berth
_berth() {
  local cur="${COMP_WORDS[COMP_CWORD]}" IFS=$'\n'
  local -a before=("${COMP_WORDS[@]:1:COMP_CWORD-1}")
  COMPREPLY=($("${COMP_WORDS[0]}" __complete --shell bash -- "${before[@]}" "$cur" 2>/dev/null))
  # After "--name=" bash completes only what follows the "=".
  [[ "$cur" == "=" ]] && cur=""
  COMPREPLY=($(compgen -W "${COMPREPLY[*]}" -- "$cur"))
}
complete -o default -F _berth berth
)");
  if (shell == "zsh")
    return std::string(R"(#compdef berth
# zsh completion for berth:  source <(berth completion zsh)
# or install as _berth in a directory of $fpath
_berth() {
  local -a candidates
  candidates=("${(@f)$("${words[1]}" __complete --shell zsh -- "${(@)words[2,CURRENT-1]}" "${words[CURRENT]}" 2>/dev/null)}")
  candidates=("${(@)candidates:#}")
  if (( ${#candidates} )); then
    compadd -Q -- "${candidates[@]}"
  else
    _files
  fi
}
if [[ "$funcstack[1]" == _berth ]]; then
  _berth "$@"
elif (( $+functions[compdef] )); then
  compdef _berth berth
fi
)");
  if (shell == "fish")
    return std::string(R"(# fish completion for berth:  berth completion fish | source
# or install as ~/.config/fish/completions/berth.fish
function __berth_complete
    set -l tokens (commandline -opc)
    berth __complete --shell fish -- $tokens[2..-1] (commandline -ct) 2>/dev/null
end
complete -c berth -f -a '(__berth_complete)'
)");
  return Fail(ErrorCode::kInvalidArgument,
              "unknown shell \"" + std::string(shell) + "\" (bash, zsh or fish)");
}

}  // namespace berth::cli
