// Normalisation, elementwise nonlinearities, row softmax and dropout. Large elementwise
// loops are split over the thread pool (parallel_for); each chunk runs a fused kernel.
#include <algorithm>
#include <cstring>

#include "core/kernels.h"
#include "core/ops.h"
#include "core/ops_util.h"
#include "core/threads.h"

namespace attn {

using detail::shape_of;

namespace {
constexpr std::size_t elem_grain = 1 << 15;  // elements per parallel chunk, at least

std::size_t row_grain(std::size_t d) { return std::max<std::size_t>(1, elem_grain / std::max<std::size_t>(d, 1)); }

// y = f(x) elementwise with backward dx += g(x or y, dy): the shared shape of gelu/tanh/...
template <class Fwd, class Bwd>
var unary(const char* op, var x, Fwd fwd, Bwd bwd, bool backward_uses_output) {
  tape& t = detail::tape_of(op, {x});
  const std::size_t n = x.value().size();
  var y = t.make(x.rows(), x.cols(), x.needs_grad());
  const float* X = x.value().data();
  float* Y = y.mutable_value().data();
  parallel_for(n, elem_grain, [&](std::size_t b, std::size_t e) { fwd(e - b, X + b, Y + b); });
  if (!y.needs_grad()) return y;
  t.on_backward([x, y, n, bwd, backward_uses_output] {
    const float* S = backward_uses_output ? y.value().data() : x.value().data();
    const float* dY = y.grad().data();
    float* dX = x.grad().data();
    parallel_for(n, elem_grain, [&](std::size_t b, std::size_t e) { bwd(e - b, S + b, dY + b, dX + b); });
  });
  return y;
}
}  // namespace

// x [N,d], gain/bias [1,d] (each optional) -> [N,d]; keeps mean and 1/std per row.
var layer_norm(var x, var gain, var bias, float eps) {
  tape& t = detail::tape_of("layer_norm", {x});
  const std::size_t N = x.rows(), d = x.cols();
  for (const var* p : {&gain, &bias}) {
    if (!p->valid()) continue;
    if (p->t != &t) detail::fail("layer_norm", "inputs live on different tapes");
    if (!(p->rows() == 1 && p->cols() == d))
      detail::fail("layer_norm", "gain/bias is " + shape_of(*p) + ", expected [1," + std::to_string(d) + "]");
  }
  if (d == 0) detail::fail("layer_norm", "x has no columns");
  const bool ng = x.needs_grad() || (gain.valid() && gain.needs_grad()) || (bias.valid() && bias.needs_grad());
  var y = t.make(N, d, ng);
  matrix& stats = t.scratch(2, N);  // row 0: mean, row 1: 1/std
  float* mean = stats.data();
  float* rstd = stats.data() + N;
  const float* X = x.value().data();
  const float* G = gain.valid() ? gain.value().data() : nullptr;
  const float* Bi = bias.valid() ? bias.value().data() : nullptr;
  float* Y = y.mutable_value().data();
  parallel_for(N, row_grain(d), [&](std::size_t b, std::size_t e) {
    kernels::layer_norm_forward(e - b, d, X + b * d, G, Bi, eps, Y + b * d, mean + b, rstd + b);
  });
  if (!y.needs_grad()) return y;
  const bool dg = gain.valid() && gain.needs_grad(), db = bias.valid() && bias.needs_grad();
  // Partial sums for dgain/dbias per block of rows, so that parallel chunks never write the same
  // memory and the result does not depend on the thread count (blocks are reduced in order).
  const std::size_t per = std::max<std::size_t>(row_grain(d) / 4, 1);
  const std::size_t chunks = (N + per - 1) / per;
  matrix* partial = (dg || db) ? &t.scratch(chunks, 2 * d) : nullptr;
  const matrix* st = &stats;
  // x̂ = (x-μ)/σ: dx = (ĝ - mean(ĝ) - x̂·mean(ĝ⊙x̂))/σ with ĝ = dy⊙gain; dgain = Σ dy⊙x̂; dbias = Σ dy
  t.on_backward([x, gain, bias, y, st, partial, N, d, dg, db, chunks, per] {
    const float* X = x.value().data();
    const float* G = gain.valid() ? gain.value().data() : nullptr;
    const float* dY = y.grad().data();
    float* dX = x.needs_grad() ? x.grad().data() : nullptr;
    const float* mean = st->data();
    const float* rstd = st->data() + N;
    if (partial) partial->fill(0.0f);
    parallel_for(chunks, 4, [&](std::size_t cb, std::size_t ce) {
      for (std::size_t c = cb; c < ce; ++c) {
        const std::size_t b = std::min(N, c * per), e = std::min(N, b + per);
        float* P = partial ? partial->data() + c * 2 * d : nullptr;
        kernels::layer_norm_backward(e - b, d, X + b * d, G, mean + b, rstd + b, dY + b * d, dX ? dX + b * d : nullptr,
                                     dg ? P : nullptr, db ? P + d : nullptr);
      }
    });
    for (std::size_t c = 0; c < chunks && partial; ++c) {
      const float* P = partial->data() + c * 2 * d;
      if (dg) kernels::axpy(d, 1.0f, P, gain.grad().data());
      if (db) kernels::axpy(d, 1.0f, P + d, bias.grad().data());
    }
  });
  return y;
}

// gelu(x) = ½x(1 + tanh(√(2/π)(x + 0.044715x³)))
var gelu(var x) {
  return unary(
      "gelu", x, kernels::gelu_forward,
      // d/dx = ½(1+t) + ½x(1-t²)·√(2/π)(1 + 3·0.044715x²)
      [](std::size_t n, const float* X, const float* dY, float* dX) { kernels::gelu_backward(n, X, dY, dX); }, false);
}

var relu(var x) {
  // d/dx = [y > 0]
  return unary("relu", x, kernels::relu_forward, kernels::relu_backward, true);
}

var tanh(var x) {
  // d/dx = 1 - y²
  return unary("tanh", x, kernels::tanh_forward, kernels::tanh_backward, true);
}

var sigmoid(var x) {
  // d/dx = y(1 - y)
  return unary("sigmoid", x, kernels::sigmoid_forward, kernels::sigmoid_backward, true);
}

// x [N,d] -> row-wise softmax [N,d]
var softmax(var x) {
  tape& t = detail::tape_of("softmax", {x});
  const std::size_t N = x.rows(), d = x.cols();
  var y = t.make(N, d, x.needs_grad());
  const float* X = x.value().data();
  float* Y = y.mutable_value().data();
  parallel_for(N, row_grain(d), [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) kernels::softmax_row(d, d, X + i * d, Y + i * d);
  });
  if (!y.needs_grad()) return y;
  // dx = y ⊙ (dy - Σ_j y_j dy_j)
  t.on_backward([x, y, N, d] {
    const float* Y = y.value().data();
    const float* dY = y.grad().data();
    bool overwrite;
    float* dX = x.grad_for_write(overwrite).data();
    parallel_for(N, row_grain(d), [&](std::size_t b, std::size_t e) {
      for (std::size_t i = b; i < e; ++i)
        kernels::softmax_backward_row(d, Y + i * d, dY + i * d, 1.0f, dX + i * d, !overwrite);
    });
  });
  return y;
}

