// Dot-product attention for decoding: a few query rows (a decoding step has one), or keys in a
// paged K/V layout (a cache whose batch items read their keys from several pages, shared between
// beams). Inference only. See attention_layout.h.
#include <algorithm>
#include <array>
#include <cstring>
#include <xsimd/xsimd.hpp>

#include "core/attention_layout.h"
#include "core/kernels.h"
#include "core/kernels_inline.h"
#include "core/threads.h"

namespace attn {

namespace {

using batch = xsimd::batch<float>;
constexpr std::size_t W = batch::size;

// y += a·x over n floats, inlined.
inline void axpy_inline(std::size_t n, float a, const float* x, float* y) {
  const batch av(a);
  std::size_t i = 0;
  for (; i + W <= n; i += W)
    xsimd::fma(av, batch::load_unaligned(x + i), batch::load_unaligned(y + i)).store_unaligned(y + i);
  for (; i < n; ++i) y[i] += a * x[i];
}

// S [m] = α·q·k_rᵀ for the m rows k_r at K + r·ld, q [C·W]: W rows at a time, each row's products
// in its own accumulator and the W accumulators summed across their lanes together (row_sums),
// so no row pays a horizontal sum of its own; q stays in registers.
template <std::size_t C>
void scores_rows(const float* q, const float* K, std::size_t ld, std::size_t m, float alpha, float* S) {
  batch qc[C];
  for (std::size_t c = 0; c < C; ++c) qc[c] = batch::load_unaligned(q + c * W);
  std::size_t r = 0;
  for (; r + W <= m; r += W) {
    batch acc[W];
    for (std::size_t i = 0; i < W; ++i) acc[i] = qc[0] * batch::load_unaligned(K + (r + i) * ld);
    for (std::size_t c = 1; c < C; ++c)
      for (std::size_t i = 0; i < W; ++i)
        acc[i] = xsimd::fma(qc[c], batch::load_unaligned(K + (r + i) * ld + c * W), acc[i]);
    (kernels::row_sums(acc) * batch(alpha)).store_unaligned(S + r);
  }
  for (; r < m; ++r) {
    batch acc = qc[0] * batch::load_unaligned(K + r * ld);
    for (std::size_t c = 1; c < C; ++c) acc = xsimd::fma(qc[c], batch::load_unaligned(K + r * ld + c * W), acc);
    S[r] = alpha * xsimd::hadd(acc);
  }
}

// Any width: one dot product per row.
void scores_rows_any(std::size_t dh, const float* q, const float* K, std::size_t ld, std::size_t m, float alpha,
                     float* S) {
  for (std::size_t r = 0; r < m; ++r) S[r] = alpha * kernels::dot_inline(dh, q, K + r * ld);
}

// o [C·W] += Σ_r P_r v_r for the m rows v_r at V + r·ld, o held in registers over the rows. Row by
// row, as axpy_inline adds them.
template <std::size_t C>
void weighted_rows(const float* P, const float* V, std::size_t ld, std::size_t m, float* o) {
  batch acc[C];
  for (std::size_t c = 0; c < C; ++c) acc[c] = batch::load_unaligned(o + c * W);
  for (std::size_t r = 0; r < m; ++r) {
    const batch w(P[r]);
    for (std::size_t c = 0; c < C; ++c) acc[c] = xsimd::fma(w, batch::load_unaligned(V + r * ld + c * W), acc[c]);
  }
  for (std::size_t c = 0; c < C; ++c) acc[c].store_unaligned(o + c * W);
}

void weighted_rows_any(std::size_t dv, const float* P, const float* V, std::size_t ld, std::size_t m, float* o) {
  for (std::size_t r = 0; r < m; ++r) axpy_inline(dv, P[r], V + r * ld, o);
}

// Batch items decoded as one group at most (a beam search's beams of one sentence).
constexpr std::size_t max_group = 8;

using scores_fn = void (*)(const float*, const float*, std::size_t, std::size_t, float, float*);
using weighted_fn = void (*)(const float*, const float*, std::size_t, std::size_t, float*);

// The kernel for a head width of n floats among by_c, those for C = n/W = 1, 2, 4, 8 (registers);
// null for another width.
template <class F>
F kernel_for(std::size_t n, const std::array<F, 4>& by_c) {
  switch (n % W == 0 ? n / W : 0) {
    case 1:
      return by_c[0];
    case 2:
      return by_c[1];
    case 4:
      return by_c[2];
    case 8:
      return by_c[3];
    default:
      return nullptr;
  }
}

}  // namespace

bool detail::decode_attention_pays(const var& q, const var& k, const var& v, const attention_shape& s) {
  return s.q_len <= 4 && !q.needs_grad() && !k.needs_grad() && !v.needs_grad();
}

// q [B*Tq, H*dh], k [N*R, H*dh], v [N*R, H*dv] (items of R rows; batch item b's n items are
// k_items[b*n ..], or item b) -> [B*Tq, H*dv]; weights [B*H*Tq, Tk] into keep
var detail::decode_attention(const char* op, var q, var k, var v, const attention_shape& s, scoring sc,
                             attention_weights* keep) {
  tape& t = tape_of(op, {q, k, v});
  const dot_attention_dims d = check_dot_attention(op, q, k, v, s, sc);
  if (q.needs_grad() || k.needs_grad() || v.needs_grad())
    fail(op, "paged K/V (a decoding cache) are for inference: q, k and v may not need gradients");
  const std::size_t B = d.B, Tq = d.Tq, Tk = d.Tk, H = d.H, R = d.R, dh = d.dh, dv = d.dv;
  const std::size_t n = pages_per_item(op, s), ldq = H * dh, ldv = H * dv;
  const float alpha = d.alpha;
  const std::vector<std::int32_t>& len = key_lengths(op, t, s);

  var out = t.make(B * Tq, ldv, false);
  if (keep && keep->w.shape() != std::array<std::size_t, 2>{B * H * Tq, Tk})
    keep->w = matrix::from_shape({B * H * Tq, Tk});
  // Scores of one query row, all heads [H, Tk], for each item of a group: keep's rows, else a
  // per-thread buffer.
  const std::size_t per_item = H * std::max<std::size_t>(Tk, 1), per_thread = max_group * per_item;
  float* buffers = keep ? nullptr : t.transient(static_cast<std::size_t>(threads()) * per_thread);
  const float* Q = q.value().data();
  const float* K = k.value().data();
  const float* V = v.value().data();
  float* O = out.mutable_value().data();
  // page p of batch item b: pages[b*n + p], or b without k_items (n = 1)
  const std::int32_t* pages = s.k_items.empty() ? nullptr : s.k_items.data();
  auto page_of = [&](std::size_t b, std::size_t p) {
    return static_cast<std::size_t>(pages ? pages[b * n + p] : static_cast<std::int32_t>(b));
  };
  const scores_fn scores = kernel_for<scores_fn>(dh, {scores_rows<1>, scores_rows<2>, scores_rows<4>, scores_rows<8>});
  const weighted_fn weighted =
      kernel_for<weighted_fn>(dv, {weighted_rows<1>, weighted_rows<2>, weighted_rows<4>, weighted_rows<8>});
  // All heads together, so each key and value row is read whole; a page's rows are contiguous (R
  // rows of H*dh floats) and stream through memory in order. Neighbouring items that read the
  // same first page (the beams of one sentence, which share the pages of their common prefix)
  // go as a group, page by page: a page the group shares is read from memory once and from cache
  // by the others. Each item's own sums run in the same order whatever its group.
  parallel_for(B, work_grain(2 * Tq * Tk * H * (dh + dv)), [&](std::size_t first, std::size_t last) {
    float* own = keep ? nullptr : buffers + static_cast<std::size_t>(thread_index()) * per_thread;
    for (std::size_t g0 = first, g1; g0 < last; g0 = g1) {
      g1 = g0 + 1;
      while (g1 < last && g1 - g0 < max_group && page_of(g1, 0) == page_of(g0, 0)) ++g1;
      for (std::size_t i = 0; i < Tq; ++i) {
        std::size_t lim[max_group], most = 0;
        float* S[max_group];  // head h's scores: row ((b*H + h)*Tq + i) of keep, else of the buffer
        const std::size_t ls = keep ? Tq * Tk : Tk;  // from one head's scores to the next
        for (std::size_t b = g0; b < g1; ++b) {
          lim[b - g0] = key_limit(i, static_cast<std::size_t>(len[b]), s);
          most = std::max(most, lim[b - g0]);
          S[b - g0] = keep ? keep->w.data() + (b * H * Tq + i) * Tk : own + (b - g0) * per_item;
        }
        // S_h [lim] = α·q_ih · k_jhᵀ, page by page and head by head within a page (the page stays
        // in cache across heads and items). No software prefetch: the hardware's keeps up with a
        // page's contiguous rows, and prefetch instructions stalled on full fill buffers
        // (attn_bench_attention: 10-25 % slower with them).
        for (std::size_t j0 = 0, p = 0; j0 < most; j0 += R, ++p)
          for (std::size_t b = g0; b < g1; ++b) {
            if (j0 >= lim[b - g0]) continue;
            const float* Kp = K + page_of(b, p) * R * ldq;
            const float* qi = Q + (b * Tq + i) * ldq;
            const std::size_t m = std::min(R, lim[b - g0] - j0);
            float* Sb = S[b - g0];
            for (std::size_t h = 0; h < H; ++h) {
              if (scores)
                scores(qi + h * dh, Kp + h * dh, ldq, m, alpha, Sb + h * ls + j0);
              else
                scores_rows_any(dh, qi + h * dh, Kp + h * dh, ldq, m, alpha, Sb + h * ls + j0);
            }
          }
        for (std::size_t b = g0; b < g1; ++b) {
          for (std::size_t h = 0; h < H; ++h)  // zeros past lim in keep's rows
            kernels::softmax_row(keep ? Tk : lim[b - g0], lim[b - g0], S[b - g0] + h * ls, S[b - g0] + h * ls);
          float* o = O + (b * Tq + i) * ldv;
          std::fill(o, o + ldv, 0.0f);  // lim = 0 leaves zeros
        }
        // out_ih [dv] = Σ_j P_hj v_jh, page by page
        for (std::size_t j0 = 0, p = 0; j0 < most; j0 += R, ++p)
          for (std::size_t b = g0; b < g1; ++b) {
            if (j0 >= lim[b - g0]) continue;
            const float* Vp = V + page_of(b, p) * R * ldv;
            const std::size_t m = std::min(R, lim[b - g0] - j0);
            const float* Pb = S[b - g0];
            float* o = O + (b * Tq + i) * ldv;
            for (std::size_t h = 0; h < H; ++h) {
              if (weighted)
                weighted(Pb + h * ls + j0, Vp + h * dv, ldv, m, o + h * dv);
              else
                weighted_rows_any(dv, Pb + h * ls + j0, Vp + h * dv, ldv, m, o + h * dv);
            }
          }
      }
    }
  });
  return out;
}

}  // namespace attn
