// Dense algebra: linear, matmul, add, mul, scale. Every product goes through gemm().
#include <algorithm>
#include <cstring>

#include "core/blas.h"
#include "core/kernels.h"
#include "core/ops.h"
#include "core/ops_util.h"
#include "core/threads.h"

namespace attn {

using detail::add_bias_grad;
using detail::broadcast_rows;
using detail::shape_of;
using detail::sink_of;

namespace {
constexpr std::size_t elem_grain = 1 << 15;  // elements per thread's share of a pass, at least
}  // namespace

void detail::pour(const grad_sink& sink, const float* src, std::size_t n) {
  if (!sink.p) return;
  float* dst = sink.p;
  const bool overwrite = sink.overwrite;
  parallel_for(n, elem_grain, [=](std::size_t b, std::size_t e) {
    if (overwrite)
      std::memcpy(dst + b, src + b, (e - b) * sizeof(float));
    else
      kernels::axpy(e - b, 1.0f, src + b, dst + b);
  });
}

void detail::broadcast_rows(std::size_t N, std::size_t out, const float* B, float* Y) {
  const std::size_t grain = std::max<std::size_t>(1, elem_grain / std::max<std::size_t>(out, 1));  // rows
  parallel_for(N, grain, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) std::memcpy(Y + i * out, B, out * sizeof(float));
  });
}

void detail::add_bias_grad(std::size_t N, std::size_t out, const float* dY, float* db) {
  constexpr std::size_t block = 64;  // columns
  const std::size_t blocks = (out + block - 1) / block;
  const std::size_t grain = std::max<std::size_t>(1, elem_grain / std::max<std::size_t>(N * block, 1));  // blocks
  parallel_for(blocks, grain, [&](std::size_t b, std::size_t e) {
    const std::size_t lo = b * block, hi = std::min(out, e * block);
    kernels::add_col_sums(N, hi - lo, dY + lo, out, db + lo);
  });
}

// x [N,in], w [in,out], b [1,out] (optional) -> y [N,out]
var linear(var x, var w, var b) {
  tape& t = b.valid() ? detail::tape_of("linear", {x, w, b}) : detail::tape_of("linear", {x, w});
  const std::size_t N = x.rows(), in = x.cols(), out = w.cols();
  if (w.rows() != in) detail::fail("linear", "x is " + shape_of(x) + " but w is " + shape_of(w));
  if (b.valid() && !(b.rows() == 1 && b.cols() == out))
    detail::fail("linear", "bias is " + shape_of(b) + ", expected [1," + std::to_string(out) + "]");
  const bool ng = x.needs_grad() || w.needs_grad() || (b.valid() && b.needs_grad());
  var y = t.make(N, out, ng);
  float* Y = y.mutable_value().data();
  if (b.valid()) broadcast_rows(N, out, b.value().data(), Y);
  gemm(false, false, N, out, in, 1.0f, x.value().data(), in, w.value().data(), out, b.valid() ? 1.0f : 0.0f, Y, out);
  if (!y.needs_grad()) return y;
  t.on_backward([x, w, b, y, N, in, out] {
    const float* dY = y.grad().data();
    const detail::grad_sink dx = sink_of(x), dw = sink_of(w);
    const float* W = w.value().data();
    const float* X = x.value().data();
    const gemm_args dx_product{false, true, N, in, out, 1.0f, dY, out, W, out, dx.beta, dx.p, in};  // dy·wᵀ
    const gemm_args dw_product{true, false, in, out, N, 1.0f, X, in, dY, out, dw.beta, dw.p, out};  // xᵀ·dy
    gemm_pair(dx.p ? &dx_product : nullptr, dw.p ? &dw_product : nullptr);
    // db = Σ_rows dy
    if (b.valid() && b.needs_grad()) add_bias_grad(N, out, dY, b.grad().data());
  });
  return y;
}

