// Attention: multi-head dot-product, additive (Bahdanau), and rotary position embedding.
// Heads and batch items are addressed through pointer offsets and leading dimensions; every
// product is one gemm() per (batch item, head), spread over the thread pool. Dot-product
// attention without weights to return goes tiled from 128 keys on (flash_attention.cpp); without
// gradients, a decoding step's few query rows and paged K/V go through direct loops
// (decode_attention.cpp).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/attention_layout.h"
#include "core/blas.h"
#include "core/flash_attention.h"
#include "core/kernels.h"
#include "core/ops.h"
#include "core/ops_util.h"
#include "core/threads.h"

namespace attn {

using detail::check_kv_rows;
using detail::item_rows;
using detail::key_lengths;
using detail::key_limit;
using detail::kv_item;
using detail::shape_of;
using detail::shares_items;
using detail::work_grain;

namespace {

// Per-thread buffers of r rows each, sized at forward time; grows only if set_threads() raised
// the thread count between forward and backward.
void grow_per_thread(matrix& m, std::size_t r, std::size_t c) {
  const std::size_t need = static_cast<std::size_t>(threads()) * r;
  if (rows(m) < need) m = matrix::from_shape({need, c});
}

void keep_weights(attention_weights* keep, const matrix& w) {
  if (!keep) return;
  if (keep->w.shape() != w.shape()) keep->w = matrix::from_shape(w.shape());
  std::memcpy(keep->w.data(), w.data(), w.size() * sizeof(float));
}

}  // namespace

var attention(var q, var k, var v, const attention_shape& s, scoring sc, attention_weights* keep) {
  if (detail::pages_per_item("attention", s) > 1 || detail::decode_attention_pays(q, k, v, s))
    return detail::decode_attention("attention", q, k, v, s, sc, keep);
  if (!keep && flash_attention_pays(s)) return detail::flash_attention("attention", q, k, v, s, sc, flash_tiles{});
  return detail::untiled_attention(q, k, v, s, sc, keep);
}

var attention(var q, const half_matrix& k, const half_matrix& v, const attention_shape& s, scoring sc,
              attention_weights* keep) {
  return detail::decode_attention("attention", q, k, v, s, sc, keep);
}

// q [B*Tq, H*dh], k [B*Tk, H*dh], v [B*Tk, H*dv] -> [B*Tq, H*dv]; keeps weights P [B*H*Tq, Tk]
var detail::untiled_attention(var q, var k, var v, const attention_shape& s, scoring sc, attention_weights* keep) {
  tape& t = detail::tape_of("attention", {q, k, v});
  const detail::dot_attention_dims d = detail::check_dot_attention("attention", q, k, v, s, sc);
  detail::require_one_item_each("attention", s);
  const std::size_t B = d.B, Tq = d.Tq, Tk = d.Tk, H = d.H, R = d.R, dh = d.dh, dv = d.dv;
  const std::size_t ldq = H * dh, ldv = H * dv;
  const float alpha = d.alpha;
  const std::vector<std::int32_t>& len = key_lengths("attention", t, s);

  var out = t.make(B * Tq, ldv, q.needs_grad() || k.needs_grad() || v.needs_grad());
  matrix& P = t.scratch(B * H * Tq, Tk);
  const float* Q = q.value().data();
  const float* K = k.value().data();
  const float* V = v.value().data();
  float* O = out.mutable_value().data();
  float* W = P.data();
  const std::size_t grain = work_grain(2 * Tq * Tk * (dh + dv));
  parallel_for(B * H, grain, [&](std::size_t first, std::size_t last) {
    for (std::size_t bh = first; bh < last; ++bh) {
      const std::size_t b = bh / H, h = bh % H, nk = static_cast<std::size_t>(len[b]);
      const std::size_t kr = kv_item(s, b) * R;  // first K/V row of item b
      float* Pb = W + bh * Tq * Tk;
      // scores [Tq, nk] = α·q_bh [Tq,dh] · k_bhᵀ [dh,nk]; masked columns are never read
      gemm(false, true, Tq, nk, dh, alpha, Q + b * Tq * ldq + h * dh, ldq, K + kr * ldq + h * dh, ldq, 0.0f, Pb, Tk);
      for (std::size_t i = 0; i < Tq; ++i) kernels::softmax_row(Tk, key_limit(i, nk, s), Pb + i * Tk, Pb + i * Tk);
      // out_bh [Tq,dv] = P [Tq,nk] · v_bh [nk,dv]  (nk = 0 writes zeros)
      gemm(false, false, Tq, dv, nk, 1.0f, Pb, Tk, V + kr * ldv + h * dv, ldv, 0.0f, O + b * Tq * ldv + h * dv, ldv);
    }
  });
  keep_weights(keep, P);
  if (!out.needs_grad()) return out;

  matrix* dP = &t.scratch(static_cast<std::size_t>(threads()) * Tq, Tk);  // per-thread [Tq,Tk]
  const matrix* Pk = &P;
  const std::vector<std::int32_t>* lp = &len;
  const attention_shape sh{B, Tq, Tk, H, s.causal, {}, R, s.k_items};
  // batch items sharing a K/V item would add into the same dK/dV rows at once: one chunk then
  const std::size_t back_grain = (k.needs_grad() || v.needs_grad()) && shares_items(s) ? B * H : grain;
  // With S = α·QKᵀ, P = softmax(S), O = PV:
  // dP = dO·Vᵀ, dV = Pᵀ·dO, dS = P⊙(dP - rowsum(dP⊙P)), dQ = α·dS·K, dK = α·dSᵀ·Q
  t.on_backward([q, k, v, out, Pk, dP, lp, sh, dh, dv, ldq, ldv, alpha, back_grain] {
    const std::size_t B = sh.batch, Tq = sh.q_len, Tk = sh.k_len, H = sh.heads;
    const float* Q = q.value().data();
    const float* K = k.value().data();
    const float* V = v.value().data();
    const float* dO = out.grad().data();
    float* dQ = q.needs_grad() ? q.grad().data() : nullptr;
    float* dK = k.needs_grad() ? k.grad().data() : nullptr;
    float* dV = v.needs_grad() ? v.grad().data() : nullptr;
    const std::size_t R = sh.k_item_rows;
    grow_per_thread(*dP, Tq, Tk);
    parallel_for(B * H, back_grain, [&](std::size_t first, std::size_t last) {
      float* G = dP->data() + static_cast<std::size_t>(thread_index()) * Tq * Tk;
      for (std::size_t bh = first; bh < last; ++bh) {
        const std::size_t b = bh / H, h = bh % H, nk = static_cast<std::size_t>((*lp)[b]);
        if (nk == 0) continue;
        const std::size_t kr = kv_item(sh, b) * R;  // first K/V row of item b
        const float* Pb = Pk->data() + bh * Tq * Tk;
        const float* dOb = dO + b * Tq * ldv + h * dv;
        const float* Qb = Q + b * Tq * ldq + h * dh;
        const float* Kb = K + kr * ldq + h * dh;
        const float* Vb = V + kr * ldv + h * dv;
        if (dV) gemm(true, false, nk, dv, Tq, 1.0f, Pb, Tk, dOb, ldv, 1.0f, dV + kr * ldv + h * dv, ldv);
        if (!dQ && !dK) continue;
        gemm(false, true, Tq, nk, dv, 1.0f, dOb, ldv, Vb, ldv, 0.0f, G, Tk);
        for (std::size_t i = 0; i < Tq; ++i)
          kernels::softmax_backward_row(nk, Pb + i * Tk, G + i * Tk, 1.0f, G + i * Tk, false);
        if (dQ) gemm(false, false, Tq, dh, nk, alpha, G, Tk, Kb, ldq, 1.0f, dQ + b * Tq * ldq + h * dh, ldq);
        if (dK) gemm(true, false, nk, dh, Tq, alpha, G, Tk, Qb, ldq, 1.0f, dK + kr * ldq + h * dh, ldq);
      }
    });
  });
  return out;
}

// qp [B*Tq, a], kp [B*Tk, a], score_v [1,a], values [B*Tk, dv] -> [B*Tq, dv]
// keeps tanh(qp_i + kp_j) [B*Tq*Tk, a] and the weights [B*Tq, Tk]
var additive_attention(var qp, var kp, var score_v, var values, const attention_shape& s, attention_weights* keep) {
  tape& t = detail::tape_of("additive_attention", {qp, kp, score_v, values});
  const std::size_t B = s.batch, Tq = s.q_len, Tk = s.k_len, a = qp.cols(), dv = values.cols();
  if (s.heads != 1) detail::fail("additive_attention", "only one head is supported");
  if (qp.rows() != B * Tq)
    detail::fail("additive_attention", "qp is " + shape_of(qp) + " but batch*q_len = " + std::to_string(B * Tq));
  const std::size_t R = item_rows("additive_attention", s);
  if (kp.cols() != a)
    detail::fail("additive_attention", "kp is " + shape_of(kp) + " but qp is " + shape_of(qp) + " (widths differ)");
  check_kv_rows("additive_attention", s, R, kp.rows(), values.rows(),
                "kp " + shape_of(kp) + " and values " + shape_of(values));
  detail::require_one_item_each("additive_attention", s);
  if (!(score_v.rows() == 1 && score_v.cols() == a))
    detail::fail("additive_attention", "score_v is " + shape_of(score_v) + ", expected [1," + std::to_string(a) + "]");
  const std::vector<std::int32_t>& len = key_lengths("additive_attention", t, s);

  const bool ng = qp.needs_grad() || kp.needs_grad() || score_v.needs_grad() || values.needs_grad();
  var out = t.make(B * Tq, dv, ng);
  matrix& P = t.scratch(B * Tq, Tk);
  matrix& Th = t.scratch(B * Tq * Tk, a);
  const float* Qp = qp.value().data();
  const float* Kp = kp.value().data();
  const float* Sv = score_v.value().data();
  const float* Vl = values.value().data();
  float* O = out.mutable_value().data();
  const std::size_t grain = work_grain(Tq * Tk * (6 * a + 2 * dv));
  parallel_for(B, grain, [&](std::size_t first, std::size_t last) {
    for (std::size_t b = first; b < last; ++b) {
      const std::size_t nk = static_cast<std::size_t>(len[b]);
      const std::size_t kr = kv_item(s, b) * R;  // first K/V row of item b
      float* Pb = P.data() + b * Tq * Tk;
      for (std::size_t i = 0; i < Tq; ++i) {
        const std::size_t lim = key_limit(i, nk, s);
        const float* qi = Qp + (b * Tq + i) * a;
        for (std::size_t j = 0; j < lim; ++j) {
          float* th = Th.data() + ((b * Tq + i) * Tk + j) * a;
          kernels::add(a, qi, Kp + (kr + j) * a, th);
          kernels::tanh_forward(a, th, th);
          Pb[i * Tk + j] = kernels::dot(a, th, Sv);  // e_ij = v·tanh(qp_i + kp_j)
        }
        kernels::softmax_row(Tk, lim, Pb + i * Tk, Pb + i * Tk);
      }
      // out_b [Tq,dv] = P_b [Tq,nk] · values_b [nk,dv]
      gemm(false, false, Tq, dv, nk, 1.0f, Pb, Tk, Vl + kr * dv, dv, 0.0f, O + b * Tq * dv, dv);
    }
  });
  keep_weights(keep, P);
  if (!out.needs_grad()) return out;

  const std::size_t nthreads = static_cast<std::size_t>(threads());
  matrix* dP = &t.scratch(nthreads * Tq, Tk);  // per-thread [Tq,Tk]
  // d score_v partial sums per batch item, added in order: independent of the thread count.
  matrix* dSv = &t.scratch(B, a);
  const matrix* Pk = &P;
  const matrix* Tk_ = &Th;
  const std::vector<std::int32_t>* lp = &len;
  const attention_shape sh{B, Tq, Tk, 1, s.causal, {}, R, s.k_items};
  // batch items sharing a K/V item would add into the same dkp/dvalues rows at once: one chunk then
  const std::size_t back_grain = (kp.needs_grad() || values.needs_grad()) && shares_items(s) ? B : grain;
  // With E_ij = v·T_ij, T_ij = tanh(qp_i + kp_j), P = softmax(E), O = P·values:
  // dP = dO·valuesᵀ, dvalues = Pᵀ·dO, dE = P⊙(dP - rowsum(dP⊙P)),
  // dv = Σ dE_ij T_ij, dqp_i = Σ_j dE_ij v⊙(1-T_ij²), dkp_j = Σ_i dE_ij v⊙(1-T_ij²)
  t.on_backward([qp, kp, score_v, values, out, Pk, Tk_, dP, dSv, lp, sh, a, dv, back_grain] {
    const std::size_t B = sh.batch, Tq = sh.q_len, Tk = sh.k_len;
    const float* Sv = score_v.value().data();
    const float* Vl = values.value().data();
    const float* dO = out.grad().data();
    float* dQp = qp.needs_grad() ? qp.grad().data() : nullptr;
    float* dKp = kp.needs_grad() ? kp.grad().data() : nullptr;
    float* dVl = values.needs_grad() ? values.grad().data() : nullptr;
    const bool want_sv = score_v.needs_grad();
    grow_per_thread(*dP, Tq, Tk);
    dSv->fill(0.0f);
    const std::size_t R = sh.k_item_rows;
    parallel_for(B, back_grain, [&](std::size_t first, std::size_t last) {
      float* G = dP->data() + static_cast<std::size_t>(thread_index()) * Tq * Tk;
      for (std::size_t b = first; b < last; ++b) {
        const std::size_t nk = static_cast<std::size_t>((*lp)[b]);
        if (nk == 0) continue;
        const std::size_t kr = kv_item(sh, b) * R;  // first K/V row of item b
        const float* Pb = Pk->data() + b * Tq * Tk;
        const float* dOb = dO + b * Tq * dv;
        float* ds = dSv->data() + b * a;
        if (dVl) gemm(true, false, nk, dv, Tq, 1.0f, Pb, Tk, dOb, dv, 1.0f, dVl + kr * dv, dv);
        if (!dQp && !dKp && !want_sv) continue;
        gemm(false, true, Tq, nk, dv, 1.0f, dOb, dv, Vl + kr * dv, dv, 0.0f, G, Tk);
        for (std::size_t i = 0; i < Tq; ++i) {
          const std::size_t lim = key_limit(i, nk, sh);
          float* gi = G + i * Tk;
          kernels::softmax_backward_row(lim, Pb + i * Tk, gi, 1.0f, gi, false);
          for (std::size_t j = 0; j < lim; ++j) {
            const float de = gi[j];
            if (de == 0.0f) continue;
            const float* th = Tk_->data() + ((b * Tq + i) * Tk + j) * a;
            float* dq = dQp ? dQp + (b * Tq + i) * a : nullptr;
            float* dk = dKp ? dKp + (kr + j) * a : nullptr;
            for (std::size_t c = 0; c < a; ++c) {
              const float g = de * Sv[c] * (1.0f - th[c] * th[c]);
              if (dq) dq[c] += g;
              if (dk) dk[c] += g;
            }
            if (want_sv) kernels::axpy(a, de, th, ds);
          }
        }
      }
    });
    if (want_sv)
      for (std::size_t c = 0; c < rows(*dSv); ++c) kernels::axpy(a, 1.0f, dSv->data() + c * a, score_v.grad().data());
  });
  return out;
}

// x [B*T, H*dh] -> same; pair (2i, 2i+1) of each head rotated by angle pos·10000^(-2i/dh),
// pos = offset + t
var rope(var x, std::size_t batch, std::size_t time, std::size_t heads, std::size_t offset) {
  tape& t = detail::tape_of("rope", {x});
  if (!(heads > 0 && x.cols() % heads == 0 && (x.cols() / heads) % 2 == 0))
    detail::fail("rope", "x " + shape_of(x) + " does not split into " + std::to_string(heads) + " heads of even width");
  if (x.rows() != batch * time)
    detail::fail("rope", "x is " + shape_of(x) + " but batch*time = " + std::to_string(batch * time));
  const std::size_t D = x.cols(), dh = D / heads, half = dh / 2;
  matrix& cs = t.scratch(time, dh);  // [t, i] = cos, [t, half + i] = sin
  for (std::size_t s = 0; s < time; ++s)
    for (std::size_t i = 0; i < half; ++i) {
      const double ang =
          static_cast<double>(offset + s) * std::pow(10000.0, -2.0 * static_cast<double>(i) / static_cast<double>(dh));
      cs(s, i) = static_cast<float>(std::cos(ang));
      cs(s, half + i) = static_cast<float>(std::sin(ang));
    }
  var y = t.make(x.rows(), D, x.needs_grad());
  const float* X = x.value().data();
  float* Y = y.mutable_value().data();
  for (std::size_t r = 0; r < batch * time; ++r) {
    const float* c = cs.data() + (r % time) * dh;
    const float* sn = c + half;
    for (std::size_t h = 0; h < heads; ++h) {
      const float* xr = X + r * D + h * dh;
      float* yr = Y + r * D + h * dh;
      for (std::size_t i = 0; i < half; ++i) {
        const float x0 = xr[2 * i], x1 = xr[2 * i + 1];
        yr[2 * i] = x0 * c[i] - x1 * sn[i];
        yr[2 * i + 1] = x0 * sn[i] + x1 * c[i];
      }
    }
  }
  if (!y.needs_grad()) return y;
  const matrix* csp = &cs;
  // A rotation's Jacobian is the rotation; its transpose rotates back: dx = R(-θ)·dy
  t.on_backward([x, y, csp, batch, time, heads, D, dh, half] {
    const float* dY = y.grad().data();
    float* dX = x.grad().data();
    for (std::size_t r = 0; r < batch * time; ++r) {
      const float* c = csp->data() + (r % time) * dh;
      const float* sn = c + half;
      for (std::size_t h = 0; h < heads; ++h) {
        const float* gr = dY + r * D + h * dh;
        float* xr = dX + r * D + h * dh;
        for (std::size_t i = 0; i < half; ++i) {
          const float g0 = gr[2 * i], g1 = gr[2 * i + 1];
          xr[2 * i] += g0 * c[i] + g1 * sn[i];
          xr[2 * i + 1] += -g0 * sn[i] + g1 * c[i];
        }
      }
    }
  });
  return y;
}

}  // namespace attn
