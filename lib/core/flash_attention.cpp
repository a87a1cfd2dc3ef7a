// Tiled dot-product attention with an online softmax (see flash_attention.h). Every product is
// a single-threaded gemm() on one tile inside the parallel-over-(batch item, head) region.
#include "core/flash_attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
// GCC 12 reports -Wmaybe-uninitialized inside the AVX-512 intrinsics that xsimd's exp inlines
// here (_mm512_undefined_* placeholders): a known false positive (as in kernels.cpp).
#ifndef __clang__  // a g++ warning only
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <xsimd/xsimd.hpp>

#include "core/attention_layout.h"
#include "core/blas.h"
#include "core/kernels.h"
#include "core/threads.h"

namespace attn {

using detail::key_limit;

namespace {

using batch = xsimd::batch<float>;
constexpr std::size_t W = batch::size;
constexpr float inf = std::numeric_limits<float>::infinity();

// x[j] = exp(x[j] - shift) for j < n; returns their sum.
float exp_shifted(std::size_t n, float* x, float shift) {
  const batch sh(shift);
  batch acc(0.0f);
  std::size_t j = 0;
  for (; j + W <= n; j += W) {
    const batch e = xsimd::exp(batch::load_unaligned(x + j) - sh);
    e.store_unaligned(x + j);
    acc += e;
  }
  if (j < n) {
    alignas(64) float buf[W];
    const std::size_t m = n - j;
    for (std::size_t c = 0; c < W; ++c) buf[c] = c < m ? x[j + c] : -inf;
    const batch e = xsimd::exp(batch::load_aligned(buf) - sh);
    e.store_aligned(buf);
    std::memcpy(x + j, buf, m * sizeof(float));
    acc += e;
  }
  return xsimd::hadd(acc);
}

// g[j] = p[j]·(g[j] - d) for j < n: the softmax backward with d = rowsum(dO ⊙ O).
void softmax_grad(std::size_t n, const float* p, float d, float* g) {
  for (std::size_t j = 0; j < n; ++j) g[j] = p[j] * (g[j] - d);
}

// One (batch item, head): where its rows are, and how many keys it has.
struct head {
  const float* Q;  // [Tq, dh], leading dimension ldq
  const float* K;  // [nk, dh], ldq
  const float* V;  // [nk, dv], ldv
  std::size_t nk;
};

// The sizes shared by every head, and the tiling.
struct geometry {
  std::size_t Tq, dh, dv, ldq, ldv, Br, Bc;
  float alpha;
};

// Scores of query block [i0, i0+br) against key tile [j0, j0+bc), unmasked:
// S [br,bc] = α·Q_i [br,dh] · K_jᵀ [dh,bc].
void scores(const geometry& g, const head& x, std::size_t i0, std::size_t br, std::size_t j0, std::size_t bc,
            float* S) {
  gemm(false, true, br, bc, g.dh, g.alpha, x.Q + i0 * g.ldq, g.ldq, x.K + j0 * g.ldq, g.ldq, 0.0f, S, bc);
}

// Keys of tile [j0, j0+bc) that query row t may see.
inline std::size_t visible(std::size_t t, std::size_t j0, std::size_t bc, std::size_t nk, const attention_shape& s) {
  const std::size_t lim = key_limit(t, nk, s);
  return lim > j0 ? std::min(bc, lim - j0) : 0;
}

// Forward of one head: O [Tq, dv] (ldv) and, if lse is not null, lse [Tq] (+inf for rows that
// see no key). S [Br, Bc], m and l [Br] are the thread's buffers.
void forward_head(const geometry& g, const attention_shape& s, const head& x, float* O, float* lse, float* S,
                  float* m, float* l) {
  for (std::size_t i0 = 0; i0 < g.Tq; i0 += g.Br) {
    const std::size_t br = std::min(g.Br, g.Tq - i0);
    const std::size_t kend = key_limit(i0 + br - 1, x.nk, s);  // the block's last row sees the most keys
    float* Oi = O + i0 * g.ldv;
    for (std::size_t r = 0; r < br; ++r) {
      m[r] = -inf;
      l[r] = 0.0f;
      std::fill(Oi + r * g.ldv, Oi + r * g.ldv + g.dv, 0.0f);
    }
    for (std::size_t j0 = 0; j0 < kend; j0 += g.Bc) {
      const std::size_t bc = std::min(g.Bc, kend - j0);
      scores(g, x, i0, br, j0, bc, S);
      // online softmax: P = exp(S - m_new), l = l·e^(m-m_new) + ΣP, O = O·e^(m-m_new) (+ P·V below)
      for (std::size_t r = 0; r < br; ++r) {
        float* row = S + r * bc;
        const std::size_t n = visible(i0 + r, j0, bc, x.nk, s);
        if (n > 0) {
          const float mx = std::max(m[r], kernels::max(n, row));
          const float sum = exp_shifted(n, row, mx);
          if (m[r] != -inf) {
            const float corr = std::exp(m[r] - mx);
            l[r] *= corr;
            if (corr != 1.0f) kernels::scale(g.dv, corr, Oi + r * g.ldv);
          }
          l[r] += sum;
          m[r] = mx;
        }
        std::fill(row + n, row + bc, 0.0f);
      }
      // O_i [br,dv] += P [br,bc] · V_j [bc,dv]
      gemm(false, false, br, g.dv, bc, 1.0f, S, bc, x.V + j0 * g.ldv, g.ldv, 1.0f, Oi, g.ldv);
    }
    for (std::size_t r = 0; r < br; ++r) {
      if (l[r] > 0.0f) kernels::scale(g.dv, 1.0f / l[r], Oi + r * g.ldv);
      if (lse) lse[i0 + r] = l[r] > 0.0f ? m[r] + std::log(l[r]) : inf;
    }
  }
}

// Gradient pointers of one head (null: not wanted), laid out like its inputs.
struct head_grads {
  float* dQ;
  float* dK;
  float* dV;
};

// Backward of one head from O, dO [Tq, dv] (ldv) and lse [Tq]. S, G [Br, Bc] and D [Br] are the
// thread's buffers.
void backward_head(const geometry& g, const attention_shape& s, const head& x, const float* O, const float* dO,
                   const float* lse, const head_grads& d, float* S, float* G, float* D) {
  for (std::size_t i0 = 0; i0 < g.Tq; i0 += g.Br) {
    const std::size_t br = std::min(g.Br, g.Tq - i0);
    const std::size_t kend = key_limit(i0 + br - 1, x.nk, s);
    if (kend == 0) continue;  // no row of the block sees a key: all gradients are zero
    const float* dOi = dO + i0 * g.ldv;
    for (std::size_t r = 0; r < br; ++r) D[r] = kernels::dot(g.dv, dOi + r * g.ldv, O + (i0 + r) * g.ldv);
    for (std::size_t j0 = 0; j0 < kend; j0 += g.Bc) {
      const std::size_t bc = std::min(g.Bc, kend - j0);
      scores(g, x, i0, br, j0, bc, S);
      for (std::size_t r = 0; r < br; ++r) {  // P = exp(S - lse), masked keys 0
        float* row = S + r * bc;
        const std::size_t n = visible(i0 + r, j0, bc, x.nk, s);
        if (n > 0) exp_shifted(n, row, lse[i0 + r]);
        std::fill(row + n, row + bc, 0.0f);
      }
      // dV_j [bc,dv] += Pᵀ [bc,br] · dO_i [br,dv]
      if (d.dV) gemm(true, false, bc, g.dv, br, 1.0f, S, bc, dOi, g.ldv, 1.0f, d.dV + j0 * g.ldv, g.ldv);
      if (!d.dQ && !d.dK) continue;
      // dP [br,bc] = dO_i [br,dv] · V_jᵀ [dv,bc];  dS = P ⊙ (dP - D)
      gemm(false, true, br, bc, g.dv, 1.0f, dOi, g.ldv, x.V + j0 * g.ldv, g.ldv, 0.0f, G, bc);
      for (std::size_t r = 0; r < br; ++r) softmax_grad(bc, S + r * bc, D[r], G + r * bc);
      // dQ_i [br,dh] += α·dS [br,bc] · K_j [bc,dh];  dK_j [bc,dh] += α·dSᵀ [bc,br] · Q_i [br,dh]
      if (d.dQ) gemm(false, false, br, g.dh, bc, g.alpha, G, bc, x.K + j0 * g.ldq, g.ldq, 1.0f, d.dQ + i0 * g.ldq, g.ldq);
      if (d.dK) gemm(true, false, bc, g.dh, br, g.alpha, G, bc, x.Q + i0 * g.ldq, g.ldq, 1.0f, d.dK + j0 * g.ldq, g.ldq);
    }
  }
}

}  // namespace

// Measured with tests/perf/bench_attention.cpp (causal, d = 256, 4 heads, 2,048 tokens, one
// thread, forward + backward; docs/benchmarks.md): tiled / untiled time 1.06-1.15 at 64 keys,
// 0.89-0.95 at 128, 0.63-0.67 at 1,024; one-query decoding steps equal. Below 128 keys the
// untiled path is faster and its weights are small.
bool flash_attention_pays(const attention_shape& s) { return s.k_len >= 128; }

var flash_attention(var q, var k, var v, const attention_shape& s, scoring sc, const flash_tiles& tiles) {
  return detail::flash_attention("flash_attention", q, k, v, s, sc, tiles);
}

// q [B*Tq, H*dh], k [n*R, H*dh], v [n*R, H*dv] -> [B*Tq, H*dv]; keeps lse [B*H, Tq]
var detail::flash_attention(const char* op, var q, var k, var v, const attention_shape& s, scoring sc,
                            const flash_tiles& tiles) {
  tape& t = tape_of(op, {q, k, v});
  const dot_attention_dims d = check_dot_attention(op, q, k, v, s, sc);
  require_one_item_each(op, s);
  if (tiles.q_rows == 0 || tiles.k_cols == 0) fail(op, "tiles must hold at least one query and one key");
  const std::vector<std::int32_t>& len = key_lengths(op, t, s);
  const std::size_t B = d.B, H = d.H, R = d.R;
  const geometry g{d.Tq, d.dh, d.dv, H * d.dh, H * d.dv, tiles.q_rows, tiles.k_cols, d.alpha};

  var out = t.make(B * g.Tq, g.ldv, q.needs_grad() || k.needs_grad() || v.needs_grad());
  matrix* lse = out.needs_grad() ? &t.scratch(B * H, g.Tq) : nullptr;  // [b*H + h, t]
  const float* Q = q.value().data();
  const float* K = k.value().data();
  const float* V = v.value().data();
  float* O = out.mutable_value().data();
  const std::size_t per_thread = 2 * g.Br * g.Bc + 3 * g.Br;  // S, G [Br,Bc]; m, l, D [Br]
  float* buffers = t.transient(static_cast<std::size_t>(threads()) * per_thread);
  const std::size_t grain = work_grain(2 * g.Tq * d.Tk * (g.dh + g.dv));
  parallel_for(B * H, grain, [&](std::size_t first, std::size_t last) {
    float* S = buffers + static_cast<std::size_t>(thread_index()) * per_thread;
    float* m = S + 2 * g.Br * g.Bc;
    for (std::size_t bh = first; bh < last; ++bh) {
      const std::size_t b = bh / H, h = bh % H;
      const std::size_t kr = kv_item(s, b) * R;  // first K/V row of item b
      const head x{Q + b * g.Tq * g.ldq + h * g.dh, K + kr * g.ldq + h * g.dh, V + kr * g.ldv + h * g.dv,
                   static_cast<std::size_t>(len[b])};
      forward_head(g, s, x, O + b * g.Tq * g.ldv + h * g.dv, lse ? lse->data() + bh * g.Tq : nullptr, S, m, m + g.Br);
    }
  });
  if (!out.needs_grad()) return out;

  tape* tp = &t;
  const std::vector<std::int32_t>* lp = &len;
  const attention_shape sh{B, g.Tq, d.Tk, H, s.causal, {}, R, s.k_items};
  // batch items sharing a K/V item would add into the same dK/dV rows at once: one chunk then
  const std::size_t back_grain = (k.needs_grad() || v.needs_grad()) && shares_items(s) ? B * H : grain;
  t.on_backward([q, k, v, out, lse, lp, sh, g, R, per_thread, back_grain, tp] {
    const std::size_t B = sh.batch, H = sh.heads;
    const float* Q = q.value().data();
    const float* K = k.value().data();
    const float* V = v.value().data();
    const float* O = out.value().data();
    const float* dO = out.grad().data();
    float* dQ = q.needs_grad() ? q.grad().data() : nullptr;
    float* dK = k.needs_grad() ? k.grad().data() : nullptr;
    float* dV = v.needs_grad() ? v.grad().data() : nullptr;
    float* buffers = tp->transient(static_cast<std::size_t>(threads()) * per_thread);
    parallel_for(B * H, back_grain, [&](std::size_t first, std::size_t last) {
      float* S = buffers + static_cast<std::size_t>(thread_index()) * per_thread;
      float* G = S + g.Br * g.Bc;
      float* D = G + g.Br * g.Bc;
      for (std::size_t bh = first; bh < last; ++bh) {
        const std::size_t b = bh / H, h = bh % H, nk = static_cast<std::size_t>((*lp)[b]);
        if (nk == 0) continue;
        const std::size_t kr = kv_item(sh, b) * R;  // first K/V row of item b
        const std::size_t qo = b * g.Tq * g.ldq + h * g.dh, ko = kr * g.ldq + h * g.dh, vo = kr * g.ldv + h * g.dv;
        const std::size_t oo = b * g.Tq * g.ldv + h * g.dv;
        const head x{Q + qo, K + ko, V + vo, nk};
        const head_grads gr{dQ ? dQ + qo : nullptr, dK ? dK + ko : nullptr, dV ? dV + vo : nullptr};
        backward_head(g, sh, x, O + oo, dO + oo, lse->data() + bh * g.Tq, gr, S, G, D);
      }
    });
  });
  return out;
}

}  // namespace attn
