#pragma once
// The table of `attn` subcommands. To add one: write cli/cmd_<name>.cpp with
// `int cmd_<name>(const args&)`, declare it here, and add a row to the table in commands.cpp.
#include <stdexcept>
#include <string>
#include <vector>

#include "core/error.h"

namespace attn::cli {

using args = std::vector<std::string>;  // argv after the subcommand name

struct command {
  const char* name;
  int (*run)(const args&);
  const char* summary;
};

const std::vector<command>& commands();

// Runs `attn <argv...>` (argv excludes the program name); returns the exit code.
// Catches every exception: usage errors exit 2, runtime failures exit 1.
int dispatch(const args& argv);

// A message as exactly one line, for errors and warnings alike: control bytes (< 0x20, tab and
// newline included, and 0x7f) from file names, data or option values are shown as \xNN.
std::string one_line(const std::string& message);

// Thrown for anything the user typed wrong (unknown option, missing argument): exit code 2.
// Its NUL bytes are shown as \x00, as attn::error's are (a --config file can hold one).
struct usage_error : std::runtime_error {
  explicit usage_error(const std::string& message) : std::runtime_error(without_nul(message)) {}
  explicit usage_error(const char* message) : std::runtime_error(message) {}
};

int cmd_vocab(const args&);
int cmd_tokenize(const args&);
int cmd_train(const args&);
int cmd_finetune(const args&);
int cmd_decode(const args&);
int cmd_attention(const args&);
int cmd_eval(const args&);
int cmd_inspect(const args&);
int cmd_plot(const args&);
int cmd_merge(const args&);

// The answer of a registered subcommand that is not built yet: "not implemented yet", exit 2
// (--help: exit 0).
int not_implemented(const char* name, const args& argv);

}  // namespace attn::cli
