// `attn train` options, in-process: command line > --config FILE > resumed checkpoint > defaults.
#include <doctest/doctest.h>

#include "commands.h"
#include "core/error.h"
#include "test_helpers.h"
#include "train_command.h"

using namespace attn;
using attn::cli::args;

TEST_CASE("defaults, config file and command line: the command line wins") {
  attn::testing::temp_dir d;
  const std::string data = d.write("train.txt", "a b c\n");
  const std::string cfg = d.write(
      "opts.cfg", "# comment\nmodel = lm\ntrain = " + data + "\nlr = 0.01\nheads = 8\nstrict = true\nsteps = 50\n");
  cli::train_command c;
  REQUIRE(cli::parse_train_command({"--config", cfg, "--lr", "0.5", "-o", d.path("x.ckpt"), "--layers", "3"}, c));
  CHECK(c.train.schedule.lr == 0.5f);  // command line over config
  CHECK(c.model.heads == 8);           // config over default
  CHECK(c.model.layers == 3);
  CHECK(c.model.d_model == 256);  // default
  CHECK(c.model.family == "lm");
  CHECK(c.data.format == data_format::lm);
  CHECK(c.data.strict);
  CHECK(c.train.steps == 50);
  CHECK(c.train.epochs == 0);
  CHECK(c.train.checkpoint_path == d.path("x.ckpt"));
  CHECK(c.values.at("lr") == "0.5");
  CHECK(c.values.at("heads") == "8");
  CHECK(c.values.count("output") == 0);  // paths are not part of the stored training config
  CHECK(c.explicit_keys.count("heads") == 1);
  CHECK(c.explicit_keys.count("d-model") == 0);
  CHECK(c.optimizer.kind == "adamw");
  CHECK(c.train.batching.batch_tokens == 4096);
}

TEST_CASE("flags, --batch-size and the default epoch limit") {
  attn::testing::temp_dir d;
  const std::string data = d.write("train.tsv", "a\tb\n");
  cli::train_command c;
  REQUIRE(cli::parse_train_command({"--arch", "rnn", "--train", data, "-o", d.path("y"), "--bidirectional",
                                    "--tie-output=false", "--batch-size", "16"},
                                   c));
  CHECK(c.model.bidirectional);
  CHECK_FALSE(c.model.tie_output);
  CHECK(c.train.batching.batch_size == 16);
  CHECK(c.train.batching.batch_tokens == 0);
  CHECK(c.train.epochs == 10);
  CHECK(c.data.format == data_format::pairs);
}

TEST_CASE("bad values are usage errors (exit 2) with one line; missing files exit 1") {
  attn::testing::temp_dir d;
  const std::string data = d.write("train.txt", "a b\n"), z = d.path("z");
  auto code = [](const args& a) { return cli::dispatch(a); };
  CHECK(code({"train", "--arch", "nonsense", "--train", data, "-o", z}) == 2);
  CHECK(code({"train", "--arch", "lm", "--train", data, "-o", z, "--lr", "fast"}) == 2);
  CHECK(code({"train", "--arch", "lm", "--train", data, "-o", z, "--schedule", "linear"}) == 2);
  CHECK(code({"train", "--arch", "lm", "--train", data, "-o", z, "--attention", "weird"}) == 2);
  CHECK(code({"train", "--arch", "lm", "--train", data}) == 2);  // no -o
  CHECK(code({"train", "--arch", "lm", "--train", d.path("no_such_file.txt"), "-o", z}) == 1);
  CHECK(code({"train", "--arch", "lm", "--train", data, "-o", z, "--config", d.path("no_such.cfg")}) == 1);
  cli::train_command c;
  CHECK_THROWS_WITH_AS(cli::parse_train_command({"--arch", "lm", "--train", data, "-o", z, "--long", "cut"}, c),
                       "--long must be truncate or skip, not 'cut'", cli::usage_error);
}

TEST_CASE("--arch names the family; --model is a checkpoint's option, refused with a hint") {
  attn::testing::temp_dir d;
  const std::string data = d.write("train.txt", "a b c\n"), z = d.path("z");
  cli::train_command c;
  CHECK_THROWS_WITH_AS(cli::parse_train_command({"--model", "lm", "--train", data, "-o", z}, c),
                       "--model names a checkpoint; the model family is --arch lm", cli::usage_error);
  CHECK_THROWS_AS(cli::parse_train_command({"-m", "x.ckpt", "--train", data, "-o", z}, c), cli::usage_error);
  // A --config file may use arch = or the old key model =.
  for (const char* key : {"arch", "model"}) {
    cli::train_command k;
    const std::string cfg = d.write(std::string(key) + ".cfg", std::string(key) + " = rnn\n");
    REQUIRE(cli::parse_train_command({"--config", cfg, "--train", data, "-o", z}, k));
    CHECK(k.model.family == "rnn");
    CHECK(k.values.at("arch") == "rnn");
    CHECK(k.values.count("model") == 0);
    CHECK(k.config_keys.count("arch") == 1);
  }
}

TEST_CASE("a checkpoint written before --arch (train_config model = lm) resumes") {
  attn::testing::temp_dir d;
  const std::string data = d.write("train.txt", "a b c\n");
  model_config mc;
  mc.family = "lm";
  checkpoint old;
  old.model_config = mc.to_map();
  old.train_config = {{"model", "lm"}, {"train", data}, {"lr", "0.5"}};
  old.counters["step"] = 3;
  const std::string path = d.path("old.ckpt");
  save_checkpoint(path, old);
  cli::train_command c;
  REQUIRE(cli::parse_train_command({"--resume", path}, c));
  CHECK(c.model.family == "lm");
  CHECK(c.values.at("arch") == "lm");
  CHECK(c.from_checkpoint.at("arch") == std::make_pair(path, std::string("model")));
  CHECK(c.train.schedule.lr == 0.5f);
  cli::train_command other;
  CHECK_THROWS_WITH_AS(cli::parse_train_command({"--resume", path, "--arch", "rnn"}, other),
                       "--arch rnn conflicts with the checkpoint's family lm", cli::usage_error);
}
