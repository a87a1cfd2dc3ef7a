#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "io/checkpoint.h"
#include "model_helpers.h"
#include "models/lora.h"
#include "test_helpers.h"

using namespace attn;
using namespace attn::models_testing;

namespace {

const char* const families[] = {"lm", "transformer", "classifier", "rnn"};

model_config config_of(const std::string& family) {
  model_config c = tiny_config(family);
  if (family == "rnn") c.attention = "additive";
  c.tie_output = false;
  return c;
}

batch batch_of(const std::string& family) { return family == "lm" ? lm_batch(small_data) : seq2seq_batch(small_data); }

matrix log_probs_of(model& m, const batch& b) {
  tape t;
  t.set_recording(false);
  return m.config().family == "classifier" ? m.classify(t, b) : m.log_probs(t, b);
}

// A model with a LoRA adapter whose B is not zero, so that the adapter changes the outputs.
std::unique_ptr<model> adapted_model(const std::string& family, rng& gen) {
  auto m = make_model(config_of(family), gen);
  lora_options o;
  o.rank = 2;
  o.alpha = 4.0f;
  attach_lora(m->params(), o, gen);
  for (parameter* p : m->params().all())
    if (is_lora_parameter(p->name)) attn::testing::fill_normal(p->value, gen, 0.3f);
  return m;
}

bool same(const matrix& a, const matrix& b) {
  return a.shape() == b.shape() && std::equal(a.begin(), a.end(), b.begin());
}

// Equal to rounding: a copy's values sit at other addresses, which a kernel may take in another
// order on some CPU (a share reads the very same floats, and is compared bit for bit).
bool close(const matrix& a, const matrix& b) {
  if (a.shape() != b.shape()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::abs(a.data()[i] - b.data()[i]) > 1e-5f * (1.0f + std::abs(b.data()[i]))) return false;
  return true;
}

}  // namespace

TEST_CASE("share_model reads the model's weights, holds none of its own, and gives its outputs bit for bit") {
  for (const char* family : families) {
    INFO(family);
    rng gen(7);
    auto m = adapted_model(family, gen);
    const batch b = batch_of(family);
    auto shared = share_model(*m);
    REQUIRE(shared->params().size() == m->params().size());
    for (const parameter* p : shared->params().all()) {
      INFO(p->name);
      CHECK(p->value.size() == 0);
      REQUIRE(p->shares == m->params().find(p->name));
      CHECK(&p->current() == &p->shares->value);
    }
    CHECK(same(log_probs_of(*shared, b), log_probs_of(*m, b)));

    // It reads the values as they are, not as they were: a change to the model's weights shows
    // in the share's outputs (and a copy keeps the old ones).
    auto copy = copy_model(*m);
    const matrix before = log_probs_of(*m, b);
    for (parameter* p : m->params().all())
      if (!is_lora_parameter(p->name)) attn::testing::fill_normal(p->value, gen, 0.5f);
    const matrix after = log_probs_of(*m, b);
    REQUIRE_FALSE(close(after, before));
    CHECK(same(log_probs_of(*shared, b), after));
    CHECK(close(log_probs_of(*copy, b), before));
    CHECK_FALSE(close(log_probs_of(*copy, b), after));
  }
}

TEST_CASE("share_model: a share of a share reads the first model; a copy of a share owns its values") {
  rng gen(8);
  auto m = adapted_model("transformer", gen);
  auto shared = share_model(*m);
  auto again = share_model(*shared);
  auto copy = copy_model(*shared);
  const batch b = batch_of("transformer");
  for (const parameter* p : again->params().all()) CHECK(p->shares == m->params().find(p->name));
  for (const parameter* p : copy->params().all()) {
    CHECK(p->shares == nullptr);
    CHECK(p->value.size() > 0);
  }
  const matrix want = log_probs_of(*m, b);
  CHECK(same(log_probs_of(*again, b), want));
  CHECK(close(log_probs_of(*copy, b), want));
}

TEST_CASE("share_model: a recording tape keeps no gradient for a shared value, and leaves the model's own alone") {
  rng gen(9);
  auto m = make_model(config_of("lm"), gen);
  auto shared = share_model(*m);
  tape t;
  rng drop(1);
  const var loss = shared->loss(t, batch_of("lm"), drop).loss;
  t.backward(loss);
  for (const parameter* p : shared->params().all()) CHECK(p->grad.size() == 0);
  for (const parameter* p : m->params().all()) CHECK(p->grad.size() == 0);
}

TEST_CASE("share_model: its parameters export the values they read, as the model's own") {
  rng gen(10);
  auto m = adapted_model("rnn", gen);
  auto shared = share_model(*m);
  const std::vector<checkpoint_param> want = export_parameters(m->params());
  const std::vector<checkpoint_param> got = export_parameters(shared->params());
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO(want[i].name);
    CHECK(got[i].name == want[i].name);
    CHECK(same(got[i].value, want[i].value));
    CHECK(got[i].trainable == want[i].trainable);
  }
}
