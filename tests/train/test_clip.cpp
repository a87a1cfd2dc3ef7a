#include <doctest/doctest.h>

#include <cmath>
#include <tuple>
#include <vector>

#include "core/kernels.h"
#include "core/rng.h"
#include "core/threads.h"
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

TEST_CASE("on any thread count, the norm is the parameters' sum_squares in order and clipping scales every element") {
  // Blocks of 1,024 floats go to the threads (64 blocks a share at least): a tail block, an
  // exact multiple, and a parameter large enough to be split between two threads.
  parameter_store s;
  for (auto [name, rows, cols] : {std::tuple{"one", 1, 1}, {"tail", 3, 1000}, {"exact", 7, 1024}, {"split", 300, 300}})
    s.add(name, rows, cols);
  s.zero_grad();
  rng gen(5);
  for (parameter* p : s.all())
    for (float& g : p->grad) g = gen.normal();
  double sum = 0.0;
  for (parameter* p : s.all()) sum += kernels::sum_squares(p->grad.size(), p->grad.data());
  const float expected = static_cast<float>(std::sqrt(sum));
  const int before = threads();
  std::vector<std::vector<float>> clipped;
  for (int n : {1, 2}) {
    CAPTURE(n);
    set_threads(n);
    CHECK(grad_norm(s) == expected);
    parameter_store copy;
    for (parameter* p : s.all()) copy.add(p->name, p->grad.shape()[0], p->grad.shape()[1]).grad = p->grad;
    CHECK(clip_grad_norm(copy, 2.0f) == expected);
    const float scale = static_cast<float>(2.0 / std::sqrt(sum));
    std::vector<float> all;
    for (parameter* p : copy.all())
      for (std::size_t i = 0; i < p->grad.size(); ++i) {
        REQUIRE(p->grad.data()[i] == s.at(p->name).grad.data()[i] * scale);
        all.push_back(p->grad.data()[i]);
      }
    clipped.push_back(all);
  }
  set_threads(before);
  CHECK(clipped[0] == clipped[1]);
}
