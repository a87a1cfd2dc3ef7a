// In-process tests of the subcommand table: argv arrays in, exit codes out.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "commands.h"

using attn::cli::dispatch;

TEST_CASE("every mission subcommand is registered exactly once") {
  std::set<std::string> names;
  for (const auto& c : attn::cli::commands()) {
    CHECK(names.insert(c.name).second);
    CHECK(std::string(c.summary).size() > 10);
  }
  for (const char* n : {"vocab", "tokenize", "train", "finetune", "decode", "attention", "eval", "inspect", "plot", "merge"})
    CHECK(names.count(n) == 1);
}

TEST_CASE("help and version exit 0, no command or an unknown one exit 2") {
  CHECK(dispatch({}) == 2);
  CHECK(dispatch({"help"}) == 0);
  CHECK(dispatch({"--help"}) == 0);
  CHECK(dispatch({"--version"}) == 0);
  CHECK(dispatch({"no-such-command"}) == 2);
  CHECK(dispatch({"help", "vocab"}) == 0);
}

TEST_CASE("one_line shows control bytes as \\xNN; a usage_error keeps a NUL as \\x00") {
  CHECK(attn::cli::one_line("a\tb\nc\x1b") == "a\\x09b\\x0ac\\x1b");
  const std::string value = std::string("0.1") + '\0' + "x";
  CHECK(std::string(attn::cli::usage_error("--lr takes a number, not '" + value + "'").what()) ==
        "--lr takes a number, not '0.1\\x00x'");
}
