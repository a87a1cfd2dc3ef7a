// The per-family tasks (models/task.h): what decode, attention dumps and eval ask instead of
// testing a family's name.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "data/dataset.h"
#include "decode/loaded_helpers.h"
#include "models/task.h"
#include "text/tokenizer.h"
#include "text/vocab_builder.h"

using namespace attn;

namespace {

model_config config(const std::string& family) {
  model_config c;
  c.family = family;
  c.layers = 3;
  c.heads = 4;
  c.max_len = 16;
  c.pos_encoding = "learned";
  return c;
}

}  // namespace

TEST_CASE("every registered family has a task; an unknown family throws naming the known ones") {
  for (const std::string& f : model_families()) CHECK_NOTHROW(task_for(f));
  try {
    task_for("gru");
    FAIL("no throw");
  } catch (const error& e) {
    CHECK(std::string(e.what()).find("unknown model family 'gru' (known: transformer, rnn, lm, classifier)") !=
          std::string::npos);
  }
}

TEST_CASE("the training data format is the one the data reader gives each family") {
  CHECK(task_for("lm").format == data_format::lm);
  CHECK(task_for("classifier").format == data_format::labeled);
  CHECK(task_for("transformer").format == data_format::pairs);
  CHECK(task_for("rnn").format == data_format::pairs);
}

TEST_CASE("messages name a family with its article") {
  CHECK(task_for("transformer").a_model("transformer") == "a transformer model");
  CHECK(task_for("rnn").a_model("rnn") == "an rnn model");
  CHECK(task_for("lm").a_model("lm") == "an lm model");
  CHECK(task_for("classifier").a_model("classifier") == "a classifier model");
}

TEST_CASE("source ids: seq2seq x <eos> keeping <eos> when cut; classifier <bos> x; lm the prompt") {
  auto tok = decode_testing::letters();
  std::vector<std::int32_t> abc;
  tok->encode("abc", abc);
  REQUIRE(abc.size() == 3);
  bool cut = true;
  for (const char* f : {"transformer", "rnn"}) {
    const task& t = task_for(f);
    std::vector<std::int32_t> want = abc;
    want.push_back(eos_id);
    CHECK(t.source_ids(*tok, "abc", 8, cut) == want);
    CHECK_FALSE(cut);
    CHECK(t.source_ids(*tok, "abc", 4, cut) == want);  // exactly max_len with its <eos>
    CHECK_FALSE(cut);
    CHECK(t.source_ids(*tok, "abc", 3, cut) == std::vector<std::int32_t>{abc[0], abc[1], eos_id});
    CHECK(cut);
  }
  const task& c = task_for("classifier");
  CHECK(c.source_ids(*tok, "abc", 8, cut) == std::vector<std::int32_t>{bos_id, abc[0], abc[1], abc[2]});
  CHECK_FALSE(cut);
  CHECK(c.source_ids(*tok, "abc", 2, cut) == std::vector<std::int32_t>{bos_id, abc[0]});
  CHECK(cut);
  // an lm's prompt is fed after the start token: max_len - 1 positions of its own
  const task& lm = task_for("lm");
  CHECK(lm.source_ids(*tok, "abc", 4, cut) == abc);
  CHECK_FALSE(cut);
  CHECK(lm.source_ids(*tok, "abc", 3, cut) == std::vector<std::int32_t>{abc[0], abc[1]});
  CHECK(cut);
  CHECK(lm.source_ids(*tok, "", 2, cut).empty());  // an empty prompt: generate from nothing
}

TEST_CASE("decoding: lm starts after <eos>, batches equal-length prompts and counts them in its budget") {
  const task& lm = task_for("lm");
  CHECK(lm.start_token == eos_id);
  CHECK(lm.equal_length_batches);
  CHECK(lm.decode_budget(10, 3) == 7);
  CHECK(lm.decode_budget(10, 0) == 10);
  CHECK(lm.decode_budget(10, 10) == 1);  // a prompt as long as max_len still continues one token
  CHECK(lm.decode_budget(10, 50) == 1);
  for (const char* f : {"transformer", "rnn", "classifier"}) {
    const task& t = task_for(f);
    CAPTURE(f);
    CHECK(t.start_token == bos_id);
    CHECK_FALSE(t.equal_length_batches);
    CHECK(t.decode_budget(10, 7) == 10);
  }
}

TEST_CASE("hypotheses: a classifier gives labels and cannot sample; seq2seq splits source<TAB>target") {
  CHECK(task_for("classifier").hypothesis == hypothesis_kind::label);
  CHECK(task_for("classifier").predicts_labels());
  CHECK_FALSE(task_for("classifier").samples());
  for (const char* f : {"transformer", "rnn", "lm"}) {
    CHECK(task_for(f).hypothesis == hypothesis_kind::tokens);
    CHECK_FALSE(task_for(f).predicts_labels());
    CHECK(task_for(f).samples());
  }
  CHECK(task_for("transformer").splits_source_target);
  CHECK(task_for("rnn").splits_source_target);
  CHECK_FALSE(task_for("lm").splits_source_target);
  CHECK_FALSE(task_for("classifier").splits_source_target);
}

TEST_CASE("learned positions bound max_len, except for the rnn, which has none") {
  for (const char* f : {"transformer", "lm", "classifier"}) {
    const model_config c = config(f);
    CHECK(task_for(f).allows_max_len(c, 0));
    CHECK(task_for(f).allows_max_len(c, 16));
    CHECK_FALSE(task_for(f).allows_max_len(c, 17));
    model_config sin = c;
    sin.pos_encoding = "sinusoidal";
    CHECK(task_for(f).allows_max_len(sin, 17));
  }
  CHECK(task_for("rnn").allows_max_len(config("rnn"), 1000));
}

TEST_CASE("attention layout: kinds, the default kind, layers and heads per family") {
  const task& tr = task_for("transformer");
  CHECK(tr.has_attention_kind("self"));
  CHECK(tr.has_attention_kind("cross"));
  CHECK_FALSE(tr.has_attention_kind("all"));  // "all" is a filter, not a kind
  CHECK(tr.default_attention_kind() == "cross");
  CHECK(tr.attention_layers(config("transformer")) == 3);
  CHECK(tr.attention_heads(config("transformer")) == 4);
  CHECK(tr.attention == attention_input::source_target);

  const task& rnn = task_for("rnn");
  CHECK_FALSE(rnn.has_attention_kind("self"));
  CHECK(rnn.has_attention_kind("cross"));
  CHECK(rnn.default_attention_kind() == "cross");
  CHECK(rnn.attention_layers(config("rnn")) == 1);
  CHECK(rnn.attention_heads(config("rnn")) == 1);
  CHECK(rnn.attention == attention_input::source_target);

  for (const char* f : {"lm", "classifier"}) {
    const task& t = task_for(f);
    CHECK(t.has_attention_kind("self"));
    CHECK_FALSE(t.has_attention_kind("cross"));
    CHECK(t.default_attention_kind() == "self");
    CHECK(t.attention_layers(config(f)) == 3);
    CHECK(t.attention_heads(config(f)) == 4);
  }
  CHECK(task_for("lm").attention == attention_input::eos_text);
  CHECK(task_for("classifier").attention == attention_input::bos_text);
}