// LoRA's layer in one output: x [N,in]·w [in,out] + b + s·low [N,R]·lb [R,out] -> [N,out].
// low = x·A comes from matmul (whose backward takes dlow on to A and x); this op keeps no
// [N,out] intermediate, so an adapter costs the model [N,R] activations, not a copy of y.
var linear_low_rank(var x, var w, var b, var low, var lb, float s) {
  tape& t = b.valid() ? detail::tape_of("linear_low_rank", {x, w, b, low, lb})
                      : detail::tape_of("linear_low_rank", {x, w, low, lb});
  const std::size_t N = x.rows(), in = x.cols(), out = w.cols(), R = low.cols();
  if (w.rows() != in) detail::fail("linear_low_rank", "x is " + shape_of(x) + " but w is " + shape_of(w));
  if (low.rows() != N || lb.rows() != R || lb.cols() != out)
    detail::fail("linear_low_rank", "low is " + shape_of(low) + " and lb " + shape_of(lb) + " for y [" +
                                        std::to_string(N) + "," + std::to_string(out) + "]");
  if (b.valid() && !(b.rows() == 1 && b.cols() == out))
    detail::fail("linear_low_rank", "bias is " + shape_of(b) + ", expected [1," + std::to_string(out) + "]");
  const bool ng = x.needs_grad() || w.needs_grad() || (b.valid() && b.needs_grad()) || low.needs_grad() ||
                  lb.needs_grad();
  var y = t.make(N, out, ng);
  float* Y = y.mutable_value().data();
  if (b.valid()) broadcast_rows(N, out, b.value().data(), Y);
  gemm(false, false, N, out, in, 1.0f, x.value().data(), in, w.value().data(), out, b.valid() ? 1.0f : 0.0f, Y, out);
  gemm(false, false, N, out, R, s, low.value().data(), R, lb.value().data(), out, 1.0f, Y, out);
  if (!y.needs_grad()) return y;
  t.on_backward([x, w, b, low, lb, y, N, in, out, R, s] {
    const float* dY = y.grad().data();
    // dx = dy·wᵀ, dw = xᵀ·dy, db = Σ_rows dy (as linear)
    if (auto g = sink_of(x); g.p) gemm(false, true, N, in, out, 1.0f, dY, out, w.value().data(), out, g.beta, g.p, in);
    if (auto g = sink_of(w); g.p) gemm(true, false, in, out, N, 1.0f, x.value().data(), in, dY, out, g.beta, g.p, out);
    if (b.valid() && b.needs_grad()) add_bias_grad(N, out, dY, b.grad().data());
    // dlb = s·lowᵀ·dy, dlow = s·dy·lbᵀ
    if (auto g = sink_of(lb); g.p) gemm(true, false, R, out, N, s, low.value().data(), R, dY, out, g.beta, g.p, out);
    if (auto g = sink_of(low); g.p) gemm(false, true, N, R, out, s, dY, out, lb.value().data(), out, g.beta, g.p, R);
  });
  return y;
}

