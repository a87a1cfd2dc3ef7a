// attn train / finetune options in three steps: parsing argv touches no file, loading reads the
// --config file and the checkpoints, resolving merges and validates.
#include <doctest/doctest.h>

#include "commands.h"
#include "core/error.h"
#include "test_helpers.h"
#include "train_command.h"

using namespace attn;

TEST_CASE("train: parsing argv reads no file; loading then reports the missing --config file") {
  attn::testing::temp_dir d;  // nothing exists there
  const std::string cfg = d.path("no.cfg"), ck = d.path("no.ckpt");
  cli::train_args a;
  REQUIRE(cli::parse_train_args({"--arch", "lm", "--config", cfg, "--resume", ck, "--train", d.path("t")}, a));
  CHECK(a.vm["config"].as<std::string>() == cfg);
  CHECK(d.names().empty());
  cli::train_command c;
  CHECK_THROWS_WITH_AS(cli::load_train_inputs(a, c),
                       ("cannot open config file '" + cfg + "': No such file or directory").c_str(), attn::error);
}

TEST_CASE("train: without --config, loading reports the missing --resume checkpoint") {
  attn::testing::temp_dir d;
  const std::string ck = d.path("no.ckpt");
  cli::train_args a;
  REQUIRE(cli::parse_train_args({"--resume", ck}, a));
  cli::train_command c;
  CHECK_THROWS_AS(cli::load_train_inputs(a, c), attn::error);
  CHECK(!c.loaded.resumed);
  CHECK(d.names().empty());
}

TEST_CASE("finetune: parsing argv reads no file; loading reports the missing base") {
  attn::testing::temp_dir d;
  const std::string base = d.path("base.ckpt");
  cli::train_args a;
  REQUIRE(cli::parse_finetune_args({"-m", base, "--train", d.path("t"), "-o", d.path("o")}, a));
  CHECK(a.command == "finetune");
  cli::train_command c;
  CHECK_THROWS_AS(cli::load_train_inputs(a, c), attn::error);
  CHECK(c.base_path == base);
  CHECK(c.command == "finetune");
  CHECK(d.names().empty());
}

TEST_CASE("parsing alone still rejects what argv alone shows") {
  cli::train_args a;
  CHECK_THROWS_AS(cli::parse_train_args({"--no-such-option"}, a), cli::usage_error);
  cli::train_args b;
  CHECK_THROWS_AS(cli::parse_train_args({"-m", "lm"}, b), cli::usage_error);
  cli::train_args f;
  CHECK_THROWS_AS(cli::parse_finetune_args({"--heads", "8"}, f), cli::usage_error);
}
