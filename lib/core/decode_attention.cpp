// Dot-product attention for decoding: a few query rows (a decoding step has one), or keys in a
// paged K/V layout (a cache whose batch items read their keys from several pages, shared between
// beams). Inference only. See attention_layout.h. Keys and values are floats, or halves
// (core/half.h) turned into floats as they are loaded: one set of loops for both, so that the
// halves give the floats' results bit for bit.
#include <algorithm>
#include <array>
#include <cstring>
#include <xsimd/xsimd.hpp>
#if XSIMD_WITH_SSE2
#include <immintrin.h>
#endif

#include "core/attention_layout.h"
#include "core/half.h"
#include "core/kernels.h"
#include "core/kernels_inline.h"
#include "core/threads.h"

namespace attn {

namespace {

using batch = xsimd::batch<float>;
constexpr std::size_t W = batch::size;

// W floats from p: floats as stored, or halves turned into floats.
inline batch load(const float* p) {
  return batch::load_unaligned(p);
}
inline batch load(const std::uint16_t* p) {
#if XSIMD_WITH_AVX512F
  static_assert(W == 16, "xsimd's AVX-512 batch holds 16 floats");
  // the all-lanes mask: _mm512_cvtph_ps's undefined source trips GCC 12's -Wmaybe-uninitialized
  return batch(_mm512_maskz_cvtph_ps(0xffff, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))));
#elif XSIMD_WITH_AVX && defined(__F16C__)
  static_assert(W == 8, "xsimd's AVX batch holds 8 floats");
  return batch(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
#elif XSIMD_WITH_SSE2 && defined(__F16C__)
  static_assert(W == 4, "xsimd's SSE batch holds 4 floats");
  return batch(_mm_cvtph_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
#else
  alignas(64) float f[W];
  from_half(p, f, W);
  return batch::load_aligned(f);
#endif
}

// The row of n keys or values at p as floats: p itself, or its halves converted into buf [n].
inline const float* floats_of(const float* p, std::size_t, std::vector<float>&) {
  return p;
}
inline const float* floats_of(const std::uint16_t* p, std::size_t n, std::vector<float>& buf) {
  buf.resize(n);
  from_half(p, buf.data(), n);
  return buf.data();
}

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
template <std::size_t C, class E>
void scores_rows(const float* q, const E* K, std::size_t ld, std::size_t m, float alpha, float* S) {
  batch qc[C];
  for (std::size_t c = 0; c < C; ++c) qc[c] = batch::load_unaligned(q + c * W);
  std::size_t r = 0;
  for (; r + W <= m; r += W) {
    batch acc[W];
    const E* k = K + r * ld;
    for (std::size_t i = 0; i < W; ++i, k += ld) {  // row by row: one pointer, not W of them
      batch a = qc[0] * load(k);
      for (std::size_t c = 1; c < C; ++c) a = xsimd::fma(qc[c], load(k + c * W), a);
      acc[i] = a;
    }
    (kernels::row_sums(acc) * batch(alpha)).store_unaligned(S + r);
  }
  for (; r < m; ++r) {
    batch acc = qc[0] * load(K + r * ld);
    for (std::size_t c = 1; c < C; ++c) acc = xsimd::fma(qc[c], load(K + r * ld + c * W), acc);
    S[r] = alpha * xsimd::hadd(acc);
  }
}

// Any width: one dot product per row.
template <class E>
void scores_rows_any(std::size_t dh, const float* q, const E* K, std::size_t ld, std::size_t m, float alpha, float* S) {
  thread_local std::vector<float> row;
  for (std::size_t r = 0; r < m; ++r) S[r] = alpha * kernels::dot_inline(dh, q, floats_of(K + r * ld, dh, row));
}

// For G heads g at once: o_g [C·W] += Σ_r P_g[r] v_rg for the m rows at V + r·ld, head g's
// weights P_g = P + g·lp and its values at column g·C·W of the row (and of o). The G·C sums live in
// registers over the rows: independent chains, so the adds do not wait on each other's latency,
// and each output element still adds its rows one by one in order (as axpy_inline would).
template <std::size_t C, std::size_t G, class E>
void weighted_rows(const float* P, std::size_t lp, const E* V, std::size_t ld, std::size_t m, float* o) {
  batch acc[G][C];
  for (std::size_t g = 0; g < G; ++g)
    for (std::size_t c = 0; c < C; ++c) acc[g][c] = batch::load_unaligned(o + (g * C + c) * W);
  for (std::size_t r = 0; r < m; ++r)
    for (std::size_t g = 0; g < G; ++g) {
      const batch w(P[g * lp + r]);
      for (std::size_t c = 0; c < C; ++c) acc[g][c] = xsimd::fma(w, load(V + r * ld + (g * C + c) * W), acc[g][c]);
    }
  for (std::size_t g = 0; g < G; ++g)
    for (std::size_t c = 0; c < C; ++c) acc[g][c].store_unaligned(o + (g * C + c) * W);
}

template <class E>
void weighted_rows_any(std::size_t dv, const float* P, const E* V, std::size_t ld, std::size_t m, float* o) {
  thread_local std::vector<float> row;
  for (std::size_t r = 0; r < m; ++r) axpy_inline(dv, P[r], floats_of(V + r * ld, dv, row), o);
}

// Batch items decoded as one group at most (a beam search's beams of one sentence).
constexpr std::size_t max_group = 8;

template <class E>
using scores_fn = void (*)(const float*, const E*, std::size_t, std::size_t, float, float*);
template <class E>
using weighted_fn = void (*)(const float*, std::size_t, const E*, std::size_t, std::size_t, float*);

// Heads whose weighted sums weighted_rows takes together for C = n/W: 16 accumulators at most
// (with AVX-512's 32 registers, room for the loads and the weights).
constexpr std::size_t heads_together(std::size_t C) {
  return C >= 8 ? 2 : 16 / C > 4 ? 4 : 16 / C;
}

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

namespace {

using detail::dot_attention_dims;
using detail::key_lengths;
using detail::key_limit;
using detail::pages_per_item;
using detail::work_grain;

// The loops, over K/V elements of type E (float or a half's bits): q [B*Tq, H*dh], K [N*R, H*dh],
// V [N*R, H*dv] (items of R rows; batch item b's n items are k_items[b*n ..], or item b) ->
// [B*Tq, H*dv]; weights [B*H*Tq, Tk] into keep. q, K and V checked against s as d.
template <class E>
var decode_loops(const char* op, tape& t, const var& q, const E* K, const E* V, const dot_attention_dims& d,
                 const attention_shape& s, attention_weights* keep) {
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
  float* O = out.mutable_value().data();
  // page p of batch item b: pages[b*n + p], or b without k_items (n = 1)
  const std::int32_t* pages = s.k_items.empty() ? nullptr : s.k_items.data();
  auto page_of = [&](std::size_t b, std::size_t p) {
    return static_cast<std::size_t>(pages ? pages[b * n + p] : static_cast<std::int32_t>(b));
  };
  const scores_fn<E> scores =
      kernel_for<scores_fn<E>>(dh, {scores_rows<1, E>, scores_rows<2, E>, scores_rows<4, E>, scores_rows<8, E>});
  // heads G at a time, then one by one
  const std::size_t G = dv % W == 0 && dv / W <= 8 ? heads_together(dv / W) : 1;
  const weighted_fn<E> weighted_g =
      kernel_for<weighted_fn<E>>(dv, {weighted_rows<1, heads_together(1), E>, weighted_rows<2, heads_together(2), E>,
                                      weighted_rows<4, heads_together(4), E>, weighted_rows<8, heads_together(8), E>});
  const weighted_fn<E> weighted = kernel_for<weighted_fn<E>>(
      dv, {weighted_rows<1, 1, E>, weighted_rows<2, 1, E>, weighted_rows<4, 1, E>, weighted_rows<8, 1, E>});
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
            const E* Kp = K + page_of(b, p) * R * ldq;
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
            const E* Vp = V + page_of(b, p) * R * ldv;
            const std::size_t m = std::min(R, lim[b - g0] - j0);
            const float* Pb = S[b - g0];
            float* o = O + (b * Tq + i) * ldv;
            std::size_t h = 0;
            if (weighted_g)
              for (; h + G <= H; h += G) weighted_g(Pb + h * ls + j0, ls, Vp + h * dv, ldv, m, o + h * dv);
            for (; h < H; ++h) {
              if (weighted)
                weighted(Pb + h * ls + j0, ls, Vp + h * dv, ldv, m, o + h * dv);
              else
                weighted_rows_any(dv, Pb + h * ls + j0, Vp + h * dv, ldv, m, o + h * dv);
            }
          }
      }
    }
  });
  return out;
}

}  // namespace