// x [N,k], w [k,out], b [1,out] -> [N,out]; keeps nothing but its inputs
var activated_linear(var x, activation_fn act, var w, var b, float p, std::uint64_t seed, bool reuse_x) {
  tape& t = b.valid() ? detail::tape_of("activated_linear", {x, w, b}) : detail::tape_of("activated_linear", {x, w});
  const std::size_t N = x.rows(), k = x.cols(), out = w.cols();
  if (w.rows() != k) detail::fail("activated_linear", "x is " + shape_of(x) + " but w is " + shape_of(w));
  if (b.valid() && !(b.rows() == 1 && b.cols() == out))
    detail::fail("activated_linear", "bias is " + shape_of(b) + ", expected [1," + std::to_string(out) + "]");
  if (!(p >= 0.0f && p < 1.0f))
    detail::fail("activated_linear", "dropout probability " + std::to_string(p) + " outside [0, 1)");
  if (!t.recording()) p = 0.0f;  // dropout is training-only, as dropout()
  const bool gelu = act == activation_fn::gelu;
  const std::size_t n = N * k;
  // V *= the dropout mask for the element pairs [pb, pe) (elements [2·pb, min(n, 2·pe))), drawn
  // in blocks on the stack: the mask is never held whole
  auto drop = [n, p, seed](std::size_t pb, std::size_t pe, float* V) {
    constexpr std::size_t block_pairs = 1024;
    alignas(64) float mask[2 * block_pairs];
    for (std::size_t q = pb; q < pe; q += block_pairs) {
      const std::size_t qe = std::min(pe, q + block_pairs), lo = 2 * q, hi = std::min(n, 2 * qe);
      detail::dropout_mask(seed, p, n, q, qe, mask);
      kernels::mul(hi - lo, V + lo, mask, V + lo);
    }
  };
  // A [N,k] = act(X), times the dropout mask when p > 0; in pairs of elements, as dropout_mask
  // draws them
  auto activate = [gelu, n, p, drop](const float* X, float* A) {
    parallel_for((n + 1) / 2, 1 << 13, [&](std::size_t pb, std::size_t pe) {
      const std::size_t lo = 2 * pb, hi = std::min(n, 2 * pe);
      (gelu ? kernels::gelu_forward : kernels::relu_forward)(hi - lo, X + lo, A + lo);
      if (p > 0.0f) drop(pb, pe, A);
    });
  };
  const bool ng = t.recording() && (x.needs_grad() || w.needs_grad() || (b.valid() && b.needs_grad()));
  // A [N,k]: over x when the caller gave x up and the backward pass (if any) can read relu's
  // output in place of its input; else a buffer
  const bool in_place = reuse_x && t.owns_value(x) && (!gelu || !ng);
  // gelu over an x given up: the backward pass, which draws A again, writes gelu'(x) over x in
  // the same pass (one exp and divide an element instead of two)
  const bool slope_over_x = gelu && reuse_x && t.owns_value(x);
  float* A = in_place ? x.mutable_value().data() : t.transient(n);
  activate(x.value().data(), A);
  var y = t.make(N, out, ng);
  float* Y = y.mutable_value().data();
  if (b.valid()) broadcast_rows(N, out, b.value().data(), Y);
  gemm(false, false, N, out, k, 1.0f, A, k, w.value().data(), out, b.valid() ? 1.0f : 0.0f, Y, out);
  if (!y.needs_grad()) return y;
  t.on_backward([x, w, b, y, N, k, out, n, gelu, p, drop, activate, in_place, slope_over_x] {
    tape& t = *x.t;
    const float* dY = y.grad().data();
    const detail::grad_sink dw = sink_of(w), dx = sink_of(x);
    // A = act(x) ⊙ mask: x's value when written over it, else drawn again into a buffer.
    // G = dy·wᵀ [N,k] goes straight into x's gradient when that holds nothing yet (it is then
    // multiplied by act'(x) ⊙ mask where it lies); otherwise into a buffer: beside A when the
    // two products run at once, else over A once the first product has read it.
    const bool draw_a = dw.p != nullptr && !in_place, g_in_dx = dx.p != nullptr && dx.overwrite;
    const bool both = dw.p != nullptr && dx.p != nullptr && gemm_pair_runs_at_once();
    const std::size_t a_size = draw_a ? n : 0, g_size = dx.p && !g_in_dx && (both || !draw_a) ? n : 0;
    float* buffer = a_size + g_size > 0 ? t.transient(a_size + g_size) : nullptr;
    const float* A = in_place ? x.value().data() : buffer;
    float* G = g_in_dx ? dx.p : buffer + (g_size > 0 ? a_size : 0);
    // A = gelu(x) ⊙ mask and, over x, D = gelu'(x); or A alone
    const bool slope_drawn = draw_a && slope_over_x && dx.p != nullptr;
    if (slope_drawn) {
      float* X = x.mutable_value().data();
      parallel_for((n + 1) / 2, 1 << 13, [&](std::size_t pb, std::size_t pe) {
        const std::size_t lo = 2 * pb, hi = std::min(n, 2 * pe);
        kernels::gelu_value_and_slope(hi - lo, X + lo, buffer + lo, X + lo);
        if (p > 0.0f) drop(pb, pe, buffer);
      });
    } else if (draw_a) {
      activate(x.value().data(), buffer);
    }
    // dw = Aᵀ·dy and G = dy·wᵀ (for dx), side by side
    const gemm_args dw_product{true, false, k, out, N, 1.0f, A, k, dY, out, dw.beta, dw.p, out};
    const gemm_args g_product{false, true, N, k, out, 1.0f, dY, out, w.value().data(), out, 0.0f, G, k};
    gemm_pair(dw.p ? &dw_product : nullptr, dx.p ? &g_product : nullptr);
    // db = Σ_rows dy
    if (b.valid() && b.needs_grad()) add_bias_grad(N, out, dY, b.grad().data());
    if (!dx.p) return;
    // dx = or += act'(x) ⊙ mask ⊙ G
    const float* X = x.value().data();
    const float keep = 1.0f / (1.0f - p);  // the mask's kept value, as dropout_mask() draws it
    parallel_for((n + 1) / 2, 1 << 13, [&](std::size_t pb, std::size_t pe) {
      const std::size_t lo = 2 * pb, hi = std::min(n, 2 * pe);
      if (in_place) {  // relu: act'(x) ⊙ mask = [A > 0]·keep
        kernels::relu_dropout_backward(hi - lo, A + lo, G + lo, keep, dx.p + lo, !g_in_dx);
        return;
      }
      if (p > 0.0f) drop(pb, pe, G);
      if (slope_drawn) {  // x holds gelu'(x)
        kernels::mul(hi - lo, G + lo, X + lo, G + lo);
        if (!g_in_dx) kernels::axpy(hi - lo, 1.0f, G + lo, dx.p + lo);
        return;
      }
      // relu'(x) = [x > 0], the same test as on its output
      if (g_in_dx)
        (gelu ? kernels::gelu_backward_in_place : kernels::relu_backward_in_place)(hi - lo, X + lo, G + lo);
      else
        (gelu ? kernels::gelu_backward : kernels::relu_backward)(hi - lo, X + lo, G + lo, dx.p + lo);
    });
  });
  return y;
}

