#pragma once
// Finite-difference gradient checking for anything built from tape ops. Reusable by every
// test area: put the inputs you want checked into a parameter_store (trainable), write a
// function that builds the output on a tape, and call check_gradients().
//
//   attn::parameter_store ps;
//   auto& w = ps.add("w", 4, 3);  fill_normal(w.value, gen);
//   check_gradients(ps, [&](attn::tape& t) { return attn::gelu(t.param(w)); });
//
// The function may return any shape. A non-scalar output y is reduced to the scalar
// L = Σ y ⊙ R with a fixed random R (so the whole Jacobian, not just its column sums, is
// exercised): analytically through the tape (mul + two matmuls with ones), numerically in
// double from y's values. Each trainable parameter element (or a random subset of
// `max_per_param` for big ones) is compared with the central difference
// (L(θ+ε) - L(θ-ε)) / 2ε.
//
// Tolerances. The ops compute in float, so L carries rounding noise of roughly
// 1e-7·Σ|y_i R_i|; divided by 2ε = 2e-2 this gives ~1e-4 absolute noise for the sizes used in
// tests, while the truncation error of central differences is ε²/6·f''' ≈ 2e-5·f'''.
// Hence the default check |a - n| <= atol + rtol·max(|a|, |n|) with atol = 1e-3 and
// rtol = `tolerance` (default 1e-2). Inputs near kinks (relu at 0) must be kept away from
// them by the test. loss_fn must be deterministic (reseed any rng inside it).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/ops.h"
#include "core/parameter.h"
#include "core/rng.h"
#include "core/tape.h"

namespace attn::testing {

struct gradcheck_options {
  float eps = 1e-2f;               // finite-difference step
  double atol = 1e-3;              // absolute slack (float noise of L / 2ε)
  std::size_t max_per_param = 64;  // random subset of elements checked per parameter
  std::uint64_t seed = 12345;      // for R and the element subsets
};

struct gradcheck_report {
  std::size_t checked = 0;  // elements compared
  std::size_t failed = 0;   // elements outside tolerance
  std::size_t nonzero = 0;  // elements whose numeric gradient is not ~0
  double max_error = 0.0;   // max |a-n| / (atol + rtol·max(|a|,|n|)); <= 1 passes
  std::string worst;        // description of the worst element
};

inline void fill_normal(matrix& m, rng& gen, float std = 1.0f) {
  for (std::size_t i = 0; i < m.size(); ++i) m.data()[i] = gen.normal(0.0f, std);
}
// A parameter of ps filled from N(0, std²): the usual input of a gradient check.
inline parameter& normal_param(parameter_store& ps, const std::string& name, std::size_t r, std::size_t c, rng& gen,
                               float std = 1.0f) {
  parameter& p = ps.add(name, r, c);
  fill_normal(p.value, gen, std);
  return p;
}
inline void fill_uniform(matrix& m, rng& gen, float lo, float hi) {
  for (std::size_t i = 0; i < m.size(); ++i) m.data()[i] = gen.uniform(lo, hi);
}

// L = Σ y ⊙ R as a [1,1] tape node: ones[1,N] · (y ⊙ R) · ones[d,1].
inline var project_to_scalar(tape& t, var y, const matrix& R) {
  if (y.rows() == 1 && y.cols() == 1 && R(0, 0) == 1.0f) return y;
  matrix ones_r = matrix::from_shape({1, y.rows()});
  ones_r.fill(1.0f);
  matrix ones_c = matrix::from_shape({y.cols(), 1});
  ones_c.fill(1.0f);
  var z = mul(y, t.constant(R));
  return matmul(matmul(t.constant(ones_r), z), t.constant(ones_c));
}

inline double projected_value(const matrix& y, const matrix& R) {
  double s = 0.0;
  for (std::size_t i = 0; i < y.size(); ++i) s += static_cast<double>(y.data()[i]) * R.data()[i];
  return s;
}

inline gradcheck_report check_gradients(parameter_store& ps, const std::function<var(tape&)>& loss_fn,
                                        double tolerance = 1e-2, gradcheck_options opt = {}) {
  gradcheck_report rep;
  rng gen(opt.seed);
  matrix R;

  // Analytic gradients.
  ps.zero_grad();
  {
    tape t;
    var y = loss_fn(t);
    if (y.rows() == 1 && y.cols() == 1) {
      R = matrix::from_shape({1, 1});
      R(0, 0) = 1.0f;
    } else {
      R = matrix::from_shape({y.rows(), y.cols()});
      fill_normal(R, gen);
    }
    t.backward(project_to_scalar(t, y, R));
  }
  std::vector<matrix> analytic;
  for (parameter* p : ps.all()) analytic.push_back(p->grad);

  // Numeric gradients, one tape reused (reset) for every evaluation.
  tape t;
  auto eval = [&] {
    t.reset();
    var y = loss_fn(t);
    return projected_value(y.value(), R);
  };
  std::size_t pi = 0;
  for (parameter* p : ps.all()) {
    const matrix& a = analytic[pi++];
    if (!p->trainable) continue;
    const std::size_t n = p->value.size();
    std::vector<std::size_t> idx;
    if (n <= opt.max_per_param) {
      for (std::size_t i = 0; i < n; ++i) idx.push_back(i);
    } else {
      for (std::size_t k = 0; k < opt.max_per_param; ++k) idx.push_back(static_cast<std::size_t>(gen.below(n)));
    }
    std::size_t reported = 0;
    for (std::size_t i : idx) {
      float& x = p->value.data()[i];
      const float orig = x;
      x = orig + opt.eps;
      const float up = x;
      const double fp = eval();
      x = orig - opt.eps;
      const float down = x;
      const double fm = eval();
      x = orig;
      const double num = (fp - fm) / (static_cast<double>(up) - static_cast<double>(down));
      const double ana = a.size() == n ? static_cast<double>(a.data()[i]) : 0.0;
      const double bound = opt.atol + tolerance * std::max(std::fabs(ana), std::fabs(num));
      const double err = std::fabs(ana - num) / bound;
      ++rep.checked;
      if (std::fabs(num) > 10 * opt.atol) ++rep.nonzero;
      std::ostringstream what;
      what << p->name << "[" << i / cols(p->value) << "," << i % cols(p->value) << "]: analytic " << ana << ", numeric "
           << num;
      if (err > rep.max_error) {
        rep.max_error = err;
        rep.worst = what.str();
      }
      if (err > 1.0) {
        ++rep.failed;
        if (reported++ < 5) FAIL_CHECK("gradient mismatch " << what.str());
      }
    }
  }
  CHECK_MESSAGE(rep.checked > 0, "no trainable parameter elements to check");
  CHECK_MESSAGE(rep.nonzero > 0, "every numeric gradient is ~0: the check would pass vacuously");
  CHECK_MESSAGE(rep.failed == 0, rep.failed << " of " << rep.checked << " elements failed; worst " << rep.worst);
  return rep;
}

}  // namespace attn::testing
