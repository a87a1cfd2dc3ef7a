// One LSTM step with the four gates from one GEMM.
#include <algorithm>
#include <cstring>

#include "core/blas.h"
#include "core/kernels.h"
#include "core/ops.h"
#include "core/ops_util.h"

namespace attn {

using detail::shape_of;

// gates_x [B,4h], h_prev [B,h], c_prev [B,h], w_hh [h,4h] -> {h [B,h], c [B,h]}
// gates = gates_x + h_prev·w_hh, order i, f, g, o; c = σ(f)⊙c_prev + σ(i)⊙tanh(g); h = σ(o)⊙tanh(c)
std::pair<var, var> lstm_cell(var gates_x, var h_prev, var c_prev, var w_hh) {
  tape& t = detail::tape_of("lstm_cell", {gates_x, h_prev, c_prev, w_hh});
  const std::size_t B = gates_x.rows(), H = h_prev.cols(), G = 4 * H;
  if (gates_x.cols() != G)
    detail::fail("lstm_cell", "gates_x is " + shape_of(gates_x) + " but h_prev is " + shape_of(h_prev));
  if (!(h_prev.rows() == B && c_prev.rows() == B && c_prev.cols() == H))
    detail::fail("lstm_cell", "gates_x " + shape_of(gates_x) + ", h_prev " + shape_of(h_prev) + ", c_prev " +
                                  shape_of(c_prev) + " disagree");
  if (!(w_hh.rows() == H && w_hh.cols() == G))
    detail::fail("lstm_cell",
                 "w_hh is " + shape_of(w_hh) + ", expected [" + std::to_string(H) + "," + std::to_string(G) + "]");
  const bool ng = gates_x.needs_grad() || h_prev.needs_grad() || c_prev.needs_grad() || w_hh.needs_grad();
  var h = t.make(B, H, ng);
  var c = t.make(B, H, ng);
  // act: [B,4h] activated gates (σi, σf, tanh g, σo); tc: [B,h] tanh(c)
  matrix& act = t.scratch(B, G);
  matrix& tc = t.scratch(B, H);
  float* A = act.data();
  std::memcpy(A, gates_x.value().data(), B * G * sizeof(float));
  gemm(false, false, B, G, H, 1.0f, h_prev.value().data(), H, w_hh.value().data(), G, 1.0f, A, G);
  const float* Cp = c_prev.value().data();
  float* Hv = h.mutable_value().data();
  float* Cv = c.mutable_value().data();
  float* TC = tc.data();
  for (std::size_t b = 0; b < B; ++b) {
    float* ar = A + b * G;
    kernels::sigmoid_forward(2 * H, ar, ar);              // i, f
    kernels::tanh_forward(H, ar + 2 * H, ar + 2 * H);     // g
    kernels::sigmoid_forward(H, ar + 3 * H, ar + 3 * H);  // o
    const float *gi = ar, *gf = ar + H, *gg = ar + 2 * H;
    const float* cp = Cp + b * H;
    float* cr = Cv + b * H;
    for (std::size_t j = 0; j < H; ++j) cr[j] = gf[j] * cp[j] + gi[j] * gg[j];
    kernels::tanh_forward(H, cr, TC + b * H);
    kernels::mul(H, ar + 3 * H, TC + b * H, Hv + b * H);
  }
  if (!ng || !t.recording()) return {h, c};
  matrix* dgates = &t.scratch(B, G);
  const matrix* ap = &act;
  const matrix* tcp = &tc;
  // dc_tot = dc + dh⊙o⊙(1-tanh²c); do = dh⊙tanh c; di = dc_tot⊙g; dg = dc_tot⊙i; df = dc_tot⊙c_prev;
  // dc_prev = dc_tot⊙f; pre-activation: σ' = s(1-s), tanh' = 1-t²;
  // dgates_x = dgates, dh_prev = dgates·w_hhᵀ, dw_hh = h_prevᵀ·dgates
  t.on_backward([gates_x, h_prev, c_prev, w_hh, h, c, ap, tcp, dgates, B, H, G] {
    const bool has_dh = h.has_grad(), has_dc = c.has_grad();
    const float* dH = has_dh ? h.grad().data() : nullptr;
    const float* dC = has_dc ? c.grad().data() : nullptr;
    const float* A = ap->data();
    const float* TC = tcp->data();
    const float* Cp = c_prev.value().data();
    float* dG = dgates->data();
    float* dCp = c_prev.needs_grad() ? c_prev.grad().data() : nullptr;
    for (std::size_t b = 0; b < B; ++b) {
      const float* ar = A + b * G;
      const float *gi = ar, *gf = ar + H, *gg = ar + 2 * H, *go = ar + 3 * H;
      const float* tcr = TC + b * H;
      const float* cp = Cp + b * H;
      float* dg = dG + b * G;
      for (std::size_t j = 0; j < H; ++j) {
        const float dh = dH ? dH[b * H + j] : 0.0f;
        const float dct = (dC ? dC[b * H + j] : 0.0f) + dh * go[j] * (1.0f - tcr[j] * tcr[j]);
        dg[j] = dct * gg[j] * gi[j] * (1.0f - gi[j]);
        dg[H + j] = dct * cp[j] * gf[j] * (1.0f - gf[j]);
        dg[2 * H + j] = dct * gi[j] * (1.0f - gg[j] * gg[j]);
        dg[3 * H + j] = dh * tcr[j] * go[j] * (1.0f - go[j]);
        if (dCp) dCp[b * H + j] += dct * gf[j];
      }
    }
    if (auto s = detail::sink_of(gates_x); s.p) {
      if (s.overwrite)
        std::memcpy(s.p, dG, B * G * sizeof(float));
      else
        kernels::axpy(B * G, 1.0f, dG, s.p);
    }
    if (auto s = detail::sink_of(h_prev); s.p)
      gemm(false, true, B, H, G, 1.0f, dG, G, w_hh.value().data(), G, s.beta, s.p, H);
    if (auto s = detail::sink_of(w_hh); s.p)
      gemm(true, false, H, G, B, 1.0f, h_prev.value().data(), H, dG, G, s.beta, s.p, G);
  });
  return {h, c};
}

}  // namespace attn