namespace {
// splitmix64 finalizer: a counter-based stream, so the mask can be drawn in parallel chunks
// and depends only on the seed taken from the run's rng.
inline std::uint64_t mix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
}  // namespace

namespace detail {
// Element i keeps when its 32-bit draw is >= p·2³² (two draws per 64-bit hash of pair i/2: the
// low half for element 2k, the high half for 2k+1). Vectorised in two passes over blocks of
// pairs: the hashes (independent 64-bit lanes), then the comparisons over their 32-bit halves.
void dropout_mask(std::uint64_t seed, float p, std::size_t n, std::size_t k0, std::size_t k1, float* M) {
  // p < 1 in float, so p·2³² <= 2³² − 2⁸ fits 32 bits
  const std::uint32_t threshold = static_cast<std::uint32_t>(static_cast<double>(p) * 4294967296.0);
  const float keep = 1.0f / (1.0f - p);
  constexpr std::size_t block = 256;  // pairs
  alignas(64) std::uint64_t hash[block];
  alignas(64) std::uint32_t draw[2 * block];
  for (std::size_t k = k0; k < k1; k += block) {
    const std::size_t m = std::min(block, k1 - k);
    for (std::size_t j = 0; j < m; ++j) hash[j] = mix(seed + (k + j + 1) * 0x9e3779b97f4a7c15ULL);
    for (std::size_t j = 0; j < m; ++j) {
      draw[2 * j] = static_cast<std::uint32_t>(hash[j]);
      draw[2 * j + 1] = static_cast<std::uint32_t>(hash[j] >> 32);
    }
    const std::size_t count = std::min(2 * m, n - 2 * k);  // the last pair may hold one element
    float* out = M + 2 * (k - k0);
    for (std::size_t j = 0; j < count; ++j) out[j] = draw[j] >= threshold ? keep : 0.0f;
  }
}
}  // namespace detail

