// The library side of a training run: data read with the model's tokenizers and reported
// through a sink, the cosine total from the data, the fixed part of every checkpoint.
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <sstream>

#include "core/error.h"
#include "io/checkpoint.h"
#include "models/model.h"
#include "models/model_helpers.h"
#include "test_helpers.h"
#include "text/vocab.h"
#include "train/training_run.h"

using namespace attn;

namespace {

training_data char_model() {
  vocab v = make_special_vocab(tokenizer_kind::char_level, {});
  for (char c : std::string("abcdefgh ")) {
    v.tokens.push_back(std::string(1, c));
    v.counts.push_back(1);
  }
  training_data d;
  d.src = make_tokenizer(v);
  return d;
}

}  // namespace

TEST_CASE("read_training_file: examples, labels grown, problems reported through the sink") {
  training_data d = char_model();
  dataset_options o;
  o.format = data_format::labeled;
  o.max_len = 4;
  o.grow_labels = true;
  std::istringstream in("pos\tabc\nneg\tabcdefgh\nno tab here\n");
  std::vector<std::string> warnings;
  const dataset ds = read_training_file(in, "x.tsv", o, d, [&](const std::string& w) { warnings.push_back(w); });
  CHECK(ds.examples.size() == 2);
  CHECK(d.labels == std::vector<std::string>{"pos", "neg"});
  REQUIRE(warnings.size() >= 2);
  CHECK(warnings.front() == "1 malformed line of 3 in x.tsv skipped:");
  CHECK(warnings.back() == "1 examples in x.tsv truncated to --max-len 4");

  std::istringstream empty("");
  CHECK_THROWS_WITH_AS(read_training_file(empty, "e.tsv", o, d, [](const std::string&) {}),
                       "'e.tsv' holds no usable examples", error);
  // A file of another format: one error line, and no warnings that would only repeat it.
  std::istringstream text("in the beginning\nand the earth\n");
  warnings.clear();
  CHECK_THROWS_WITH_AS(read_training_file(text, "t.txt", o, d, [&](const std::string& w) { warnings.push_back(w); }),
                       "'t.txt' holds no usable examples: none of its 2 lines is usable label<TAB>text; line 1: "
                       "expected 2 tab-separated fields (label, text), found 1",
                       error);
  CHECK(warnings.empty());
  training_data none;
  std::istringstream any("a\n");
  CHECK_THROWS_AS(read_training_file(any, "a.txt", o, none, [](const std::string&) {}), error);
}

TEST_CASE("with_schedule_total: cosine ends at --steps, or at --epochs x batches per epoch") {
  dataset ds;
  ds.lengths = std::vector<std::size_t>(10, 3);
  train_options o;
  o.batching.batch_tokens = 0;
  o.batching.batch_size = 2;  // 5 batches per epoch
  o.schedule.kind = "cosine";
  o.epochs = 3;
  CHECK(with_schedule_total(o, ds).schedule.total == 15);
  o.steps = 7;
  CHECK(with_schedule_total(o, ds).schedule.total == 7);
  o.schedule.warmup = 9;
  CHECK(with_schedule_total(o, ds).schedule.total == 10);  // past the warmup
  o.schedule.kind = "constant";
  CHECK(with_schedule_total(o, ds).schedule.total == 0);
}

TEST_CASE("run_checkpoint_base: model config, options and the record, over the base's metadata") {
  training_data d = char_model();
  d.labels = {"a", "b"};
  checkpoint base;
  base.metadata["note"] = "kept";
  model_config mc;
  mc.family = "classifier";
  const checkpoint c = run_checkpoint_base(base, mc, {{"arch", "classifier"}}, d);
  CHECK(c.model_config.at("family") == "classifier");
  CHECK(c.train_config.at("arch") == "classifier");
  CHECK(c.vocabularies.count("shared") == 1);
  CHECK(c.metadata.at("labels") == "a\tb");
  CHECK(c.metadata.at("note") == "kept");
}

