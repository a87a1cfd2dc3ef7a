#include <doctest/doctest.h>

#include <cmath>

#include "core/error.h"
#include "io/parameter_difference.h"

using namespace attn;

namespace {

checkpoint_param param(const std::string& name, std::vector<float> values) {
  checkpoint_param p;
  p.name = name;
  p.value = matrix({1, values.size()});
  std::copy(values.begin(), values.end(), p.value.begin());
  return p;
}

}  // namespace

TEST_CASE("compare_parameters: max |a-b| and its ratio to max |a|, per tensor, by name") {
  checkpoint a, b;
  a.params = {param("w", {1.0f, -4.0f, 2.0f}), param("zero", {0.0f, 0.0f})};
  b.params = {param("zero", {0.0f, 0.0f}), param("w", {1.0f, -4.5f, 2.25f})};  // another order
  const auto d = compare_parameters(a, b, "b.ckpt");
  REQUIRE(d.size() == 2);
  CHECK(d[0].name == "w");
  CHECK(d[0].max_abs == doctest::Approx(0.5));
  CHECK(d[0].relative == doctest::Approx(0.125));
  CHECK(d[1].name == "zero");
  CHECK(d[1].max_abs == 0.0);
  CHECK(d[1].relative == 0.0);
  CHECK(overall_relative(d) == doctest::Approx(0.5 / 4.0));
  b.params[0] = param("zero", {0.0f, 1.0f});
  CHECK(std::isinf(compare_parameters(a, b, "b.ckpt")[1].relative));
}

TEST_CASE("compare_parameters refuses checkpoints of other models, naming the parameter") {
  checkpoint a, b;
  a.params = {param("w", {1.0f, 2.0f})};
  b.params = {param("v", {1.0f, 2.0f})};
  CHECK_THROWS_WITH_AS(compare_parameters(a, b, "b.ckpt"), "'b.ckpt' has no parameter 'w'", error);
  b.params = {param("w", {1.0f, 2.0f, 3.0f})};
  CHECK_THROWS_WITH_AS(compare_parameters(a, b, "b.ckpt"), "parameter 'w' has another shape in 'b.ckpt'", error);
  b.params.push_back(param("x", {1.0f}));
  CHECK_THROWS_WITH_AS(compare_parameters(a, b, "b.ckpt"), "'b.ckpt' holds 2 parameter tensors, not 1", error);
}
