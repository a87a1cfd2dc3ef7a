#include "core/kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
// GCC 12 reports -Wmaybe-uninitialized inside the AVX-512 intrinsics that xsimd's exp/tanh
// inline here (_mm512_undefined_* placeholders): a known false positive, silenced for this file.
#ifndef __clang__  // a g++ warning only
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <xsimd/xsimd.hpp>

#include "core/kernels_inline.h"  // after the pragma: it includes xsimd too

namespace attn::kernels {

namespace {

using batch = xsimd::batch<float>;
constexpr std::size_t W = batch::size;

// Loads x[i, i+m) (m < W) into a full batch padded with `pad`.
inline batch load_tail(const float* x, std::size_t m, float pad) {
  alignas(64) float buf[W];
  for (std::size_t k = 0; k < W; ++k) buf[k] = k < m ? x[k] : pad;
  return batch::load_aligned(buf);
}
inline void store_tail(batch v, float* y, std::size_t m) {
  alignas(64) float buf[W];
  v.store_aligned(buf);
  std::memcpy(y, buf, m * sizeof(float));
}

// y[i] = f(x[i]) batch by batch; the tail goes through a padded batch.
template <class F>
inline void map1(std::size_t n, const float* x, float* y, F f) {
  std::size_t i = 0;
  for (; i + W <= n; i += W) f(batch::load_unaligned(x + i)).store_unaligned(y + i);
  if (i < n) store_tail(f(load_tail(x + i, n - i, 0.0f)), y + i, n - i);
}
// y[i] = f(a[i], b[i]) (y may alias a or b).
template <class F>
inline void map2(std::size_t n, const float* a, const float* b, float* y, F f) {
  std::size_t i = 0;
  for (; i + W <= n; i += W) f(batch::load_unaligned(a + i), batch::load_unaligned(b + i)).store_unaligned(y + i);
  if (i < n) {
    const std::size_t m = n - i;
    store_tail(f(load_tail(a + i, m, 0.0f), load_tail(b + i, m, 0.0f)), y + i, m);
  }
}
// dx[i] += f(a[i], b[i]).
template <class F>
inline void acc2(std::size_t n, const float* a, const float* b, float* dx, F f) {
  std::size_t i = 0;
  for (; i + W <= n; i += W)
    (batch::load_unaligned(dx + i) + f(batch::load_unaligned(a + i), batch::load_unaligned(b + i)))
        .store_unaligned(dx + i);
  if (i < n) {
    std::size_t m = n - i;
    store_tail(load_tail(dx + i, m, 0.0f) + f(load_tail(a + i, m, 0.0f), load_tail(b + i, m, 0.0f)), dx + i, m);
  }
}

inline float hmax(batch v) {
  alignas(64) float buf[W];
  v.store_aligned(buf);
  float m = buf[0];
  for (std::size_t k = 1; k < W; ++k) m = std::max(m, buf[k]);
  return m;
}

constexpr float gelu_c = 0.7978845608028654f;  // sqrt(2/pi)
constexpr float gelu_k = 0.044715f;

}  // namespace

// ---- vector helpers ----------------------------------------------------------------------

void axpy(std::size_t n, float a, const float* x, float* y) {
  for (std::size_t i = 0; i < n; ++i) y[i] += a * x[i];
}
void scale(std::size_t n, float a, float* x) {
  for (std::size_t i = 0; i < n; ++i) x[i] *= a;
}
void add(std::size_t n, const float* a, const float* b, float* y) {
  for (std::size_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}
void mul(std::size_t n, const float* a, const float* b, float* y) {
  for (std::size_t i = 0; i < n; ++i) y[i] = a[i] * b[i];
}
void fill(std::size_t n, float v, float* x) { std::fill(x, x + n, v); }

float dot(std::size_t n, const float* a, const float* b) { return dot_inline(n, a, b); }

double sum_squares(std::size_t n, const float* x) {
  // Float partial sums over blocks of 1024, accumulated in double.
  double total = 0.0;
  for (std::size_t b = 0; b < n; b += 1024) {
    std::size_t m = std::min<std::size_t>(1024, n - b);
    total += static_cast<double>(dot(m, x + b, x + b));
  }
  return total;
}

float max(std::size_t n, const float* x) {
  std::size_t i = 0;
  float m = -std::numeric_limits<float>::infinity();
  if (n >= W) {
    batch acc = batch::load_unaligned(x);
    for (i = W; i + W <= n; i += W) acc = xsimd::max(acc, batch::load_unaligned(x + i));
    m = hmax(acc);
  }
  for (; i < n; ++i) m = std::max(m, x[i]);
  return m;
}

std::size_t argmax(std::size_t n, const float* x) {
  // the largest number, lane by lane (a NaN compares false and is passed over), then the first
  // index holding it
  const float lowest = -std::numeric_limits<float>::infinity();
  batch acc(lowest);
  std::size_t i = 0;
  for (; i + W <= n; i += W) {
    const batch v = batch::load_unaligned(x + i);
    acc = xsimd::select(v > acc, v, acc);
  }
  float m = hmax(acc);
  for (; i < n; ++i)
    if (x[i] > m) m = x[i];
  const batch target(m);
  for (i = 0; i + W <= n; i += W) {
    const auto hit = batch::load_unaligned(x + i) == target;
    if (xsimd::any(hit))
      for (std::size_t k = i;; ++k)
        if (x[k] == m) return k;
  }
  for (; i < n; ++i)
    if (x[i] == m) return i;
  return 0;  // every value NaN
}

// ---- elementwise ---------------------------------------------------------------------------

void exp(std::size_t n, const float* x, float* y) {
  map1(n, x, y, [](batch v) { return xsimd::exp(v); });
}

// ½(1 + tanh(u)) = σ(2u), so gelu(x) = x·σ(2u) with u = c(x + k x³): one exp and one divide
// per element instead of xsimd's tanh (which evaluates two branches and blends them).
inline batch sigmoid2(batch u) { return batch(1.0f) / (batch(1.0f) + xsimd::exp(batch(-2.0f) * u)); }

// s = σ(2u), u = c(x + k x³): the one expression the forward and backward passes share
inline batch gelu_sigmoid(batch v) {
  return sigmoid2(batch(gelu_c) * (v + batch(gelu_k) * v * v * v));
}

// y = ½x(1 + tanh(c(x + k x³))) = x·σ(2u)
void gelu_forward(std::size_t n, const float* x, float* y) {
  map1(n, x, y, [](batch v) { return v * gelu_sigmoid(v); });
}
// gelu'(v) = ½(1 + t) + ½x(1 - t²)·c(1 + 3k x²) = s + 2x·s(1-s)·c(1 + 3k x²), s = σ(2u)
inline batch gelu_slope(batch v, batch s) {
  return s + batch(2.0f * gelu_c) * v * s * (batch(1.0f) - s) * (batch(1.0f) + batch(3.0f * gelu_k) * (v * v));
}
inline batch gelu_grad(batch v, batch g) {
  return g * gelu_slope(v, gelu_sigmoid(v));
}
void gelu_backward(std::size_t n, const float* x, const float* dy, float* dx) {
  acc2(n, x, dy, dx, gelu_grad);
}
void gelu_backward_in_place(std::size_t n, const float* x, float* g) {
  map2(n, x, g, g, gelu_grad);
}
void gelu_value_and_slope(std::size_t n, const float* x, float* y, float* d) {
  auto both = [](batch v, float* yo, float* dout, std::size_t m) {
    const batch s = gelu_sigmoid(v);
    const batch a = v * s, slope = gelu_slope(v, s);
    if (m == W) {
      a.store_unaligned(yo);
      slope.store_unaligned(dout);
    } else {
      store_tail(a, yo, m);
      store_tail(slope, dout, m);
    }
  };
  std::size_t i = 0;
  for (; i + W <= n; i += W) both(batch::load_unaligned(x + i), y + i, d + i, W);
  if (i < n) both(load_tail(x + i, n - i, 0.0f), y + i, d + i, n - i);
}

// tanh(x) = 2σ(2x) - 1: absolute error ~1e-7 near 0 (relative accuracy is lost there, which
// no caller needs), exact saturation to ±1.
void tanh_forward(std::size_t n, const float* x, float* y) {
  map1(n, x, y, [](batch v) { return batch(2.0f) * sigmoid2(v) - batch(1.0f); });
}
void tanh_backward(std::size_t n, const float* y, const float* dy, float* dx) {
  acc2(n, y, dy, dx, [](batch v, batch g) { return g * (batch(1.0f) - v * v); });
}
void sigmoid_forward(std::size_t n, const float* x, float* y) {
  map1(n, x, y, [](batch v) { return batch(1.0f) / (batch(1.0f) + xsimd::exp(-v)); });
}
void sigmoid_backward(std::size_t n, const float* y, const float* dy, float* dx) {
  acc2(n, y, dy, dx, [](batch v, batch g) { return g * v * (batch(1.0f) - v); });
}
void relu_forward(std::size_t n, const float* x, float* y) {
  for (std::size_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}
void relu_backward(std::size_t n, const float* y, const float* dy, float* dx) {
  for (std::size_t i = 0; i < n; ++i) dx[i] += y[i] > 0.0f ? dy[i] : 0.0f;
}
void relu_backward_in_place(std::size_t n, const float* y, float* g) {
  for (std::size_t i = 0; i < n; ++i) g[i] = y[i] > 0.0f ? g[i] : 0.0f;
}
void relu_dropout_backward(std::size_t n, const float* y, const float* g, float keep, float* dx, bool accumulate) {
  const batch k(keep), zero(0.0f);
  auto grad = [&](batch v, batch d) { return xsimd::select(v > zero, d * k, zero); };
  if (accumulate)
    acc2(n, y, g, dx, grad);
  else
    map2(n, y, g, dx, grad);
}

// ---- rows -------------------------------------------------------------------------------------

void softmax_row(std::size_t n, std::size_t valid, const float* x, float* y) {
  if (valid == 0) {
    std::fill(y, y + n, 0.0f);
    return;
  }
  const batch m(max(valid, x));
  batch acc(0.0f);
  std::size_t i = 0;
  for (; i + W <= valid; i += W) {
    batch e = xsimd::exp(batch::load_unaligned(x + i) - m);
    e.store_unaligned(y + i);
    acc += e;
  }
  if (i < valid) {
    batch e = xsimd::exp(load_tail(x + i, valid - i, -std::numeric_limits<float>::infinity()) - m);
    store_tail(e, y + i, valid - i);
    acc += e;
  }
  const float inv = 1.0f / xsimd::hadd(acc);
  for (std::size_t j = 0; j < valid; ++j) y[j] *= inv;
  std::fill(y + valid, y + n, 0.0f);
}

void softmax_backward_row(std::size_t n, const float* y, const float* dy, float s, float* dx, bool accumulate) {
  const float d = dot(n, y, dy);
  if (accumulate)
    for (std::size_t j = 0; j < n; ++j) dx[j] += s * y[j] * (dy[j] - d);
  else
    for (std::size_t j = 0; j < n; ++j) dx[j] = s * y[j] * (dy[j] - d);
}

float logsumexp_row(std::size_t n, const float* x) {
  const float mx = max(n, x);
  if (!std::isfinite(mx)) return mx;
  const batch m(mx);
  batch acc(0.0f);
  std::size_t i = 0;
  for (; i + W <= n; i += W) acc += xsimd::exp(batch::load_unaligned(x + i) - m);
  if (i < n) acc += xsimd::exp(load_tail(x + i, n - i, -std::numeric_limits<float>::infinity()) - m);
  return mx + std::log(xsimd::hadd(acc));
}

void log_softmax_row(std::size_t n, const float* x, float* y) {
  const float lse = logsumexp_row(n, x);
  for (std::size_t j = 0; j < n; ++j) y[j] = x[j] - lse;
}

void layer_norm_forward(std::size_t N, std::size_t d, const float* x, const float* gain, const float* bias, float eps,
                        float* y, float* mean, float* rstd) {
  const float inv_d = 1.0f / static_cast<float>(d);
  for (std::size_t r = 0; r < N; ++r) {
    const float* xr = x + r * d;
    float* yr = y + r * d;
    // Two passes (mean, then centred second moment): no cancellation for large means.
    batch acc(0.0f);
    std::size_t i = 0;
    for (; i + W <= d; i += W) acc += batch::load_unaligned(xr + i);
    float s = xsimd::hadd(acc);
    for (; i < d; ++i) s += xr[i];
    const float mu = s * inv_d;
    batch accv(0.0f);
    const batch bmu(mu);
    for (i = 0; i + W <= d; i += W) {
      batch c = batch::load_unaligned(xr + i) - bmu;
      accv = xsimd::fma(c, c, accv);
    }
    float v = xsimd::hadd(accv);
    for (; i < d; ++i) v += (xr[i] - mu) * (xr[i] - mu);
    const float rs = 1.0f / std::sqrt(v * inv_d + eps);
    mean[r] = mu;
    rstd[r] = rs;
    if (gain && bias)
      for (std::size_t j = 0; j < d; ++j) yr[j] = (xr[j] - mu) * rs * gain[j] + bias[j];
    else if (gain)
      for (std::size_t j = 0; j < d; ++j) yr[j] = (xr[j] - mu) * rs * gain[j];
    else if (bias)
      for (std::size_t j = 0; j < d; ++j) yr[j] = (xr[j] - mu) * rs + bias[j];
    else
      for (std::size_t j = 0; j < d; ++j) yr[j] = (xr[j] - mu) * rs;
  }
}

// With x̂ = (x-μ)·r and ĝ = dy⊙gain: dx = r·(ĝ - mean(ĝ) - x̂·mean(ĝ⊙x̂)).
void layer_norm_backward(std::size_t N, std::size_t d, const float* x, const float* gain, const float* mean,
                         const float* rstd, const float* dy, float* dx, float* dgain, float* dbias) {
  const float inv_d = 1.0f / static_cast<float>(d);
  for (std::size_t r = 0; r < N; ++r) {
    const float* xr = x + r * d;
    const float* gr = dy + r * d;
    const float mu = mean[r], rs = rstd[r];
    if (dgain)
      for (std::size_t j = 0; j < d; ++j) dgain[j] += gr[j] * (xr[j] - mu) * rs;
    if (dbias)
      for (std::size_t j = 0; j < d; ++j) dbias[j] += gr[j];
    if (!dx) continue;
    batch sa(0.0f), sb(0.0f);
    const batch bmu(mu), brs(rs);
    std::size_t i = 0;
    for (; i + W <= d; i += W) {
      batch g = batch::load_unaligned(gr + i);
      if (gain) g *= batch::load_unaligned(gain + i);
      batch xh = (batch::load_unaligned(xr + i) - bmu) * brs;
      sa += g;
      sb = xsimd::fma(g, xh, sb);
    }
    float a = xsimd::hadd(sa), b = xsimd::hadd(sb);
    for (; i < d; ++i) {
      float g = gr[i] * (gain ? gain[i] : 1.0f);
      a += g;
      b += g * (xr[i] - mu) * rs;
    }
    a *= inv_d;
    b *= inv_d;
    float* dr = dx + r * d;
    if (gain)
      for (std::size_t j = 0; j < d; ++j) dr[j] += rs * (gr[j] * gain[j] - a - (xr[j] - mu) * rs * b);
    else
      for (std::size_t j = 0; j < d; ++j) dr[j] += rs * (gr[j] - a - (xr[j] - mu) * rs * b);
  }
}

void add_col_sums(std::size_t N, std::size_t d, const float* x, std::size_t ld, float* out) {
  for (std::size_t i = 0; i < N; ++i) {
    const float* xr = x + i * ld;
    for (std::size_t j = 0; j < d; ++j) out[j] += xr[j];
  }
}

// loss = lse - (1-ε)·x_t - (ε/V)·Σ_j x_j   (= -Σ_j q_j log p_j with q = (1-ε)onehot + ε/V)
float cross_entropy_row(std::size_t V, const float* logits, std::size_t target, float smoothing, float* lse) {
  const float l = logsumexp_row(V, logits);
  *lse = l;
  float loss = l - (1.0f - smoothing) * logits[target];
  if (smoothing != 0.0f) {
    batch acc(0.0f);
    std::size_t i = 0;
    for (; i + W <= V; i += W) acc += batch::load_unaligned(logits + i);
    float s = xsimd::hadd(acc);
    for (; i < V; ++i) s += logits[i];
    loss -= smoothing / static_cast<float>(V) * s;
  }
  return loss;
}

// dloss/dx_j = p_j - q_j
void cross_entropy_gradient_in_place(std::size_t V, float* x, std::size_t target, float smoothing, float lse, float g) {
  const batch bl(lse), bg(g), bq(g * smoothing / static_cast<float>(V));
  std::size_t i = 0;
  for (; i + W <= V; i += W) (bg * xsimd::exp(batch::load_unaligned(x + i) - bl) - bq).store_unaligned(x + i);
  for (; i < V; ++i) x[i] = g * std::exp(x[i] - lse) - g * smoothing / static_cast<float>(V);
  x[target] -= g * (1.0f - smoothing);
}

void cross_entropy_backward_row(std::size_t V, const float* logits, std::size_t target, float smoothing, float lse,
                                float g, float* dlogits) {
  const batch bl(lse), bg(g), bq(g * smoothing / static_cast<float>(V));
  std::size_t i = 0;
  for (; i + W <= V; i += W) {
    batch p = xsimd::exp(batch::load_unaligned(logits + i) - bl);
    (batch::load_unaligned(dlogits + i) + bg * p - bq).store_unaligned(dlogits + i);
  }
  for (; i < V; ++i) dlogits[i] += g * std::exp(logits[i] - lse) - g * smoothing / static_cast<float>(V);
  dlogits[target] -= g * (1.0f - smoothing);
}

void lstm_forward_row(std::size_t H, float* a, const float* c_prev, float* c, float* tc, float* h) {
  sigmoid_forward(2 * H, a, a);              // i, f
  tanh_forward(H, a + 2 * H, a + 2 * H);     // g
  sigmoid_forward(H, a + 3 * H, a + 3 * H);  // o
  const float *gi = a, *gf = a + H, *gg = a + 2 * H;
  for (std::size_t j = 0; j < H; ++j) c[j] = gf[j] * c_prev[j] + gi[j] * gg[j];
  tanh_forward(H, c, tc);
  mul(H, a + 3 * H, tc, h);
}

// σ' = s(1-s), tanh' = 1-t²: di = dct·g·σi', df = dct·c_prev·σf', dg = dct·σi·tanh'g, do = dh·tc·σo'
void lstm_backward_row(std::size_t H, const float* a, const float* tc, const float* c_prev, const float* dh,
                       const float* dc, float* dgates, float* dc_prev) {
  const float *gi = a, *gf = a + H, *gg = a + 2 * H, *go = a + 3 * H;
  float *di = dgates, *df = dgates + H, *dg = dgates + 2 * H, *dout = dgates + 3 * H;
  for (std::size_t j = 0; j < H; ++j) {
    const float dhj = dh ? dh[j] : 0.0f;
    const float dct = (dc ? dc[j] : 0.0f) + dhj * go[j] * (1.0f - tc[j] * tc[j]);
    di[j] = dct * gg[j] * gi[j] * (1.0f - gi[j]);
    df[j] = dct * c_prev[j] * gf[j] * (1.0f - gf[j]);
    dg[j] = dct * gi[j] * (1.0f - gg[j] * gg[j]);
    dout[j] = dhj * tc[j] * go[j] * (1.0f - go[j]);
    if (dc_prev) dc_prev[j] = dct * gf[j];
  }
}

}  // namespace attn::kernels
