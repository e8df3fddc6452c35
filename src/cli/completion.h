// Shell completion (bash, zsh, fish), computed from the one CLI11 definition of the commands:
// the shell scripts are thin and call back into `berth __complete`, so a new command or flag
// completes without touching them, and environment names come live from the API.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "berth/result.h"

namespace berth::cli {

// The type name an option or positional carries when its value is an existing environment
// (view NAME, re_view --name=NAME ...): the completion engine completes it from the API.
inline constexpr const char* kEnvironmentArg = "ENVIRONMENT";
inline constexpr const char* kNamespaceArg = "NAMESPACE";

// What the word under the cursor may become.
struct Completion {
  enum class Live { kNone, kEnvironments, kNamespaces };
  std::vector<std::string> words;  // static candidates, already filtered by the typed prefix
  Live live = Live::kNone;         // plus these, from the API
  std::string value_prefix;        // typed part of a value ("fe" of "--name=fe")
  std::string emit_prefix;         // what each live candidate is printed behind ("--name=")
  // Flags among the words before the cursor that say where the API is and which namespace.
  std::string ns, config, socket, server, token;
};

// `before`: the words after "berth" up to the cursor; `current`: the word being typed.
// A "--opt", "=", "value" split (bash splits at '=') is joined back first.
Completion Complete(const CLI::App& root, std::vector<std::string> before, std::string current);

// The script a shell loads: `source <(berth completion bash)`, or installed in the shell's
// completion directory. Unknown shell: kInvalidArgument.
Result<std::string> CompletionScript(std::string_view shell);

}  // namespace berth::cli
