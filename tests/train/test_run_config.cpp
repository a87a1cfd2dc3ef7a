// The options of a training run, described once, and the precedence of their layers.
#include "train/run_config.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "core/error.h"
#include "core/text_codec.h"
#include "data/batching.h"
#include "models/model.h"
#include "models/model_config.h"
#include "train/loop.h"
#include "train/optimizer.h"
#include "train/schedule.h"

using namespace attn;

TEST_CASE("run_options: each option once; choices from the registry tables, listed in the help") {
  std::set<std::string> names;
  for (const run_option& o : run_options()) {
    CAPTURE(o.name);
    CHECK(names.insert(o.name).second);
    CHECK(!o.help.empty());
    if (o.default_text && !o.choices.empty())
      CHECK(std::find(o.choices.begin(), o.choices.end(), *o.default_text) != o.choices.end());
  }
  CHECK(run_option_named("arch").choices == model_families());
  CHECK(run_option_named("arch").help == "model family: transformer | rnn | lm | classifier");
  CHECK(run_option_named("optimizer").choices.size() == optimizer_kinds().size());
  CHECK(run_option_named("schedule").choices.size() == schedule_kinds().size());
  CHECK(run_option_named("schedule").help == "LR schedule: constant | noam | cosine");
  CHECK(run_option_named("activation").choices == std::vector<std::string>{"gelu", "relu"});
  CHECK(run_option_named("output").short_name == 'o');
  CHECK(run_option_named("output").role == option_role::path);
  CHECK(run_option_named("strict").is_flag);
  CHECK_THROWS_AS(run_option_named("frobnicate"), error);
}

TEST_CASE("run_options: every model_config field a user sets is an architecture option with its default") {
  const auto defaults = model_config{}.to_map();
  for (const char* field : {"layers", "d_model", "heads", "ff", "activation", "norm", "combine", "pos_encoding",
                            "attention", "dropout", "share_embeddings", "tie_output", "embed", "hidden",
                            "bidirectional", "pooling"}) {
    CAPTURE(field);
    const run_option& o = run_option_named(option_of_field(field));
    CHECK(o.role == option_role::arch);
    REQUIRE(o.default_text);
    CHECK(model_config::from_map({{field, *o.default_text}}).to_map().at(field) == defaults.at(field));
  }
  CHECK(*run_option_named("dropout").default_text == "0.1");  // as a user types it
  CHECK(field_of_option("d-model") == "d_model");
  CHECK(field_of_option("arch") == "family");
  CHECK(option_of_field("family") == "arch");
  CHECK(option_of_field("pos_encoding") == "pos-encoding");
}

TEST_CASE("run_options: the optimizer, schedule, batching and loop options come from their structs' visitors") {
  auto check_rows = [](const std::vector<config_field>& fields) {
    for (const config_field& f : fields) {
      CAPTURE(f.key);
      if (f.option.empty()) {
        CHECK_THROWS_AS(run_option_named(option_of_field(f.key)), error);
        continue;
      }
      const run_option& o = run_option_named(f.option);
      CHECK(o.role == option_role::layered);
      CHECK(o.choices == f.choices);
      REQUIRE(o.default_text);
      CHECK(read_float(*o.default_text).value_or(-1) == read_float(f.option_default).value_or(-1));
    }
  };
  check_rows(fields_of<optimizer_config>());
  check_rows(fields_of<schedule_config>());
  check_rows(fields_of<batching_config>());
  check_rows(fields_of<train_options>());
  // Where the command line's default is not the struct's.
  CHECK(*run_option_named("weight-decay").default_text == "0.01");
  CHECK(optimizer_config{}.weight_decay == 0.0f);
  CHECK(*run_option_named("batch-tokens").default_text == "4096");
  CHECK(*run_option_named("batch-size").default_text == "0");
  CHECK(batching_config{}.batch_size == 32);
  CHECK(*run_option_named("lr").default_text == "0.001");
  // Settings no option reaches are still in the struct's text form.
  CHECK(optimizer_config_to_map(optimizer_config{}).count("beta2") == 1);
}

