#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "model_helpers.h"
#include "models/lora.h"
#include "models/vocab_remap.h"

using namespace attn;
using namespace attn::models_testing;

namespace {

attn::vocab make_vocab(tokenizer_kind kind, const std::vector<std::string>& user_specials,
                       const std::vector<std::string>& ordinary) {
  attn::vocab v = make_special_vocab(kind, user_specials);
  for (const auto& t : ordinary) {
    v.tokens.push_back(t);
    v.counts.push_back(1);
  }
  return v;
}

// The base: a char vocabulary a b c d (8 tokens). The new one: a word vocabulary with a user
// special <sep>, b and d (kept), "ab" (pieces a b), "cz" (pieces c <unk>: c), "zz" (every piece
// <unk>: the <unk> row); a and c are dropped.
const attn::vocab base_chars = make_vocab(tokenizer_kind::char_level, {}, {"a", "b", "c", "d"});
const attn::vocab new_words = make_vocab(tokenizer_kind::word, {"<sep>"}, {"b", "ab", "cz", "zz", "d"});
const attn::vocab other_chars = make_vocab(tokenizer_kind::char_level, {}, {"w", "x", "y", "z"});

// The base rows each new-vocabulary token's row is the mean of (base_chars -> new_words).
// clang-format off
const std::vector<std::vector<int>> expected_sources = {
    {0}, {1}, {2}, {3},  // the fixed specials: kept
    {1},                 // <sep>: a new special, the <unk> row
    {5},                 // b
    {4, 5},              // ab = mean(a, b)
    {6},                 // cz = mean(c) (z is <unk>, left out)
    {1},                 // zz: no usable piece, the <unk> row
    {7},                 // d
};
// clang-format on
const std::vector<bool> expected_kept = {true, true, true, true, false, true, false, false, false, true};

bool axis_is_rows(const std::string& name) {
  return name.find("embed") != std::string::npos;
}

std::vector<float> token_values(const matrix& m, bool rows, std::size_t t) {
  std::vector<float> out;
  const std::size_t r = m.shape()[0], c = m.shape()[1];
  if (rows)
    for (std::size_t f = 0; f < c; ++f) out.push_back(m(t, f));
  else
    for (std::size_t f = 0; f < r; ++f) out.push_back(m(f, t));
  return out;
}

const checkpoint_param* find_param(const std::vector<checkpoint_param>& ps, const std::string& name) {
  for (const auto& p : ps)
    if (p.name == name) return &p;
  return nullptr;
}

// Checks every vocabulary tensor named in `remapped` (rows by the plan above), and every other
// parameter bit-identical.
void check_remap(const std::vector<checkpoint_param>& before, const vocab_remap_result& r,
                 const std::vector<std::string>& remapped, const std::vector<std::string>& unchanged_vocab = {}) {
  REQUIRE(before.size() == r.params.size());
  for (std::size_t i = 0; i < before.size(); ++i) {
    const checkpoint_param& b = before[i];
    const checkpoint_param& a = r.params[i];
    INFO(b.name);
    REQUIRE(a.name == b.name);
    const bool vocab_tensor = std::find(remapped.begin(), remapped.end(), b.name) != remapped.end();
    CHECK(is_vocabulary_parameter(b.name) ==
          (vocab_tensor || std::find(unchanged_vocab.begin(), unchanged_vocab.end(), b.name) != unchanged_vocab.end()));
    if (!vocab_tensor) {  // untouched: bit for bit
      REQUIRE(a.value.shape() == b.value.shape());
      CHECK(std::memcmp(a.value.data(), b.value.data(), a.value.size() * sizeof(float)) == 0);
      continue;
    }
    const bool rows = axis_is_rows(b.name);
    CHECK((rows ? a.value.shape()[0] : a.value.shape()[1]) == new_words.size());
    CHECK((rows ? a.value.shape()[1] : a.value.shape()[0]) == (rows ? b.value.shape()[1] : b.value.shape()[0]));
    for (std::size_t t = 0; t < new_words.size(); ++t) {
      const std::vector<float> got = token_values(a.value, rows, t);
      std::vector<double> want(got.size(), 0.0);
      for (int s : expected_sources[t]) {
        const std::vector<float> src = token_values(b.value, rows, static_cast<std::size_t>(s));
        for (std::size_t f = 0; f < want.size(); ++f) want[f] += src[f] / double(expected_sources[t].size());
      }
      for (std::size_t f = 0; f < got.size(); ++f) {
        if (expected_kept[t])
          CHECK(std::memcmp(&got[f], &token_values(b.value, rows, expected_sources[t][0])[f], sizeof(float)) == 0);
        else
          CHECK(got[f] == doctest::Approx(want[f]).epsilon(1e-6));
      }
    }
  }
}

void check_counts(const vocab_remap_counts& c) {
  CHECK(c.kept == 6);      // <pad> <unk> <bos> <eos> b d
  CHECK(c.added == 4);     // <sep> ab cz zz
  CHECK(c.fallback == 2);  // <sep> zz
  CHECK(c.dropped == 2);   // a c
}

// The remapped parameters make a working model of the new config.
void check_usable(const vocab_remap_result& r) {
  rng gen(3);
  auto m = make_model(r.config, gen);
  import_parameters(m->params(), r.params);
  const batch b = r.config.family == "lm" ? lm_batch({{4, 6, 7}, {5, 7}}) : seq2seq_batch({{4, 6, 7}, {5, 7}});
  tape t;
  t.set_recording(false);
  CHECK(std::isfinite(m->loss(t, b, gen).loss.value()(0, 0)));
}

model_config config_for(const std::string& family, std::size_t src, std::size_t tgt) {
  model_config c = tiny_config(family);
  c.src_vocab = src;
  c.tgt_vocab = tgt;
  return c;
}

}  // namespace

