// `attn finetune` options and errors, in-process (the run itself is tested end to end in
// tests/e2e/test_finetune.sh).
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>

#include "commands.h"
#include "core/error.h"
#include "io/checkpoint.h"
#include "train_options.h"

using namespace attn;

namespace {

struct temp_file {
  std::string path;
  temp_file(const std::string& name, const std::string& text) : path(name) { std::ofstream(path) << text; }
  ~temp_file() { std::remove(path.c_str()); }
};

}  // namespace

TEST_CASE("finetune: architecture and vocabulary flags are usage errors naming the flag") {
  cli::train_command c;
  CHECK_THROWS_WITH_AS(cli::parse_finetune_command({"-m", "b.ckpt", "--heads", "8"}, c),
                       "--heads: a fine-tuned model keeps the base checkpoint's architecture (only --dropout may "
                       "change)",
                       cli::usage_error);
  CHECK(cli::dispatch({"finetune", "-m", "b.ckpt", "--d-model=64", "--train", "x", "-o", "y"}) == 2);
  CHECK(cli::dispatch({"finetune", "-m", "b.ckpt", "--vocab-size", "100", "--train", "x", "-o", "y"}) == 2);
  CHECK(cli::dispatch({"finetune", "--train", "x", "-o", "y"}) == 2);  // no -m
  CHECK(cli::dispatch({"finetune", "-m", "a", "--resume", "b", "--train", "x", "-o", "y"}) == 2);
}

TEST_CASE("finetune: a checkpoint that holds no model is an error (exit 1)") {
  checkpoint empty;
  empty.vocabularies["shared"] = "x";
  empty.metadata["note"] = "no model here";
  save_checkpoint("test_ft_empty.ckpt", empty);
  temp_file data("test_ft_train.txt", "a b c\n");
  CHECK(cli::dispatch({"finetune", "-m", "test_ft_empty.ckpt", "--train", data.path, "-o", "test_ft_out.ckpt"}) == 1);
  cli::train_command c;
  CHECK_THROWS_WITH_AS(cli::parse_finetune_command({"-m", "test_ft_empty.ckpt", "--train", data.path, "-o", "o"}, c),
                       "'test_ft_empty.ckpt' holds no model (no model config or no parameters)", attn::error);
  std::remove("test_ft_empty.ckpt");
  CHECK(cli::dispatch({"finetune", "-m", "test_ft_missing.ckpt", "--train", data.path, "-o", "o"}) == 1);
}