// op(a) [M,K] · op(b) [K,N] -> c [M,N]; a is stored [M,K] or, transposed, [K,M]; b likewise.
var matmul(var a, var b, bool trans_a, bool trans_b) {
  tape& t = detail::tape_of("matmul", {a, b});
  const std::size_t M = trans_a ? a.cols() : a.rows(), K = trans_a ? a.rows() : a.cols();
  const std::size_t Kb = trans_b ? b.cols() : b.rows(), N = trans_b ? b.rows() : b.cols();
  if (K != Kb)
    detail::fail("matmul", "inner dimensions differ: op(a) of " + shape_of(a) + " has " + std::to_string(K) +
                               " columns, op(b) of " + shape_of(b) + " has " + std::to_string(Kb) + " rows");
  const std::size_t lda = a.cols(), ldb = b.cols();
  var c = t.make(M, N, a.needs_grad() || b.needs_grad());
  gemm(trans_a, trans_b, M, N, K, 1.0f, a.value().data(), lda, b.value().data(), ldb, 0.0f, c.mutable_value().data(),
       N);
  if (!c.needs_grad()) return c;
  t.on_backward([a, b, c, trans_a, trans_b, M, N, K, lda, ldb] {
    const float* dC = c.grad().data();
    const float* A = a.value().data();
    const float* B = b.value().data();
    // d op(a) = dc · op(b)ᵀ  [M,K];  stored transposed: d a = op(b) · dcᵀ  [K,M]
    if (auto s = sink_of(a); s.p) {
      if (!trans_a)
        gemm(false, !trans_b, M, K, N, 1.0f, dC, N, B, ldb, s.beta, s.p, K);
      else
        gemm(trans_b, true, K, M, N, 1.0f, B, ldb, dC, N, s.beta, s.p, M);
    }
    // d op(b) = op(a)ᵀ · dc  [K,N];  stored transposed: d b = dcᵀ · op(a)  [N,K]
    if (auto s = sink_of(b); s.p) {
      if (!trans_b)
        gemm(!trans_a, false, K, N, M, 1.0f, A, lda, dC, N, s.beta, s.p, N);
      else
        gemm(true, trans_a, N, K, M, 1.0f, dC, N, A, lda, s.beta, s.p, K);
    }
  });
  return c;
}