TEST_CASE("vocab remap: lm, tied and untied — kept rows bit-identical, new rows the mean of their pieces") {
  for (bool tie : {true, false}) {
    INFO("tie_output " << tie);
    model_config c = config_for("lm", 8, 8);
    c.tie_output = tie;
    rng gen(1);
    auto m = make_model(c, gen);
    const auto before = export_parameters(m->params());
    const vocab_remap_result r = remap_vocabularies(c, before, vocab_roles{base_chars, {}}, vocab_roles{new_words, {}});
    CHECK(r.config.src_vocab == new_words.size());
    CHECK(r.config.tgt_vocab == new_words.size());
    CHECK(r.config.tie_output == tie);
    REQUIRE(r.counts.size() == 1);
    check_counts(r.counts.at("shared"));
    if (tie) {
      CHECK(find_param(r.params, "out.weight") == nullptr);  // still tied: no output tensor appears
      check_remap(before, r, {"embed.weight"});
    } else {
      check_remap(before, r, {"embed.weight", "out.weight", "out.bias"});
    }
    check_usable(r);
  }
}

TEST_CASE("vocab remap: classifier — the embedding only, the head (labels) unchanged") {
  const model_config c = config_for("classifier", 8, 8);
  rng gen(2);
  auto m = make_model(c, gen);
  const auto before = export_parameters(m->params());
  const vocab_remap_result r = remap_vocabularies(c, before, vocab_roles{base_chars, {}}, vocab_roles{new_words, {}});
  check_counts(r.counts.at("shared"));
  check_remap(before, r, {"embed.weight"});
  CHECK(r.config.num_classes == c.num_classes);
  check_usable(r);
}

TEST_CASE("vocab remap: transformer and rnn with separate vocabularies — the source side only") {
  for (const char* family : {"transformer", "rnn"}) {
    INFO(family);
    model_config c = config_for(family, 8, 8);
    c.tie_output = false;
    if (std::string(family) == "rnn") c.attention = "additive";
    rng gen(3);
    auto m = make_model(c, gen);
    const auto before = export_parameters(m->params());
    const vocab_remap_result r =
        remap_vocabularies(c, before, vocab_roles{base_chars, other_chars}, vocab_roles{new_words, other_chars});
    CHECK(r.config.src_vocab == new_words.size());
    CHECK(r.config.tgt_vocab == other_chars.size());
    check_counts(r.counts.at("src"));
    CHECK(r.counts.at("tgt").kept == other_chars.size());
    CHECK(r.counts.at("tgt").added + r.counts.at("tgt").dropped == 0);
    // The target tensors are remapped onto the same vocabulary: identical.
    check_remap(before, r, {"src_embed.weight"}, {"tgt_embed.weight", "out.weight", "out.bias"});
    check_usable(r);
  }
}

TEST_CASE("vocab remap: a target vocabulary remaps the target embedding and the output") {
  for (const char* family : {"transformer", "rnn"}) {
    INFO(family);
    model_config c = config_for(family, 8, 8);
    c.tie_output = std::string(family) == "transformer";  // tied: the output is tgt_embed
    rng gen(4);
    auto m = make_model(c, gen);
    const auto before = export_parameters(m->params());
    const vocab_remap_result r =
        remap_vocabularies(c, before, vocab_roles{other_chars, base_chars}, vocab_roles{other_chars, new_words});
    check_counts(r.counts.at("tgt"));
    CHECK(r.config.tgt_vocab == new_words.size());
    if (c.tie_output)
      check_remap(before, r, {"tgt_embed.weight"}, {"src_embed.weight"});
    else
      check_remap(before, r, {"tgt_embed.weight", "out.weight", "out.bias"}, {"src_embed.weight"});
    check_usable(r);
  }
}