TEST_CASE("take_training_options: option text into the structs; the first value that cannot be taken") {
  std::map<std::string, std::string> values;
  for (const run_option& o : run_options())
    if (o.default_text) values[o.name] = *o.default_text;
  values["optimizer"] = "sgd";
  values["momentum"] = "0.9";
  values["schedule"] = "cosine";
  values["min-lr"] = "0.0001";
  values["batch-size"] = "16";
  values["steps"] = "50";
  values["seed"] = "18446744073709551615";
  optimizer_config o;
  train_options t;
  CHECK_FALSE(take_training_options(values, o, t));
  CHECK(o.kind == "sgd");
  CHECK(o.momentum == 0.9f);
  CHECK(o.weight_decay == 0.01f);
  CHECK(t.schedule.kind == "cosine");
  CHECK(t.schedule.min_lr == 0.0001f);
  CHECK(t.batching.batch_size == 16);
  CHECK(t.batching.batch_tokens == 4096);  // the caller drops it when batch-size is set
  CHECK(t.steps == 50);
  CHECK(t.seed == 18446744073709551615ULL);
  CHECK(t.clip == 1.0f);

  auto problem = [&](const std::string& option, const std::string& text) {
    auto v = values;
    v[option] = text;
    optimizer_config o2;
    train_options t2;
    const auto p = take_training_options(v, o2, t2);
    REQUIRE(p);
    CHECK(p->option == option);
    CHECK(p->value == text);
    return *p;
  };
  CHECK(problem("optimizer", "adagrad").rule == "is not an optimizer (known: sgd, rmsprop, adam, adamw)");
  CHECK(problem("schedule", "linear").rule == "is not an LR schedule (known: constant, noam, cosine)");
  CHECK(problem("lr", "fast").expected == "a number");
  CHECK(problem("steps", "1.5").expected == "an integer");
  CHECK(problem("seed", "-1").rule == "must be at least 0");
  CHECK(problem("batch-tokens", "many").expected == "a non-negative integer");
  // An option the map does not hold leaves the field alone.
  optimizer_config o3;
  train_options t3;
  CHECK_FALSE(take_training_options({{"lr", "0.5"}}, o3, t3));
  CHECK(t3.schedule.lr == 0.5f);
  CHECK(o3.weight_decay == 0.0f);
  CHECK(t3.batching.batch_size == 32);
}

TEST_CASE("merge_option_layers: command line > config file > checkpoint > inherited > defaults") {
  option_layers l;
  l.command_line = {{"lr", "0.5"}};
  l.config_file = {{"lr", "0.1"}, {"heads", "8"}};
  l.checkpoint_path = "run.ckpt";
  l.checkpoint = {{"lr", "0.2"}, {"heads", "2"}, {"layers", "3"}, {"dropout", "0.3"}};
  l.base_path = "base.ckpt";
  l.inherited = {{"dropout", "0.25"}, {"max-len", "64"}, {"optimizer", "sgd"}};
  l.inherited_unblamed = {"optimizer"};
  l.defaults = {{"lr", "0.001"}, {"layers", "2"}, {"max-len", "256"}, {"steps", "0"}, {"optimizer", "adamw"}};
  const layered_options m =
      merge_option_layers({"lr", "heads", "layers", "dropout", "max-len", "steps", "optimizer", "valid"}, l);
  CHECK(m.values.at("lr") == "0.5");
  CHECK(m.values.at("heads") == "8");
  CHECK(m.values.at("layers") == "3");
  CHECK(m.values.at("dropout") == "0.3");
  CHECK(m.values.at("max-len") == "64");
  CHECK(m.values.at("steps") == "0");
  CHECK(m.values.at("optimizer") == "sgd");
  CHECK(m.values.count("valid") == 0);  // no layer sets it
  CHECK(m.explicit_keys == std::set<std::string>{"lr", "heads"});
  CHECK(m.config_keys == std::set<std::string>{"heads"});
  CHECK(m.from_checkpoint.at("layers") == std::make_pair(std::string("run.ckpt"), std::string("layers")));
  CHECK(m.from_checkpoint.at("max-len") == std::make_pair(std::string("base.ckpt"), std::string("max_len")));
  CHECK(m.from_checkpoint.count("optimizer") == 0);
  CHECK(m.from_checkpoint.count("steps") == 0);
  CHECK(m.from_checkpoint.count("lr") == 0);
}

TEST_CASE("merge_option_layers: a checkpoint written before --arch holds the family as model") {
  option_layers l;
  l.checkpoint_path = "old.ckpt";
  l.checkpoint = {{"model", "lm"}};
  const layered_options m = merge_option_layers({"arch"}, l);
  CHECK(m.values.at("arch") == "lm");
  CHECK(m.from_checkpoint.at("arch") == std::make_pair(std::string("old.ckpt"), std::string("model")));
  CHECK(stored_option_key({{"arch", "rnn"}, {"model", "lm"}}, "arch") == "arch");
  CHECK(stored_option_key({{"lr", "1"}}, "arch") == "");
}
