#include <doctest/doctest.h>

#include <cstring>

#include "core/error.h"
#include "models/model.h"

using namespace attn;

TEST_CASE("model_config: every field round-trips through to_map / from_map bit-identically") {
  model_config c;
  c.family = "rnn";
  c.layers = 3;
  c.d_model = 48;
  c.heads = 6;
  c.ff = 96;
  c.activation = "relu";
  c.norm = "post";
  c.combine = "concat";
  c.pos_encoding = "hyperbolic";
  c.attention = "general";
  c.dropout = 0.123456789f;
  c.share_embeddings = true;
  c.tie_output = false;
  c.max_len = 77;
  c.embed = 5;
  c.hidden = 9;
  c.bidirectional = true;
  c.pooling = "first";
  c.num_classes = 4;
  c.src_vocab = 1001;
  c.tgt_vocab = 1002;
  const auto m = c.to_map();
  CHECK(m.size() == 21);
  const model_config r = model_config::from_map(m);
  CHECK(r.to_map() == m);
  CHECK(std::memcmp(&r.dropout, &c.dropout, sizeof(float)) == 0);
  CHECK(r.bidirectional);
  CHECK_FALSE(r.tie_output);
  CHECK(r.src_vocab == 1001);
  for (float f : {0.1f, 1e-7f, 0.3f, 3.0e-5f}) {
    model_config x;
    x.dropout = f;
    const float back = model_config::from_map(x.to_map()).dropout;
    CHECK(std::memcmp(&back, &f, sizeof(float)) == 0);
  }
}

TEST_CASE("model_config: missing keys keep defaults; unknown keys and bad values are named") {
  CHECK(model_config::from_map({}).to_map() == model_config().to_map());
  CHECK(model_config::from_map({{"layers", "4"}}).layers == 4);
  CHECK_THROWS_WITH_AS(model_config::from_map({{"layerz", "4"}}), doctest::Contains("layerz"), error);
  CHECK_THROWS_WITH_AS(model_config::from_map({{"layers", "four"}}), doctest::Contains("layers"), error);
  CHECK_THROWS_WITH_AS(model_config::from_map({{"layers", "-1"}}), doctest::Contains("layers"), error);
  CHECK_THROWS_WITH_AS(model_config::from_map({{"dropout", "0.1x"}}), doctest::Contains("dropout"), error);
  CHECK_THROWS_WITH_AS(model_config::from_map({{"tie_output", "yes"}}), doctest::Contains("tie_output"), error);
  CHECK_THROWS_WITH_AS(model_config::from_map({{"norm", "middle"}}), doctest::Contains("norm"), error);
}

TEST_CASE("registry: families in table order; an unknown family lists the known ones") {
  CHECK(model_families() == std::vector<std::string>{"transformer", "rnn", "lm", "classifier"});
  CHECK(model_family_summaries().size() == 4);
  model_config c;
  c.family = "mamba";
  rng gen(1);
  CHECK_THROWS_WITH_AS(make_model(c, gen), doctest::Contains("known: transformer, rnn, lm, classifier"), error);
}

TEST_CASE("model_config_fields: every to_map key once, with its default and the choices it accepts") {
  const auto fields = model_config_fields();
  const auto defaults = model_config{}.to_map();
  REQUIRE(fields.size() == defaults.size());
  for (const auto& f : fields) {
    CAPTURE(f.key);
    REQUIRE(defaults.count(f.key) == 1);
    CHECK(f.default_text == defaults.at(f.key));
    CHECK(!f.help.empty());
    for (const auto& choice : f.choices) CHECK_NOTHROW(model_config::from_map({{f.key, choice}}));
    if (!f.choices.empty()) CHECK_THROWS_AS(model_config::from_map({{f.key, "no-such-choice"}}), model_config_error);
  }
  auto field = [&](const std::string& key) {
    for (const auto& f : fields)
      if (f.key == key) return f;
    FAIL("no field " << key);
    return config_field{};
  };
  CHECK(field("activation").choices == std::vector<std::string>{"gelu", "relu"});
  CHECK(field("attention").choices == std::vector<std::string>{"scaled-dot", "dot", "general", "additive"});
  CHECK(field("tie_output").is_flag);
  CHECK_FALSE(field("layers").is_flag);
  // The old spelling is still read, though not offered.
  CHECK(model_config::from_map({{"attention", "scaled_dot"}}).attention == "scaled_dot");
}