// q [B*Tq, H*dh], k [N*R, H*dh], v [N*R, H*dv] (items of R rows; batch item b's n items are
// k_items[b*n ..], or item b) -> [B*Tq, H*dv]; weights [B*H*Tq, Tk] into keep
var detail::decode_attention(const char* op, var q, var k, var v, const attention_shape& s, scoring sc,
                             attention_weights* keep) {
  tape& t = tape_of(op, {q, k, v});
  const dot_attention_dims d = check_dot_attention(op, q, k, v, s, sc);
  if (q.needs_grad() || k.needs_grad() || v.needs_grad())
    fail(op, "paged K/V (a decoding cache) are for inference: q, k and v may not need gradients");
  return decode_loops(op, t, q, k.value().data(), v.value().data(), d, s, keep);
}

// The same over halves: k [N*R, H*dh], v [N*R, H*dv] as binary16.
var detail::decode_attention(const char* op, var q, const half_matrix& k, const half_matrix& v,
                             const attention_shape& s, scoring sc, attention_weights* keep) {
  tape& t = tape_of(op, {q});
  const dot_attention_dims d =
      check_dot_attention(op, q,
                          {rows(k), cols(k), rows(v), cols(v),
                           "k [" + std::to_string(rows(k)) + ", " + std::to_string(cols(k)) + "] and v [" +
                               std::to_string(rows(v)) + ", " + std::to_string(cols(v)) + "] (halves)"},
                          s, sc);
  if (q.needs_grad()) fail(op, "K/V in half precision (a decoding cache) are for inference: q may not need a gradient");
  return decode_loops(op, t, q, k.data(), v.data(), d, s, keep);
}

}  // namespace attn