// x [N,d] -> x ⊙ mask, mask_i = [u_i >= p] / (1-p); identity when p == 0 or not recording
var dropout(var x, float p, rng& gen) {
  tape& t = detail::tape_of("dropout", {x});
  if (!(p >= 0.0f && p < 1.0f)) detail::fail("dropout", "probability " + std::to_string(p) + " outside [0, 1)");
  if (p == 0.0f || !t.recording()) return x;
  const std::size_t n = x.value().size();
  var y = t.make(x.rows(), x.cols(), x.needs_grad());
  matrix& mask = t.scratch(x.rows(), x.cols());
  const std::uint64_t seed = gen.next_u64();
  const float* X = x.value().data();
  float* Y = y.mutable_value().data();
  float* M = mask.data();
  parallel_for((n + 1) / 2, elem_grain / 2, [&](std::size_t b, std::size_t e) {
    detail::dropout_mask(seed, p, n, b, e, M + 2 * b);
    const std::size_t lo = 2 * b, hi = std::min(n, 2 * e);
    kernels::mul(hi - lo, X + lo, M + lo, Y + lo);
  });
  if (!y.needs_grad()) return y;
  const matrix* mp = &mask;
  // dx = dy ⊙ mask
  t.on_backward([x, y, mp, n] {
    const float* dY = y.grad().data();
    const float* M = mp->data();
    bool overwrite;
    float* dX = x.grad_for_write(overwrite).data();
    parallel_for(n, elem_grain, [&](std::size_t b, std::size_t e) {
      if (overwrite)
        kernels::mul(e - b, dY + b, M + b, dX + b);
      else
        for (std::size_t i = b; i < e; ++i) dX[i] += dY[i] * M[i];
    });
  });
  return y;
}

// x [N,d] + a [N,d] ⊙ mask -> [N,d]; the mask is drawn again in the backward pass
var add_dropout(var x, var a, float p, std::uint64_t seed) {
  tape& t = detail::tape_of("add_dropout", {x, a});
  if (!(p >= 0.0f && p < 1.0f)) detail::fail("add_dropout", "probability " + std::to_string(p) + " outside [0, 1)");
  if (p == 0.0f || !t.recording()) return add(x, a);
  if (x.rows() != a.rows() || x.cols() != a.cols())
    detail::fail("add_dropout", "x is " + shape_of(x) + " but a is " + shape_of(a));
  const std::size_t n = x.value().size();
  var y = t.make(x.rows(), x.cols(), x.needs_grad() || a.needs_grad());
  const float* X = x.value().data();
  const float* A = a.value().data();
  float* Y = y.mutable_value().data();
  float* M = t.transient(n);
  parallel_for((n + 1) / 2, elem_grain / 2, [&](std::size_t b, std::size_t e) {
    const std::size_t lo = 2 * b, hi = std::min(n, 2 * e);
    detail::dropout_mask(seed, p, n, b, e, M + lo);
    kernels::mul(hi - lo, A + lo, M + lo, M + lo);  // dropout(a), as dropout() computes it
    kernels::add(hi - lo, X + lo, M + lo, Y + lo);
  });
  if (!y.needs_grad()) return y;
  // dx = dy, da = dy ⊙ mask
  t.on_backward([x, a, y, n, p, seed] {
    const float* dY = y.grad().data();
    detail::pour(detail::sink_of(x), dY, n);
    if (!a.needs_grad()) return;
    bool overwrite;
    float* dA = a.grad_for_write(overwrite).data();
    float* M = x.t->transient(n);
    parallel_for((n + 1) / 2, elem_grain / 2, [&](std::size_t b, std::size_t e) {
      const std::size_t lo = 2 * b, hi = std::min(n, 2 * e);
      detail::dropout_mask(seed, p, n, b, e, M + lo);
      if (overwrite)
        kernels::mul(hi - lo, dY + lo, M + lo, dA + lo);
      else
        for (std::size_t i = lo; i < hi; ++i) dA[i] += dY[i] * M[i];
    });
  });
  return y;
}

}  // namespace attn