TEST_CASE("vocab remap: shared embeddings stay shared, with one vocabulary") {
  for (const char* family : {"transformer", "rnn"}) {
    INFO(family);
    model_config c = config_for(family, 8, 8);
    c.share_embeddings = true;
    c.tie_output = true;
    if (std::string(family) == "rnn") c.attention = "dot";
    rng gen(5);
    auto m = make_model(c, gen);
    const auto before = export_parameters(m->params());
    const vocab_remap_result r = remap_vocabularies(c, before, vocab_roles{base_chars, {}}, vocab_roles{new_words, {}});
    CHECK(r.config.share_embeddings);
    CHECK(find_param(r.params, "src_embed.weight") == nullptr);
    check_remap(before, r,
                std::string(family) == "rnn" ? std::vector<std::string>{"embed.weight", "out.weight", "out.bias"}
                                             : std::vector<std::string>{"embed.weight"});
    check_usable(r);
    CHECK_THROWS_WITH_AS(remap_vocabularies(c, before, vocab_roles{base_chars, {}}, vocab_roles{new_words, base_chars}),
                         doctest::Contains("share_embeddings"), attn::error);
  }
}

TEST_CASE("vocab remap: the same vocabulary changes nothing; parameters that do not fit are refused") {
  const model_config c = config_for("lm", 8, 8);
  rng gen(6);
  auto m = make_model(c, gen);
  const auto before = export_parameters(m->params());
  const vocab_remap_result same =
      remap_vocabularies(c, before, vocab_roles{base_chars, {}}, vocab_roles{base_chars, {}});
  CHECK(parameters_hash(same.params) == parameters_hash(before));
  CHECK(same.counts.at("shared").kept == base_chars.size());
  CHECK(describe_remap(same.counts).find("shared: 8 kept, 0 new, 0 dropped") == 0);
  // A vocabulary of another size than the model's.
  CHECK_THROWS_AS(remap_vocabularies(c, before, vocab_roles{new_words, {}}, vocab_roles{base_chars, {}}), attn::error);
  // A vocabulary tensor missing.
  std::vector<checkpoint_param> missing = before;
  missing.erase(missing.begin());
  CHECK_THROWS_AS(remap_vocabularies(c, missing, vocab_roles{base_chars, {}}, vocab_roles{new_words, {}}), attn::error);
}

TEST_CASE("vocab remap: a model on the base with a new vocabulary (an adapter's) takes every other tensor") {
  const model_config c = config_for("transformer", 8, 8);
  rng gen(7);
  auto m = make_model(c, gen);
  const auto before = export_parameters(m->params());
  const vocab_remap_result r = remap_vocabularies(c, before, vocab_roles{base_chars, {}}, vocab_roles{new_words, {}});
  auto on_base = make_model_on_base(r.config, before);
  for (const parameter* p : on_base->params().all()) {
    INFO(p->name);
    if (is_vocabulary_parameter(p->name)) {
      CHECK(p->value.shape()[0] == new_words.size());
      continue;
    }
    const checkpoint_param* b = find_param(before, p->name);
    REQUIRE(b);
    CHECK(std::memcmp(p->value.data(), b->value.data(), b->value.size() * sizeof(float)) == 0);
  }
  attach_lora(on_base->params(), lora_options{2, 2.0f, {}, false}, gen);
  const std::size_t values = train_vocabulary_parameters(on_base->params());
  CHECK(values == 2 * new_words.size() * c.d_model);  // src_embed and tgt_embed (tied output)
  for (const checkpoint_param& p : adapter_parameters(on_base->params()))
    CHECK_MESSAGE((is_lora_parameter(p.name) || is_vocabulary_parameter(p.name)), p.name);
}

TEST_CASE("vocab remap: only a vocabulary weight marks an adapter as carrying a new vocabulary") {
  std::vector<checkpoint_param> ps;
  ps.push_back({"layers.0.attn.qkv.lora_a", matrix({2, 2}), true, true});
  ps.push_back({"out.bias", matrix({1, 2}), true, false});  // --lora-train-bias on an untied output
  CHECK_FALSE(holds_vocabulary_parameters(ps));
  ps.push_back({"embed.weight", matrix({2, 2}), true, true});
  CHECK(holds_vocabulary_parameters(ps));
  CHECK_FALSE(is_vocabulary_parameter("layers.0.attn.out.weight"));
  CHECK_FALSE(is_vocabulary_parameter("head.weight"));
}
