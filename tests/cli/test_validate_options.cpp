// validate_train_command and ignored_options (cli/train_command.h): every range, named as the
// user wrote the option, "(the default)" when not given, the checkpoint when a value came from
// one; and the lib checks they are built on (model_config_problems, train_settings_problems).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "commands.h"
#include "core/error.h"
#include "models/model_config.h"
#include "train/loop.h"
#include "train/settings.h"
#include "train_command.h"

using namespace attn;

namespace {

std::string field_equals(const std::string& f) {
  return f;
}

std::vector<std::string> fields(const std::vector<config_problem>& ps) {
  std::vector<std::string> out;
  for (const auto& p : ps) out.push_back(p.field);
  return out;
}

// The message of the usage_error parse_train_command throws for these extra options (the
// training file does not exist: options are checked before any file is looked at).
std::string train_error(std::vector<std::string> extra) {
  std::vector<std::string> argv = {"--arch", "lm", "--train", "/nonexistent/train.txt", "-o", "/nonexistent/x"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  cli::train_command c;
  try {
    cli::parse_train_command(argv, c);
  } catch (const cli::usage_error& e) {
    return e.what();
  } catch (const attn::error& e) {
    return std::string("not a usage error: ") + e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("model_config_problems: the defaults of every family are fine; each rule names its field") {
  for (const char* family : {"transformer", "rnn", "lm", "classifier"}) {
    model_config c;
    c.family = family;
    CHECK(model_config_problems(c, field_equals).empty());
  }
  model_config c;
  c.layers = 0;
  c.ff = 0;
  c.dropout = std::nanf("");
  c.max_len = 1;
  CHECK(fields(model_config_problems(c, field_equals)) ==
        std::vector<std::string>{"layers", "ff", "dropout", "max_len"});
  c = model_config();
  c.heads = 3;  // 256 % 3 != 0
  const auto p = model_config_problems(c, [](const std::string& f) { return "<" + f + ">"; });
  REQUIRE(p.size() == 1);
  CHECK(p[0].field == "heads");
  CHECK(p[0].rule == "must divide <d_model>");
  c = model_config();
  c.attention = "additive";
  CHECK(fields(model_config_problems(c, field_equals)) == std::vector<std::string>{"heads"});
  c = model_config();
  c.d_model = 6;
  c.heads = 2;
  c.pos_encoding = "rope";  // head width 3
  CHECK(fields(model_config_problems(c, field_equals)) == std::vector<std::string>{"d_model"});
  c = model_config();
  c.dropout = 1.0f;
  CHECK(fields(model_config_problems(c, field_equals)) == std::vector<std::string>{"dropout"});
}

TEST_CASE("model_config_problems: only the fields a family uses; data sizes on request") {
  model_config c;
  c.family = "rnn";
  c.heads = 0;  // an rnn has no heads
  c.layers = 0;
  CHECK(model_config_problems(c, field_equals).empty());
  c.hidden = 7;
  c.bidirectional = true;
  CHECK(fields(model_config_problems(c, field_equals)) == std::vector<std::string>{"hidden"});
  c = model_config();
  c.family = "lm";
  c.embed = 0;  // an lm has no rnn embedding
  CHECK(model_config_problems(c, field_equals).empty());
  CHECK(fields(model_config_problems(c, field_equals, true)) == std::vector<std::string>{"src_vocab"});
  c.family = "classifier";
  c.src_vocab = 10;
  CHECK(fields(model_config_problems(c, field_equals, true)) == std::vector<std::string>{"num_classes"});
  CHECK_FALSE(model_config_uses("rnn", "heads"));
  CHECK_FALSE(model_config_uses("transformer", "hidden"));
  CHECK(model_config_uses("rnn", "attention"));
  CHECK(model_config_uses("classifier", "pooling"));
  CHECK_FALSE(model_config_uses("lm", "pooling"));
}

TEST_CASE("checked_model_config: a stored config's problem names its source and the stored key") {
  model_config c;
  c.family = "lm";
  c.src_vocab = 50;
  c.max_len = 0;
  CHECK_THROWS_WITH_AS(checked_model_config(c.to_map(), "checkpoint 'x.ckpt'"),
                       "checkpoint 'x.ckpt' holds max_len = 0 (must be at least 2)", attn::error);
  c.max_len = 16;
  c.heads = 3;
  c.d_model = 16;
  CHECK_THROWS_WITH_AS(checked_model_config(c.to_map(), "checkpoint 'x.ckpt'"),
                       "checkpoint 'x.ckpt' holds heads = 3 (must divide d_model = 16)", attn::error);
  c.heads = 2;
  CHECK(checked_model_config(c.to_map(), "checkpoint 'x.ckpt'").heads == 2);
  auto m = c.to_map();
  m["layers"] = "-1";
  CHECK_THROWS_WITH_AS(checked_model_config(m, "checkpoint 'x.ckpt'"),
                       "checkpoint 'x.ckpt': bad value '-1' for 'layers' (expected a non-negative integer)",
                       attn::error);
  try {
    model_config::from_map({{"heads", "four"}});
    FAIL("no error");
  } catch (const model_config_error& e) {
    CHECK(e.key == "heads");
    CHECK(e.value == "four");
    CHECK(e.expected == "a non-negative integer");
  }
}

TEST_CASE("train_settings_problems: every range of the optimizer, schedule and loop settings") {
  optimizer_config o;
  train_options t;
  t.batching.batch_size = 0;  // the token budget is used
  t.batching.batch_tokens = 4096;
  t.epochs = 10;
  CHECK(settings::train_settings_problems(o, t, field_equals).empty());
  const float nan = std::nanf(""), inf = std::numeric_limits<float>::infinity();
  t.schedule.lr = 0;
  t.schedule.min_lr = -1;
  t.schedule.warmup = -1;
  o.weight_decay = nan;
  o.momentum = 1;
  t.clip = inf;
  t.label_smoothing = 1;
  t.batching.batch_tokens = 0;
  t.epochs = -1;
  t.steps = -1;
  t.valid_every = -1;
  t.early_stopping = -1;
  t.save_every = -1;
  CHECK(fields(settings::train_settings_problems(o, t, field_equals)) ==
        std::vector<std::string>{"lr", "min_lr", "warmup", "weight_decay", "momentum", "clip", "label_smoothing",
                                 "batch_tokens", "epochs", "steps", "valid_every", "early_stopping", "save_every"});
  o = optimizer_config();
  t = train_options();
  t.batching.batch_tokens = 0;
  t.batching.batch_size = 8;  // batch_tokens unused
  t.schedule.kind = "noam";
  t.schedule.warmup = 0;
  const auto p = settings::train_settings_problems(o, t, [](const std::string& f) { return "<" + f + ">"; });
  REQUIRE(p.size() == 1);
  CHECK(p[0].field == "warmup");
  CHECK(p[0].rule == "must be at least 1 for <schedule>");
  t.schedule = schedule_config();
  t.schedule.kind = "cosine";
  t.schedule.lr = 0.1f;
  t.schedule.min_lr = 0.5f;
  CHECK(fields(settings::train_settings_problems(o, t, field_equals)) == std::vector<std::string>{"min_lr"});
  t.schedule.lr = nan;
  t.schedule.min_lr = 0;
  CHECK(fields(settings::train_settings_problems(o, t, field_equals)) == std::vector<std::string>{"lr"});
}

TEST_CASE("parse_train_command: a bad option is a usage error naming it, before any file is opened") {
  CHECK(train_error({"--lr", "0"}) == "--lr 0 must be a finite number > 0");
  CHECK(train_error({"--lr", "inf"}) == "--lr takes a number, not 'inf'");  // finite decimals only
  CHECK(train_error({"--lr", "fast"}) == "--lr takes a number, not 'fast'");
  CHECK(train_error({"--lr", "0x10"}) == "--lr takes a number, not '0x10'");
  CHECK(train_error({"--clip", " 0.5"}) == "--clip takes a number, not ' 0.5'");
  CHECK(train_error({"--steps", "+5"}) == "--steps takes an integer, not '+5'");
  CHECK(train_error({"--warmup", " 5"}) == "--warmup takes an integer, not ' 5'");
  CHECK(train_error({"--dropout", "1"}) == "--dropout 1 must be in [0, 1)");
  CHECK(train_error({"--dropout", "nan"}) == "--dropout takes a number, not 'nan'");
  CHECK(train_error({"--clip", "-1"}) == "--clip -1 must be a finite number >= 0 (0: off)");
  CHECK(train_error({"--momentum", "1"}) == "--momentum 1 must be in [0, 1)");
  CHECK(train_error({"--ff", "0"}) == "--ff 0 must be at least 1");
  CHECK(train_error({"--layers", "0"}) == "--layers 0 must be at least 1");
  CHECK(train_error({"--d-model", "0"}) == "--d-model 0 must be at least 1");
  CHECK(train_error({"--heads", "3", "--d-model", "16"}) == "--heads 3 must divide --d-model 16");
  CHECK(train_error({"--d-model", "30"}) == "--heads 4 (the default) must divide --d-model 30");
  CHECK(train_error({"--heads", "2", "--attention", "additive"}) == "--heads 2 must be 1 with --attention additive");
  CHECK(train_error({"--heads", "-2"}) == "--heads takes a non-negative integer, not '-2'");
  CHECK(train_error({"--max-len", "1"}) == "--max-len 1 must be at least 2");
  CHECK(train_error({"--warmup", "-1"}) == "--warmup -1 must be 0 or more");
  CHECK(train_error({"--schedule", "noam"}) == "--warmup 0 (the default) must be at least 1 for --schedule noam");
  CHECK(train_error({"--label-smoothing", "1"}) == "--label-smoothing 1 must be in [0, 1)");
  CHECK(train_error({"--weight-decay", "-0.5"}) == "--weight-decay -0.5 must be a finite number >= 0");
  CHECK(train_error({"--batch-tokens", "0"}) == "--batch-tokens 0 must be at least 1");
  CHECK(train_error({"--steps", "-3"}) == "--steps -3 must be 0 (no limit) or more");
  CHECK(train_error({"--save-every", "-1"}) == "--save-every -1 must be 0 (only at the end) or more");
  CHECK(train_error({"--log-every", "0"}) == "--log-every 0 must be at least 1");
  CHECK(train_error({"--vocab-size", "10"}).find("--vocab-size 10 must be between 260") == 0);
  CHECK(train_error({"--optimizer", "adagrad"}).find("--optimizer adagrad is not an optimizer") == 0);
  CHECK(train_error({"--src-vocab", "a"}).find("--src-vocab") != std::string::npos);
}

TEST_CASE("validate_train_command: values from a checkpoint blame the checkpoint (attn::error)") {
  cli::train_command c;
  c.command = "finetune";
  c.model.family = "lm";
  c.values = {{"max-len", "0"}, {"dropout", "0.1"}};
  c.from_checkpoint["max-len"] = {"base.ckpt", "max_len"};
  c.data.max_len = 0;
  c.train.batching.batch_tokens = 1;
  CHECK_THROWS_WITH_AS(cli::validate_train_command(c), "checkpoint 'base.ckpt' holds max_len = 0 (must be at least 2)",
                       attn::error);
  c.values["max-len"] = "300";
  c.data.max_len = 300;
  c.from_checkpoint.clear();
  c.explicit_keys.insert("max-len");
  CHECK_THROWS_WITH_AS(cli::validate_train_command(c), "--max-len 300 must not exceed the base model's max_len = 256",
                       cli::usage_error);
  c.values["max-len"] = "16";
  c.data.max_len = 16;
  c.config_keys.insert("max-len");
  c.config_path = "run.cfg";
  CHECK_NOTHROW(cli::validate_train_command(c));
  c.values["dropout"] = "2";
  c.model.dropout = 2;
  c.explicit_keys.insert("dropout");
  c.config_keys.insert("dropout");
  CHECK_THROWS_WITH_AS(cli::validate_train_command(c), "--dropout 2 (in 'run.cfg') must be in [0, 1)",
                       cli::usage_error);
}

TEST_CASE("validate_train_command: --train - needs a vocabulary; stdin serves one of --train and --valid") {
  cli::train_command c;
  c.model.family = "lm";
  c.data.format = data_format::lm;
  c.data.max_len = c.model.max_len;
  c.train.batching.batch_tokens = 4096;
  c.train_path = "-";
  CHECK_THROWS_AS(cli::validate_train_command(c), cli::usage_error);
  c.vocab_path = "v.txt";
  CHECK_NOTHROW(cli::validate_train_command(c));
  c.valid_path = "-";
  CHECK_THROWS_AS(cli::validate_train_command(c), cli::usage_error);
}

TEST_CASE("ignored_options: explicit options the run does not use, one message each") {
  cli::train_command c;
  c.model.family = "rnn";
  c.explicit_keys = {"heads", "hidden", "dropout", "momentum", "min-lr", "early-stopping"};
  const auto w = cli::ignored_options(c);
  CHECK(w == std::vector<std::string>{"--heads does not apply to an rnn model (ignored)",
                                      "--momentum applies to sgd and rmsprop, not adamw (ignored)",
                                      "--min-lr applies to --schedule cosine, not constant (ignored)",
                                      "--early-stopping needs --valid (ignored)"});
  c.model.family = "transformer";
  c.explicit_keys = {"hidden", "heads"};
  CHECK(cli::ignored_options(c) ==
        std::vector<std::string>{"--hidden does not apply to a transformer model (ignored)"});
  c.explicit_keys.clear();
  CHECK(cli::ignored_options(c).empty());
}
