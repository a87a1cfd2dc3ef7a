// The library side of a training run: data read with the model's tokenizers and reported
// through a sink, the cosine total from the data, the fixed part of every checkpoint.
#include "train/training_run.h"

#include <doctest/doctest.h>

#include <sstream>

#include "core/error.h"
#include "text/vocab.h"

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
