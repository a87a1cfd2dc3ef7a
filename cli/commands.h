#pragma once
// The table of `attn` subcommands. To add one: write cli/cmd_<name>.cpp with
// `int cmd_<name>(const args&)`, declare it here, and add a row to the table in commands.cpp.
#include <stdexcept>
#include <string>
#include <vector>

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

// Thrown for anything the user typed wrong (unknown option, missing argument): exit code 2.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
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
