// A checkpoint carries a model exactly: a Transformer block rebuilt from a different seed and
// loaded from the file computes the very same loss, bit for bit.
#include <doctest/doctest.h>

#include <cstring>

#include "core/init.h"
#include "core/ops.h"
#include "io/checkpoint.h"
#include "nn/encoder_layer.h"
#include "test_helpers.h"

namespace {

float block_loss(attn::nn::encoder_layer& layer, const attn::matrix& x, const std::vector<std::int32_t>& targets) {
  attn::tape t;
  attn::no_grad off(t);
  attn::rng dropout_gen(0);
  attn::var y = layer.forward(t.constant(x), 2, 5, {5, 3}, dropout_gen);
  return attn::softmax_cross_entropy(y, targets, 0).value()(0, 0);
}

}  // namespace

TEST_CASE("save -> load into a differently initialised model -> identical loss on a batch") {
  attn::nn::block_config cfg;
  cfg.d_model = 8;
  cfg.heads = 2;
  cfg.d_ff = 16;
  cfg.dropout = 0.0f;
  attn::rng gen_a(1), gen_b(2), data_gen(3);
  attn::parameter_store store_a, store_b;
  attn::nn::encoder_layer a(store_a, "encoder.layers.0", cfg, gen_a);
  attn::nn::encoder_layer b(store_b, "encoder.layers.0", cfg, gen_b);

  attn::matrix x = attn::matrix::from_shape({10, 8});
  attn::init_normal(x, data_gen, 1.0f);
  std::vector<std::int32_t> targets = {1, 2, 3, 4, 5, 6, 7, 0, 0, 1};

  const float loss_a = block_loss(a, x, targets);
  REQUIRE(loss_a != block_loss(b, x, targets));  // different seeds, different models

  attn::checkpoint c;
  c.params = attn::export_parameters(store_a);
  attn::testing::temp_dir d;
  attn::save_checkpoint(d.path("model.ckpt"), c);
  attn::import_parameters(store_b, attn::load_checkpoint(d.path("model.ckpt")).params);

  const float loss_b = block_loss(b, x, targets);
  CHECK(std::memcmp(&loss_a, &loss_b, sizeof(float)) == 0);
  for (const auto* p : store_a.all())
    CHECK(std::memcmp(p->value.data(), store_b.at(p->name).value.data(), p->value.size() * sizeof(float)) == 0);
}
