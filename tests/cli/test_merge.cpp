// `attn merge` and finetune's LoRA options, in-process (adapters themselves: tests/models/test_lora.cpp;
// the whole round trip: tests/e2e/test_lora.sh).
#include <doctest/doctest.h>

#include <filesystem>

#include "commands.h"
#include "core/error.h"
#include "test_helpers.h"
#include "train_command.h"

using namespace attn;

namespace {
// A tiny lm checkpoint trained for one step.
std::string tiny_base(attn::testing::temp_dir& d) {
  std::string text;
  for (int i = 0; i < 20; ++i) text += "the cat sat on the mat " + std::to_string(i) + "\n";
  const std::string data = d.write("t.txt", text), base = d.path("base.ckpt");
  REQUIRE(cli::dispatch({"train", "--arch", "lm", "--train", data, "--layers", "1", "--d-model", "8", "--heads", "2",
                         "--ff", "8", "--vocab-size", "270", "--steps", "1", "--threads", "1", "-q", "-o", base}) == 0);
  return base;
}
}  // namespace

TEST_CASE("merge: usage errors exit 2, a plain or missing checkpoint exits 1, nothing is written") {
  attn::testing::temp_dir d;
  const std::string base = tiny_base(d), out = d.path("m.ckpt");
  CHECK(cli::dispatch({"merge"}) == 2);
  CHECK(cli::dispatch({"merge", base}) == 2);  // no -o
  CHECK(cli::dispatch({"merge", base, "-o", out}) == 1);  // not an adapter
  CHECK(cli::dispatch({"merge", d.path("missing.ckpt"), "-o", out}) == 1);
  CHECK(cli::dispatch({"merge", base, "-o", base}) == 2);  // the output would overwrite the input
  CHECK_FALSE(std::filesystem::exists(out));
}

TEST_CASE("finetune --lora: options resolved, defaulted and stored; misuse is a usage error") {
  attn::testing::temp_dir d;
  const std::string base = tiny_base(d), data = d.path("t.txt"), out = d.path("a.ckpt");
  cli::train_command c;
  cli::parse_finetune_command({"-m", base, "--train", data, "--lora", "2", "-o", out}, c);
  CHECK(c.lora.rank == 2);
  CHECK(c.lora.alpha == 2.0f);  // default alpha = R
  CHECK(c.lora.targets == default_lora_targets());
  CHECK_FALSE(c.lora.train_bias);
  CHECK(c.values.at("lora") == "2");
  CHECK(c.values.at("lora-alpha") == "2");
  CHECK(c.lora.dropout == 0.0f);  // default: no adapter dropout, stored as 0
  CHECK(c.values.at("lora-dropout") == "0");

  cli::train_command c2;
  cli::parse_finetune_command({"-m", base, "--train", data, "--lora", "4", "--lora-alpha", "16", "--lora-targets",
                               "*", "--lora-train-bias", "--lora-dropout", "0.25", "-o", out},
                              c2);
  CHECK(c2.lora.alpha == 16.0f);
  CHECK(c2.lora.targets == std::vector<std::string>{"*"});
  CHECK(c2.lora.train_bias);
  CHECK(c2.lora.dropout == 0.25f);
  CHECK(c2.values.at("lora-dropout") == "0.25");

  cli::train_command plain;
  cli::parse_finetune_command({"-m", base, "--train", data, "-o", out}, plain);
  CHECK(plain.lora.rank == 0);
  CHECK_FALSE(plain.values.count("lora"));

  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"--lora", "0"}, {"--lora-alpha", "4"}, {"--lora", "2", "--lora-alpha", "0"},
        {"--lora", "2", "--freeze", "embed"}, {"--base", base}, {"--lora-dropout", "0.1"},
        {"--lora", "2", "--lora-dropout", "1"}, {"--lora", "2", "--lora-dropout", "-0.5"},
        {"--lora", "2", "--lora-dropout", "x"}}) {
    cli::train_command x;
    std::vector<std::string> argv{"-m", base, "--train", data, "-o", out};
    argv.insert(argv.end(), bad.begin(), bad.end());
    CHECK_THROWS_AS(cli::parse_finetune_command(argv, x), cli::usage_error);
  }
  // Non-finite values too, before any data is read (an infinite alpha ended in "training diverged").
  for (const char* alpha : {"inf", "infinity", "nan", "1e39", "0x10"}) {
    cli::train_command x;
    CHECK_THROWS_WITH_AS(
        cli::parse_finetune_command({"-m", base, "--train", data, "-o", out, "--lora", "2", "--lora-alpha", alpha}, x),
        ("--lora-alpha must be a finite number > 0, not '" + std::string(alpha) + "'").c_str(), cli::usage_error);
  }
}
