#include <doctest/doctest.h>

#include <cmath>

#include "train/clip.h"

using namespace attn;

namespace {
parameter_store grads_3_4_12() {
  parameter_store s;
  s.add("a", 1, 2);
  s.add("b", 1, 1);
  s.add("frozen", 1, 1).trainable = false;
  s.zero_grad();
  s.at("a").grad(0, 0) = 3, s.at("a").grad(0, 1) = 4, s.at("b").grad(0, 0) = 12;
  s.at("frozen").grad = matrix::from_shape({1, 1});  // zero_grad keeps none for a frozen parameter
  s.at("frozen").grad(0, 0) = 1000;
  return s;
}
}  // namespace

TEST_CASE("global norm over trainable gradients; clipping scales it to max_norm") {
  parameter_store s = grads_3_4_12();
  CHECK(grad_norm(s) == 13.0f);  // sqrt(9 + 16 + 144); the frozen gradient does not count
  CHECK(clip_grad_norm(s, 6.5f) == 13.0f);
  CHECK(s.at("a").grad(0, 0) == 1.5f);
  CHECK(s.at("a").grad(0, 1) == 2.0f);
  CHECK(s.at("b").grad(0, 0) == 6.0f);
  CHECK(s.at("frozen").grad(0, 0) == 1000.0f);
  CHECK(grad_norm(s) == 6.5f);
  CHECK(clip_grad_norm(s, 1.0f / 3.0f) == 6.5f);
  CHECK(grad_norm(s) == doctest::Approx(1.0 / 3.0).epsilon(1e-7));
}

TEST_CASE("no clipping below the threshold, when disabled, or for a non-finite norm") {
  parameter_store s = grads_3_4_12();
  CHECK(clip_grad_norm(s, 13.0f) == 13.0f);
  CHECK(clip_grad_norm(s, 0.0f) == 13.0f);
  CHECK(s.at("b").grad(0, 0) == 12.0f);
  s.at("a").grad(0, 0) = INFINITY;
  CHECK(std::isinf(clip_grad_norm(s, 1.0f)));
  CHECK(s.at("b").grad(0, 0) == 12.0f);
}

TEST_CASE("the norm of a large gradient is accurate") {
  parameter_store s;
  s.add("big", 1000, 1001);
  s.zero_grad();
  s.at("big").grad.fill(1e-3f);
  CHECK(grad_norm(s) == doctest::Approx(std::sqrt(1000.0 * 1001.0) * 1e-3).epsilon(1e-6));
}