// x [N,in], a [in,R] -> dropout(x)·a [N,R]; the mask is drawn from seed, in forward and backward
var dropout_matmul(var x, var a, float p, std::uint64_t seed) {
  tape& t = detail::tape_of("dropout_matmul", {x, a});
  if (!(p >= 0.0f && p < 1.0f)) detail::fail("dropout_matmul", "probability " + std::to_string(p) + " outside [0, 1)");
  if (p == 0.0f || !t.recording()) return matmul(x, a);
  const std::size_t N = x.rows(), in = x.cols(), R = a.cols();
  if (a.rows() != in) detail::fail("dropout_matmul", "x is " + shape_of(x) + " but a is " + shape_of(a));
  const std::size_t n = N * in;
  // D [N,in] = x ⊙ mask, in pairs of elements as dropout() draws them
  auto dropped = [seed, p, n](const float* X, float* D) {
    parallel_for((n + 1) / 2, std::size_t{1} << 14, [&](std::size_t b, std::size_t e) {
      detail::dropout_mask(seed, p, n, b, e, D + 2 * b);
      const std::size_t lo = 2 * b, hi = std::min(n, 2 * e);
      kernels::mul(hi - lo, X + lo, D + lo, D + lo);
    });
  };
  float* D = t.transient(n);
  dropped(x.value().data(), D);
  var y = t.make(N, R, x.needs_grad() || a.needs_grad());
  gemm(false, false, N, R, in, 1.0f, D, in, a.value().data(), R, 0.0f, y.mutable_value().data(), R);
  if (!y.needs_grad()) return y;
  t.on_backward([x, a, y, seed, p, N, in, R, n, dropped] {
    tape& t = *x.t;
    const float* dY = y.grad().data();
    float* D = t.transient(2 * n);
    // da = (x ⊙ mask)ᵀ·dy, the dropped input drawn again
    if (auto s = sink_of(a); s.p) {
      dropped(x.value().data(), D);
      gemm(true, false, in, R, N, 1.0f, D, in, dY, R, s.beta, s.p, R);
    }
    // dx += mask ⊙ (dy·aᵀ)
    if (auto s = sink_of(x); s.p) {
      float* G = D + n;
      gemm(false, true, N, in, R, 1.0f, dY, R, a.value().data(), R, 0.0f, G, in);
      float* dX = s.p;
      const bool overwrite = s.overwrite;
      parallel_for((n + 1) / 2, std::size_t{1} << 14, [&](std::size_t b, std::size_t e) {
        const std::size_t lo = 2 * b, hi = std::min(n, 2 * e);
        detail::dropout_mask(seed, p, n, b, e, D + lo);
        kernels::mul(hi - lo, G + lo, D + lo, overwrite ? dX + lo : G + lo);
        if (!overwrite) kernels::add(hi - lo, dX + lo, G + lo, dX + lo);
      });
    }
  });
  return y;
}

// w [in,out] + s·a [in,R]·b [R,out] -> [in,out]
var add_low_rank(var w, var a, var b, float s) {
  tape& t = detail::tape_of("add_low_rank", {w, a, b});
  const std::size_t in = w.rows(), out = w.cols(), R = a.cols();
  if (a.rows() != in || b.rows() != R || b.cols() != out)
    detail::fail("add_low_rank", "w " + shape_of(w) + ", a " + shape_of(a) + " and b " + shape_of(b) + " disagree");
  var y = t.make(in, out, w.needs_grad() || a.needs_grad() || b.needs_grad());
  float* Y = y.mutable_value().data();
  std::memcpy(Y, w.value().data(), in * out * sizeof(float));
  gemm(false, false, in, out, R, s, a.value().data(), R, b.value().data(), out, 1.0f, Y, out);
  if (!y.needs_grad()) return y;
  t.on_backward([w, a, b, y, in, out, R, s] {
    const float* dY = y.grad().data();
    detail::pour(sink_of(w), dY, in * out);  // dw = dy
    // da = s·dy·bᵀ [in,R], db = s·aᵀ·dy [R,out]
    if (auto g = sink_of(a); g.p) gemm(false, true, in, R, out, s, dY, out, b.value().data(), out, g.beta, g.p, R);
    if (auto g = sink_of(b); g.p) gemm(true, false, R, out, in, s, a.value().data(), R, dY, out, g.beta, g.p, out);
  });
  return y;
}

