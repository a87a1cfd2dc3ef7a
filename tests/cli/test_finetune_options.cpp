// `attn finetune` options and errors, in-process (the run itself is tested end to end in
// tests/e2e/test_finetune.sh).
#include <doctest/doctest.h>

#include "commands.h"
#include "core/error.h"
#include "io/checkpoint.h"
#include "test_helpers.h"
#include "train_command.h"

using namespace attn;

TEST_CASE("finetune: architecture and vocabulary flags are usage errors naming the flag") {
  attn::testing::temp_dir d;  // nothing exists there, and nothing may be written
  const std::string b = d.path("b.ckpt"), x = d.path("x"), y = d.path("y");
  cli::train_command c;
  CHECK_THROWS_WITH_AS(cli::parse_finetune_command({"-m", b, "--heads", "8"}, c),
                       "--heads: a fine-tuned model keeps the base checkpoint's architecture (only --dropout may "
                       "change)",
                       cli::usage_error);
  CHECK(cli::dispatch({"finetune", "-m", b, "--d-model=64", "--train", x, "-o", y}) == 2);
  CHECK(cli::dispatch({"finetune", "-m", b, "--vocab-size", "100", "--train", x, "-o", y}) == 2);
  CHECK(cli::dispatch({"finetune", "--train", x, "-o", y}) == 2);  // no -m
  CHECK(cli::dispatch({"finetune", "-m", d.path("a"), "--resume", b, "--train", x, "-o", y}) == 2);
  CHECK(d.names().empty());
}

TEST_CASE("finetune: a checkpoint that holds no model is an error (exit 1)") {
  checkpoint empty;
  empty.vocabularies["shared"] = "x";
  empty.metadata["note"] = "no model here";
  attn::testing::temp_dir d;
  const std::string base = d.path("empty.ckpt"), out = d.path("out.ckpt");
  save_checkpoint(base, empty);
  const std::string data = d.write("train.txt", "a b c\n");
  CHECK(cli::dispatch({"finetune", "-m", base, "--train", data, "-o", out}) == 1);
  cli::train_command c;
  CHECK_THROWS_WITH_AS(cli::parse_finetune_command({"-m", base, "--train", data, "-o", out}, c),
                       ("'" + base + "' holds no model (no model config or no parameters)").c_str(), attn::error);
  CHECK(cli::dispatch({"finetune", "-m", d.path("missing.ckpt"), "--train", data, "-o", out}) == 1);
  CHECK(d.names() == std::vector<std::string>{"empty.ckpt", "train.txt"});  // nothing written
}
