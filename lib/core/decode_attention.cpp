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

// Asks for the cache lines of n floats at x ahead of their use: a page's rows stream from memory
// faster than the hardware prefetcher alone fetches them for these short dot products.
inline void prefetch_row(const float* x, std::size_t n) {
  for (std::size_t i = 0; i < n; i += 64 / sizeof(float)) __builtin_prefetch(x + i);
}

constexpr std::size_t prefetch_distance = 4;  // rows ahead

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
  // scores of one query row, all heads [H, Tk]: keep's rows, else a per-thread buffer
  const std::size_t per_thread = H * std::max<std::size_t>(Tk, 1);
  float* buffers = keep ? nullptr : t.transient(static_cast<std::size_t>(threads()) * per_thread);
  const float* Q = q.value().data();
  const float* K = k.value().data();
  const float* V = v.value().data();
  float* O = out.mutable_value().data();
  // item p of batch item b: pages[b*n + p], or b without k_items (n = 1)
  const std::int32_t* pages = s.k_items.empty() ? nullptr : s.k_items.data();
  // One batch item at a time, all heads together: each key and value row is read whole, and a
  // page's rows are contiguous (R rows of H*dh floats), so the cache streams through memory in
  // order; beams that share pages are neighbours, and read them from cache.
  parallel_for(B, work_grain(2 * Tq * Tk * H * (dh + dv)), [&](std::size_t first, std::size_t last) {
    float* own = keep ? nullptr : buffers + static_cast<std::size_t>(thread_index()) * per_thread;
    for (std::size_t b = first; b < last; ++b) {
      const std::size_t nk = static_cast<std::size_t>(len[b]);
      const std::int32_t own_item = static_cast<std::int32_t>(b);
      const std::int32_t* item_pages = pages ? pages + b * n : &own_item;
      for (std::size_t i = 0; i < Tq; ++i) {
        const std::size_t lim = key_limit(i, nk, s);
        const float* qi = Q + (b * Tq + i) * ldq;
        // head h's scores: row ((b*H + h)*Tq + i) of keep, else row h of the buffer
        float* S = keep ? keep->w.data() + (b * H * Tq + i) * Tk : own;
        const std::size_t ls = keep ? Tq * Tk : Tk;  // from one head's scores to the next
        // S_h [lim] = α·q_ih · k_jhᵀ, page by page
        for (std::size_t j0 = 0, p = 0; j0 < lim; j0 += R, ++p) {
          const float* Kp = K + static_cast<std::size_t>(item_pages[p]) * R * ldq;
          const std::size_t m = std::min(R, lim - j0);
          for (std::size_t r = 0; r < m; ++r) {
            if (r + prefetch_distance < m) prefetch_row(Kp + (r + prefetch_distance) * ldq, ldq);
            for (std::size_t h = 0; h < H; ++h)
              S[h * ls + j0 + r] = alpha * kernels::dot_inline(dh, qi + h * dh, Kp + r * ldq + h * dh);
          }
        }
        for (std::size_t h = 0; h < H; ++h)  // zeros past lim in keep's rows
          kernels::softmax_row(keep ? Tk : lim, lim, S + h * ls, S + h * ls);
        // out_ih [dv] = Σ_j P_hj v_jh  (lim = 0 leaves zeros)
        float* o = O + (b * Tq + i) * ldv;
        std::fill(o, o + ldv, 0.0f);
        for (std::size_t j0 = 0, p = 0; j0 < lim; j0 += R, ++p) {
          const float* Vp = V + static_cast<std::size_t>(item_pages[p]) * R * ldv;
          const std::size_t m = std::min(R, lim - j0);
          for (std::size_t r = 0; r < m; ++r) {
            if (r + prefetch_distance < m) prefetch_row(Vp + (r + prefetch_distance) * ldv, ldv);
            for (std::size_t h = 0; h < H; ++h) axpy_inline(dv, S[h * ls + j0 + r], Vp + r * ldv + h * dv, o + h * dv);
          }
        }
      }
    }
  });
  return out;
}

}  // namespace attn
