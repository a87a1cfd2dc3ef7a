// Fused log-softmax + negative log-likelihood with padding and label smoothing.
#include <algorithm>

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

}  // namespace attn
