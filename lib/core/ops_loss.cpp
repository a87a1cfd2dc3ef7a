// Fused log-softmax + negative log-likelihood with padding and label smoothing.
#include <algorithm>
#include <cstring>

#include "core/blas.h"

#include "core/kernels.h"
#include "core/ops.h"
#include "core/ops_util.h"
#include "core/threads.h"

namespace attn {

using detail::shape_of;

// logits [N,V], targets N -> [1,1] mean over non-pad rows of
//   lse_r - (1-ε)·x[r,t_r] - (ε/V)·Σ_j x[r,j]
// keeps lse per row for the backward pass.
var softmax_cross_entropy(var logits, const std::vector<std::int32_t>& targets, std::int32_t pad_id,
                          float label_smoothing, std::size_t* tokens) {
  tape& t = detail::tape_of("softmax_cross_entropy", {logits});
  const std::size_t N = logits.rows(), V = logits.cols();
  if (targets.size() != N)
    detail::fail("softmax_cross_entropy", std::to_string(targets.size()) + " targets for logits " + shape_of(logits));
  if (!(label_smoothing >= 0.0f && label_smoothing < 1.0f))
    detail::fail("softmax_cross_entropy", "label smoothing " + std::to_string(label_smoothing) + " outside [0, 1)");
  std::size_t n = 0;
  for (std::int32_t y : targets) {
    if (y == pad_id) continue;
    if (!(y >= 0 && static_cast<std::size_t>(y) < V))
      detail::fail("softmax_cross_entropy",
                   "target " + std::to_string(y) + " outside the " + std::to_string(V) + " classes");
    ++n;
  }
  if (tokens) *tokens = n;
  var loss = t.make(1, 1, logits.needs_grad());
  matrix& lse = t.scratch(2, N);  // row 0: log-sum-exp per row, row 1: the row's loss
  std::vector<std::int32_t>& tg = t.scratch_ints(N);
  std::copy(targets.begin(), targets.end(), tg.begin());
  const float* X = logits.value().data();
  float* L = lse.data();
  float* rowloss = lse.data() + N;
  const std::size_t grain = std::max<std::size_t>(1, (1 << 15) / std::max<std::size_t>(V, 1));
  parallel_for(N, grain, [&](std::size_t b, std::size_t e) {
    for (std::size_t r = b; r < e; ++r)
      rowloss[r] = tg[r] == pad_id ? 0.0f
                                   : kernels::cross_entropy_row(V, X + r * V, static_cast<std::size_t>(tg[r]),
                                                                label_smoothing, L + r);
  });
  // Summed in row order, in double: the same value for any thread count.
  double total = 0.0;
  for (std::size_t r = 0; r < N; ++r) total += rowloss[r];
  loss.mutable_value()(0, 0) = n ? static_cast<float>(total / static_cast<double>(n)) : 0.0f;
  if (!loss.needs_grad()) return loss;
  const matrix* lp = &lse;
  const std::vector<std::int32_t>* tp = &tg;
  // d loss / d x[r,j] = (softmax(x_r)_j - q_rj) / n, q = (1-ε)·onehot + ε/V; pad rows get 0
  t.on_backward([logits, loss, lp, tp, pad_id, label_smoothing, n, N, V] {
    const float g = loss.grad()(0, 0) / static_cast<float>(std::max<std::size_t>(n, 1));
    const float* X = logits.value().data();
    bool overwrite;
    float* dX = logits.grad_for_write(overwrite).data();
    const std::size_t grain = std::max<std::size_t>(1, (1 << 15) / std::max<std::size_t>(V, 1));
    parallel_for(N, grain, [&](std::size_t b, std::size_t e) {
      for (std::size_t r = b; r < e; ++r) {
        float* dr = dX + r * V;
        if (overwrite) std::fill(dr, dr + V, 0.0f);
        if ((*tp)[r] == pad_id) continue;
        kernels::cross_entropy_backward_row(V, X + r * V, static_cast<std::size_t>((*tp)[r]), label_smoothing,
                                            (*lp)(0, r), g, dr);
      }
    });
  });
  return loss;
}

// h [N,d], w [d,V] or [V,d], bias [1,V] -> [1,1]; keeps the logits [N,V] (then their gradient)
// and the lse per row in scratch.
var projected_cross_entropy(var h, var w, var bias, bool w_rows_are_classes, const std::vector<std::int32_t>& targets,
                            std::int32_t pad_id, float label_smoothing, std::size_t* tokens, std::size_t* correct) {
  const char* op = "projected_cross_entropy";
  tape& t = bias.valid() ? detail::tape_of(op, {h, w, bias}) : detail::tape_of(op, {h, w});
  const std::size_t N = h.rows(), d = h.cols();
  const std::size_t V = w_rows_are_classes ? w.rows() : w.cols();
  if ((w_rows_are_classes ? w.cols() : w.rows()) != d)
    detail::fail(op, "h is " + shape_of(h) + " but w is " + shape_of(w) + (w_rows_are_classes ? " (classes as rows)" : ""));
  if (bias.valid() && !(bias.rows() == 1 && bias.cols() == V))
    detail::fail(op, "bias is " + shape_of(bias) + ", expected [1," + std::to_string(V) + "]");
  if (targets.size() != N) detail::fail(op, std::to_string(targets.size()) + " targets for h " + shape_of(h));
  if (!(label_smoothing >= 0.0f && label_smoothing < 1.0f))
    detail::fail(op, "label smoothing " + std::to_string(label_smoothing) + " outside [0, 1)");
  std::size_t n = 0;
  for (std::int32_t y : targets) {
    if (y == pad_id) continue;
    if (!(y >= 0 && static_cast<std::size_t>(y) < V))
      detail::fail(op, "target " + std::to_string(y) + " outside the " + std::to_string(V) + " classes");
    ++n;
  }
  if (tokens) *tokens = n;

  // logits [N,V] = h [N,d] · w [d,V] (or wᵀ) + bias
  matrix& logits = t.scratch(N, V);
  float* X = logits.data();
  if (bias.valid()) detail::broadcast_rows(N, V, bias.value().data(), X);
  gemm(false, w_rows_are_classes, N, V, d, 1.0f, h.value().data(), d, w.value().data(), w.cols(),
       bias.valid() ? 1.0f : 0.0f, X, V);
  matrix& kept = t.scratch(3, N);  // row 0: lse, row 1: the row's loss, row 2: 1 when its argmax is the target
  std::vector<std::int32_t>& tg = t.scratch_ints(N);
  std::copy(targets.begin(), targets.end(), tg.begin());
  float* L = kept.data();
  float* rowloss = L + N;
  float* hit = L + 2 * N;
  const std::size_t grain = std::max<std::size_t>(1, (1 << 15) / std::max<std::size_t>(V, 1));
  parallel_for(N, grain, [&](std::size_t b, std::size_t e) {
    for (std::size_t r = b; r < e; ++r) {
      rowloss[r] = hit[r] = 0.0f;
      if (tg[r] == pad_id) continue;
      const float* x = X + r * V;
      rowloss[r] = kernels::cross_entropy_row(V, x, static_cast<std::size_t>(tg[r]), label_smoothing, L + r);
      hit[r] = static_cast<std::int32_t>(std::max_element(x, x + V) - x) == tg[r] ? 1.0f : 0.0f;
    }
  });
  double total = 0.0, hits = 0.0;  // in row order: the same value for any thread count
  for (std::size_t r = 0; r < N; ++r) {
    total += rowloss[r];
    hits += hit[r];
  }
  if (correct) *correct = static_cast<std::size_t>(hits);
  const bool ng = h.needs_grad() || w.needs_grad() || (bias.valid() && bias.needs_grad());
  var loss = t.make(1, 1, ng);
  loss.mutable_value()(0, 0) = n ? static_cast<float>(total / static_cast<double>(n)) : 0.0f;
  if (!loss.needs_grad()) return loss;

  matrix* lg = &logits;
  const matrix* kp = &kept;
  const std::vector<std::int32_t>* tp = &tg;
  // dlogits = (softmax(logits) - q) / n (0 on pad rows), written over the logits; then
  // dh = dlogits·wᵀ (or ·w), dw = hᵀ·dlogits (or dlogitsᵀ·h), dbias = Σ_rows dlogits
  t.on_backward([h, w, bias, loss, lg, kp, tp, pad_id, label_smoothing, n, N, d, V, grain, w_rows_are_classes] {
    const float g = loss.grad()(0, 0) / static_cast<float>(std::max<std::size_t>(n, 1));
    float* G = lg->data();
    parallel_for(N, grain, [&](std::size_t b, std::size_t e) {
      for (std::size_t r = b; r < e; ++r) {
        float* row = G + r * V;
        if ((*tp)[r] == pad_id)
          std::fill(row, row + V, 0.0f);
        else
          kernels::cross_entropy_gradient_in_place(V, row, static_cast<std::size_t>((*tp)[r]), label_smoothing,
                                                   (*kp)(0, r), g);
      }
    });
    const float* W = w.value().data();
    if (auto s = detail::sink_of(h); s.p) gemm(false, !w_rows_are_classes, N, d, V, 1.0f, G, V, W, w.cols(), s.beta, s.p, d);
    if (auto s = detail::sink_of(w); s.p) {
      if (w_rows_are_classes)  // dw [V,d] = dlogitsᵀ [V,N] · h [N,d]
        gemm(true, false, V, d, N, 1.0f, G, V, h.value().data(), d, s.beta, s.p, d);
      else  // dw [d,V] = hᵀ [d,N] · dlogits [N,V]
        gemm(true, false, d, V, N, 1.0f, h.value().data(), d, G, V, s.beta, s.p, V);
    }
    if (bias.valid() && bias.needs_grad()) detail::add_bias_grad(N, V, G, bias.grad().data());
  });
  return loss;
}

}  // namespace attn
