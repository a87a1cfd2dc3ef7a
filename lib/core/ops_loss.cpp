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

namespace {
// Rows of logits computed at a time in projected_cross_entropy: about 2^21 floats (8 MB), at
// least 64 rows, so that the products stay large enough for the BLAS to run at full speed. Each
// chunk's products pack w again (V·d floats, twice): at 2^20 a 10,000-way layer over d = 128
// (the Keras layout) spent ~12 % of its step packing; 2^21 is 5 % faster there, 0-1 % for
// LM-small, at 4 MB more.
std::size_t logit_chunk_rows(std::size_t N, std::size_t V) {
  return std::min(N, std::max<std::size_t>(64, (std::size_t{1} << 21) / std::max<std::size_t>(V, 1)));
}

// sink (overwrite: =, else +=) g·src over n floats, split over the threads.
void add_scaled(std::size_t n, float g, const float* src, const detail::grad_sink& sink) {
  float* dst = sink.p;
  const bool overwrite = sink.overwrite;
  parallel_for(n, std::size_t{1} << 16, [=](std::size_t b, std::size_t e) {
    if (overwrite)
      for (std::size_t i = b; i < e; ++i) dst[i] = g * src[i];
    else
      kernels::axpy(e - b, g, src + b, dst + b);
  });
}
}  // namespace

// h [N,d], w [d,V] or [V,d], bias [1,V] -> [1,1]. The logits are computed in chunks of rows and
// never kept: when training, each chunk is turned into its gradient at once (for a unit gradient
// of the loss) and multiplied out into dh [N,d], dw and dbias, which the backward pass scales by
// the loss's gradient. A step keeps those (the size of h and of the parameters) instead of the
// [N,V] logits; the products are the same three, in chunks.
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

  const bool ng = h.needs_grad() || w.needs_grad() || (bias.valid() && bias.needs_grad());
  var loss = t.make(1, 1, ng);
  const bool want_dh = loss.needs_grad() && h.needs_grad();
  const bool want_dw = loss.needs_grad() && w.needs_grad();
  const bool want_db = loss.needs_grad() && bias.valid() && bias.needs_grad();
  // Kept for the backward pass: the gradients for a unit d(loss).
  matrix* dh = want_dh ? &t.scratch(N, d) : nullptr;
  matrix* dw = want_dw ? &t.scratch(w.rows(), w.cols()) : nullptr;
  matrix* db = want_db ? &t.scratch(1, V) : nullptr;
  if (db) db->fill(0.0f);
  matrix& rows_out = t.scratch(2, N);  // row 0: the row's loss, row 1: 1 when its argmax is the target
  float* rowloss = rows_out.data();
  float* hit = rowloss + N;
  const std::size_t R = logit_chunk_rows(N, V);
  float* X = t.transient(R * V);  // logits [R,V] of one chunk, then their gradient
  const float* H = h.value().data();
  const float* W = w.value().data();
  const float unit = 1.0f / static_cast<float>(std::max<std::size_t>(n, 1));  // d mean / d row loss
  const std::size_t grain = std::max<std::size_t>(1, (1 << 15) / std::max<std::size_t>(V, 1));
  const bool backward_rows = want_dh || want_dw || want_db;
  for (std::size_t r0 = 0; r0 < N; r0 += R) {
    const std::size_t m = std::min(R, N - r0);
    // logits [m,V] = h[r0 : r0+m] [m,d] · w [d,V] (or wᵀ) + bias
    if (bias.valid()) detail::broadcast_rows(m, V, bias.value().data(), X);
    gemm(false, w_rows_are_classes, m, V, d, 1.0f, H + r0 * d, d, W, w.cols(), bias.valid() ? 1.0f : 0.0f, X, V);
    parallel_for(m, grain, [&](std::size_t b, std::size_t e) {
      for (std::size_t i = b; i < e; ++i) {
        const std::size_t r = r0 + i;
        float* x = X + i * V;
        rowloss[r] = hit[r] = 0.0f;
        if (targets[r] == pad_id) {
          if (backward_rows) std::fill(x, x + V, 0.0f);
          continue;
        }
        const auto y = static_cast<std::size_t>(targets[r]);
        float lse = 0.0f;
        rowloss[r] = kernels::cross_entropy_row(V, x, y, label_smoothing, &lse);
        hit[r] = kernels::argmax(V, x) == y ? 1.0f : 0.0f;
        // (softmax(x) - q) / n, q = (1-ε)·onehot + ε/V
        if (backward_rows) kernels::cross_entropy_gradient_in_place(V, x, y, label_smoothing, lse, unit);
      }
    });
    const float beta = r0 == 0 ? 0.0f : 1.0f;
    // dh rows [m,d] = dlogits [m,V] · wᵀ (or · w) and dw, each when wanted
    gemm_args dh_product, dw_product;
    if (want_dh)
      dh_product = {false, !w_rows_are_classes, m, d, V, 1.0f, X, V, W, w.cols(), 0.0f, dh->data() + r0 * d, d};
    if (want_dw && w_rows_are_classes)  // dw [V,d] += dlogitsᵀ [V,m] · h [m,d]
      dw_product = {true, false, V, d, m, 1.0f, X, V, H + r0 * d, d, beta, dw->data(), d};
    else if (want_dw)  // dw [d,V] += hᵀ [d,m] · dlogits [m,V]
      dw_product = {true, false, d, V, m, 1.0f, H + r0 * d, d, X, V, beta, dw->data(), V};
    gemm_pair(want_dh ? &dh_product : nullptr, want_dw ? &dw_product : nullptr);
    if (want_db) detail::add_bias_grad(m, V, X, db->data());
  }
  double total = 0.0, hits = 0.0;  // in row order: the same value for any thread count
  for (std::size_t r = 0; r < N; ++r) {
    total += rowloss[r];
    hits += hit[r];
  }
  if (correct) *correct = static_cast<std::size_t>(hits);
  loss.mutable_value()(0, 0) = n ? static_cast<float>(total / static_cast<double>(n)) : 0.0f;
  if (!loss.needs_grad()) return loss;
  t.on_backward([h, w, bias, loss, dh, dw, db] {
    const float g = loss.grad()(0, 0);
    if (dh) add_scaled(dh->size(), g, dh->data(), detail::sink_of(h));
    if (dw) add_scaled(dw->size(), g, dw->data(), detail::sink_of(w));
    if (db) add_scaled(db->size(), g, db->data(), detail::sink_of(bias));
  });
  return loss;
}

}  // namespace attn