namespace {

// A tiny lm on a few lines of the char vocabulary, trained through run_training.
struct tiny_lm_run {
  attn::testing::temp_dir dir;
  training_data data = char_model();
  training_run_inputs in;
  rng gen{3};
  std::unique_ptr<model> m;
  std::unique_ptr<optimizer> opt = make_optimizer(optimizer_config{});
  train_state state;

  tiny_lm_run() {
    dataset_options o;
    o.format = data_format::lm;
    o.max_len = 8;
    std::istringstream text("abcabc\nbcdbcd\ncdecde\ndefdef\n");
    data.train = read_training_file(text, "t.txt", o, data, [](const std::string&) {});
    data.lineage.finetuned_from = "base.ckpt";
    data.lineage.finetuned_from_step = 12;
    model_config mc = models_testing::tiny_config("lm");
    mc.max_len = 16;
    mc.src_vocab = mc.tgt_vocab = data.src->size();
    m = make_model(mc, gen);
    in.data = &data;
    in.model = mc;
    in.train_config = {{"arch", "lm"}, {"steps", "3"}};
    in.options.batching.batch_tokens = 0;
    in.options.batching.batch_size = 2;
    in.options.steps = 3;
    in.options.schedule.kind = "cosine";
    in.options.checkpoint_path = dir.path("run.ckpt");
    in.base.metadata["note"] = "kept";
  }
};

}  // namespace

TEST_CASE("run_training: 3 steps of a tiny lm finish with a checkpoint carrying the run's record") {
  tiny_lm_run r;
  std::vector<train_event_kind> kinds;
  std::int64_t total_seen = -1;
  training_run_callbacks cb;
  cb.on_event = [&](const train_event& e, const train_options& effective) {
    kinds.push_back(e.kind);
    total_seen = effective.schedule.total;
  };
  const run_result res = run_training(r.in, *r.m, *r.opt, r.gen, r.state, cb);
  CHECK(res.status == train_status::finished);
  CHECK(res.message.empty());
  CHECK(r.state.step == 3);
  CHECK(res.options.schedule.total == 3);  // cosine total from --steps
  CHECK(total_seen == 3);
  CHECK(std::count(kinds.begin(), kinds.end(), train_event_kind::step) == 3);

  const checkpoint c = load_checkpoint(r.in.options.checkpoint_path);
  CHECK(c.counters.at("step") == 3);
  CHECK(c.model_config.at("family") == "lm");
  CHECK(c.train_config.at("steps") == "3");
  CHECK(c.metadata.at("note") == "kept");
  const checkpoint_record back = read_checkpoint_record(c, "run.ckpt");
  REQUIRE(back.src);
  CHECK(back.src->size() == r.data.src->size());
  CHECK(back.lineage.finetuned_from == "base.ckpt");
  CHECK(back.lineage.finetuned_from_step == 12);
  CHECK(back.step == 3);
}

TEST_CASE("run_training: a stop request interrupts the run after saving a checkpoint") {
  tiny_lm_run r;
  r.in.options.steps = 50;
  training_run_callbacks cb;
  int polls = 0;
  cb.stop_requested = [&] { return ++polls >= 2; };
  const run_result res = run_training(r.in, *r.m, *r.opt, r.gen, r.state, cb);
  CHECK(res.status == train_status::interrupted);
  CHECK(r.state.step == 2);
  const checkpoint c = load_checkpoint(r.in.options.checkpoint_path);
  CHECK(c.counters.at("step") == 2);
  CHECK(c.model_config.at("family") == "lm");
}

TEST_CASE("run_training: without data it is an error, not a crash") {
  training_run_inputs in;
  rng gen(1);
  tiny_lm_run r;
  train_state s;
  CHECK_THROWS_AS(run_training(in, *r.m, *r.opt, gen, s, {}), error);
}