namespace {
// b is a's shape, or [1, a.cols] to broadcast over rows.
bool broadcast_of(const char* op, const var& a, const var& b) {
  const bool same = a.rows() == b.rows() && a.cols() == b.cols();
  const bool row = b.rows() == 1 && b.cols() == a.cols();
  if (!(same || row)) detail::fail(op, "shapes " + shape_of(a) + " and " + shape_of(b) + " do not match or broadcast");
  return !same;
}
}  // namespace

// a [N,d] + b ([N,d] or [1,d]) -> [N,d]
var add(var a, var b) {
  tape& t = detail::tape_of("add", {a, b});
  const bool bc = broadcast_of("add", a, b);
  const std::size_t N = a.rows(), d = a.cols();
  var y = t.make(N, d, a.needs_grad() || b.needs_grad());
  const float* A = a.value().data();
  const float* B = b.value().data();
  float* Y = y.mutable_value().data();
  parallel_for(N, std::max<std::size_t>(1, elem_grain / std::max<std::size_t>(d, 1)),
               [&](std::size_t r0, std::size_t r1) {
                 for (std::size_t i = r0; i < r1; ++i) kernels::add(d, A + i * d, bc ? B : B + i * d, Y + i * d);
               });
  if (!y.needs_grad()) return y;
  t.on_backward([a, b, y, bc, N, d] {
    const float* dY = y.grad().data();
    detail::pour(sink_of(a), dY, N * d);  // da = dy
    // db = dy, or Σ_rows dy when broadcast
    if (b.needs_grad()) {
      if (bc)
        add_bias_grad(N, d, dY, b.grad().data());
      else
        detail::pour(sink_of(b), dY, N * d);
    }
  });
  return y;
}

// a [N,d] ⊙ b ([N,d] or [1,d]) -> [N,d]
var mul(var a, var b) {
  tape& t = detail::tape_of("mul", {a, b});
  const bool bc = broadcast_of("mul", a, b);
  const std::size_t N = a.rows(), d = a.cols();
  var y = t.make(N, d, a.needs_grad() || b.needs_grad());
  const float* A = a.value().data();
  const float* B = b.value().data();
  float* Y = y.mutable_value().data();
  for (std::size_t i = 0; i < N; ++i) kernels::mul(d, A + i * d, bc ? B : B + i * d, Y + i * d);
  if (!y.needs_grad()) return y;
  t.on_backward([a, b, y, bc, N, d] {
    const float* dY = y.grad().data();
    const float* A = a.value().data();
    const float* B = b.value().data();
    // da = dy ⊙ b
    if (a.needs_grad()) {
      float* dA = a.grad().data();
      for (std::size_t i = 0; i < N; ++i) {
        const float* br = bc ? B : B + i * d;
        const float* gr = dY + i * d;
        float* ar = dA + i * d;
        for (std::size_t j = 0; j < d; ++j) ar[j] += gr[j] * br[j];
      }
    }
    // db = dy ⊙ a, summed over rows when broadcast
    if (b.needs_grad()) {
      float* dB = b.grad().data();
      for (std::size_t i = 0; i < N; ++i) {
        float* br = bc ? dB : dB + i * d;
        const float* gr = dY + i * d;
        const float* ar = A + i * d;
        for (std::size_t j = 0; j < d; ++j) br[j] += gr[j] * ar[j];
      }
    }
  });
  return y;
}

// a [N,d] · s -> [N,d]
var scale(var a, float s) {
  tape& t = detail::tape_of("scale", {a});
  const std::size_t n = a.value().size();
  var y = t.make(a.rows(), a.cols(), a.needs_grad());
  const float* A = a.value().data();
  float* Y = y.mutable_value().data();
  for (std::size_t i = 0; i < n; ++i) Y[i] = s * A[i];
  if (!y.needs_grad()) return y;
  // da = s·dy
  t.on_backward([a, y, s, n] { kernels::axpy(n, s, y.grad().data(), a.grad().data()); });
  return y;
}

}  // namespace attn
