// LSTM ops: one step (lstm_cell) and a whole packed recurrence (lstm_sequence, ops_lstm.h).
#include <algorithm>
#include <cstring>

#include "core/blas.h"
#include "core/kernels.h"
#include "core/ops.h"
#include "core/ops_lstm.h"
#include "core/ops_util.h"
#include "core/threads.h"

namespace attn {

using detail::shape_of;

namespace {

// Rows of a step's element-wise gate pass per parallel chunk: about 2^14 gate values, so that
// a batch of a few dozen sentences at hidden 512 is split but a tiny one runs on one thread.
std::size_t cell_rows_per_chunk(std::size_t G) {
  return std::max<std::size_t>(1, (std::size_t{1} << 14) / G);
}

// Row r of a gradient sink [*, n] receives src (= on overwrite, += otherwise); nothing without a sink.
void add_row(std::size_t n, const float* src, const detail::grad_sink& sink, std::size_t r) {
  if (!sink.p) return;
  float* dst = sink.p + r * n;
  if (sink.overwrite)
    std::memcpy(dst, src, n * sizeof(float));
  else
    kernels::axpy(n, 1.0f, src, dst);
}

}  // namespace

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
  parallel_for(B, cell_rows_per_chunk(G), [&](std::size_t b0, std::size_t b1) {
    for (std::size_t b = b0; b < b1; ++b) {
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
  });
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
    const detail::grad_sink sx = detail::sink_of(gates_x);  // receives dgates, row by row
    parallel_for(B, cell_rows_per_chunk(G), [&](std::size_t b0, std::size_t b1) {
      for (std::size_t b = b0; b < b1; ++b) {
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
        add_row(G, dg, sx, b);
      }
    });
    if (auto s = detail::sink_of(h_prev); s.p)
      gemm(false, true, B, H, G, 1.0f, dG, G, w_hh.value().data(), G, s.beta, s.p, H);
    if (auto s = detail::sink_of(w_hh); s.p)
      gemm(true, false, H, G, B, 1.0f, h_prev.value().data(), H, dG, G, s.beta, s.p, G);
  });
  return {h, c};
}

namespace {

// Ranks per chunk of the parallel recurrence: below this, one thread runs everything.
constexpr std::size_t lstm_rows_per_thread = 4;
// What a chunk of ranks pays at every step whatever its rows, in rows' worth of work: its
// product with w_hh packs all of w_hh each step (measured with OpenBLAS at h = 512: a step's
// product costs about 12 rows more than its rows alone).
constexpr std::size_t step_overhead_rows = 12;

// The work of ranks [r0, r1) through the recurrence: at each step they run, the overhead and
// their rows running that step.
std::size_t chunk_work(const std::vector<std::size_t>& steps, std::size_t r0, std::size_t r1) {
  std::size_t work = 0;
  for (std::size_t s = 0; s < steps.size() && steps[s] > r0; ++s)
    work += step_overhead_rows + std::min(r1, steps[s]) - r0;
  return work;
}

// The ranks [0, steps[0]) cut into contiguous chunks of about equal work (rank 0 runs longest:
// equal numbers of ranks would leave the first chunk the most work). bounds[c] .. bounds[c+1]
// is chunk c; one chunk when there are too few ranks to share, and inside a parallel_for chunk
// (a decoding worker, decode/translate.h), where a parallel_for runs inline: so that a worker's
// LSTM runs as on one thread.
std::vector<std::size_t> balanced_chunks(const std::vector<std::size_t>& steps) {
  const std::size_t running = steps.empty() ? 0 : steps[0];
  const std::size_t chunks =
      in_parallel_region()
          ? 1
          : std::max<std::size_t>(1, std::min(static_cast<std::size_t>(threads()), running / lstm_rows_per_thread));
  std::vector<std::size_t> bounds{0};
  for (std::size_t c = 0; c + 1 < chunks; ++c) {
    const std::size_t r0 = bounds.back(), left = chunks - c;
    if (running - r0 < left) break;  // fewer ranks than chunks left: the rest is one chunk
    const std::size_t target = chunk_work(steps, r0, running) / left;
    // the first end whose work reaches the target, leaving a rank for each later chunk
    std::size_t lo = r0 + 1, hi = running - (left - 1);
    while (lo < hi) {
      const std::size_t mid = lo + (hi - lo) / 2;
      if (chunk_work(steps, r0, mid) >= target)
        hi = mid;
      else
        lo = mid + 1;
    }
    bounds.push_back(lo);
  }
  bounds.push_back(running);
  return bounds;
}

}  // namespace

// gates_x [N,4h], h0/c0 [B,h], w_hh [h,4h] -> h [N,h], h_last/c_last [B,h]  (see ops_lstm.h)
lstm_sequence_output lstm_sequence(var gates_x, var h0, var c0, var w_hh, const std::vector<std::size_t>& steps) {
  tape& t = detail::tape_of("lstm_sequence", {gates_x, h0, c0, w_hh});
  const std::size_t N = gates_x.rows(), B = h0.rows(), H = h0.cols(), G = 4 * H;
  if (!(c0.rows() == B && c0.cols() == H))
    detail::fail("lstm_sequence", "h0 is " + shape_of(h0) + " but c0 is " + shape_of(c0));
  if (gates_x.cols() != G)
    detail::fail("lstm_sequence", "gates_x is " + shape_of(gates_x) + " but h0 is " + shape_of(h0));
  if (!(w_hh.rows() == H && w_hh.cols() == G))
    detail::fail("lstm_sequence",
                 "w_hh is " + shape_of(w_hh) + ", expected [" + std::to_string(H) + "," + std::to_string(G) + "]");
  std::size_t total = 0;
  for (std::size_t s = 0; s < steps.size(); ++s) {
    if (steps[s] == 0 || steps[s] > (s == 0 ? B : steps[s - 1]))
      detail::fail("lstm_sequence", "step sizes must be positive, non-increasing and at most h0's rows");
    total += steps[s];
  }
  if (total != N)
    detail::fail("lstm_sequence", "step sizes sum to " + std::to_string(total) + " but gates_x is " + shape_of(gates_x));
  std::vector<std::size_t> offset(steps.size());  // first packed row of each step
  for (std::size_t s = 1; s < steps.size(); ++s) offset[s] = offset[s - 1] + steps[s - 1];

  const bool ng = gates_x.needs_grad() || h0.needs_grad() || c0.needs_grad() || w_hh.needs_grad();
  var h = t.make(N, H, ng);
  var h_last = t.make(B, H, ng);
  var c_last = t.make(B, H, ng);
  // Kept for the backward pass: act [N,4h] activated gates, tc [N,h] tanh(c), and the state each
  // row started from, h_prev / c_prev [N,h].
  matrix& act = t.scratch(N, G);
  matrix& tc = t.scratch(N, H);
  matrix& h_prev = t.scratch(N, H);
  matrix& c_prev = t.scratch(N, H);
  // The running state lives in h_last / c_last: rank r's rows are updated while it runs.
  std::memcpy(h_last.mutable_value().data(), h0.value().data(), B * H * sizeof(float));
  std::memcpy(c_last.mutable_value().data(), c0.value().data(), B * H * sizeof(float));
  {
    const float* GX = gates_x.value().data();
    const float* W = w_hh.value().data();
    float *A = act.data(), *TC = tc.data(), *HP = h_prev.data(), *CP = c_prev.data();
    float *Hv = h.mutable_value().data(), *HR = h_last.mutable_value().data(), *CR = c_last.mutable_value().data();
    // each chunk's ranks [r0, r1) through every step, single-threaded BLAS inside
    const std::vector<std::size_t> bounds = balanced_chunks(steps);
    auto run_chunk = [&](std::size_t c) {
      const std::size_t r0 = bounds[c], r1 = bounds[c + 1];
      for (std::size_t s = 0; s < steps.size() && steps[s] > r0; ++s) {
        const std::size_t n = std::min(r1, steps[s]) - r0, row = offset[s] + r0;
        std::memcpy(HP + row * H, HR + r0 * H, n * H * sizeof(float));
        std::memcpy(CP + row * H, CR + r0 * H, n * H * sizeof(float));
        std::memcpy(A + row * G, GX + row * G, n * G * sizeof(float));
        gemm(false, false, n, G, H, 1.0f, HP + row * H, H, W, G, 1.0f, A + row * G, G);  // [n,4h]
        for (std::size_t k = 0; k < n; ++k) {
          const std::size_t p = row + k, r = r0 + k;
          kernels::lstm_forward_row(H, A + p * G, CP + p * H, CR + r * H, TC + p * H, Hv + p * H);
          std::memcpy(HR + r * H, Hv + p * H, H * sizeof(float));
        }
      }
    };
    parallel_for(bounds.size() - 1, 1, [&](std::size_t first, std::size_t past) {
      for (std::size_t c = first; c < past; ++c) run_chunk(c);
    });
  }
  if (!ng || !t.recording()) return {h, h_last, c_last};

  matrix* dgates = &t.scratch(N, G);
  matrix* dh_run = &t.scratch(B, H);  // gradient reaching each rank's running state
  matrix* dc_run = &t.scratch(B, H);
  const matrix *ap = &act, *tcp = &tc, *hpp = &h_prev, *cpp = &c_prev;
  // Backward, steps in reverse: a rank's running gradient starts as that of its last state, and
  // each step adds the gradient of its output h, gives the step's dgates, and replaces the running
  // gradient by that of the previous state (dh_prev = dgates·w_hhᵀ, dc_prev = dct⊙σf).
  // Afterwards: h0/c0 receive the running gradients, gates_x receives dgates, and
  // w_hh receives h_prevᵀ·dgates, one GEMM over all N rows.
  t.on_backward([gates_x, h0, c0, w_hh, h, h_last, c_last, steps, offset, ap, tcp, hpp, cpp, dgates, dh_run, dc_run, N,
                 B, H, G] {
    float *DHR = dh_run->data(), *DCR = dc_run->data(), *DG = dgates->data();
    if (h_last.has_grad())
      std::memcpy(DHR, h_last.grad().data(), B * H * sizeof(float));
    else
      std::fill(DHR, DHR + B * H, 0.0f);
    if (c_last.has_grad())
      std::memcpy(DCR, c_last.grad().data(), B * H * sizeof(float));
    else
      std::fill(DCR, DCR + B * H, 0.0f);
    const float* DH = h.has_grad() ? h.grad().data() : nullptr;
    const float *A = ap->data(), *TC = tcp->data(), *CP = cpp->data(), *W = w_hh.value().data();
    const detail::grad_sink sx = detail::sink_of(gates_x);  // receives dgates, row by row
    const std::vector<std::size_t> bounds = balanced_chunks(steps);
    auto run_chunk = [&](std::size_t c) {
      const std::size_t r0 = bounds[c], r1 = bounds[c + 1];
      std::vector<float> dh(H);
      for (std::size_t s = steps.size(); s-- > 0;) {
        if (steps[s] <= r0) continue;
        const std::size_t n = std::min(r1, steps[s]) - r0, row = offset[s] + r0;
        for (std::size_t k = 0; k < n; ++k) {
          const std::size_t p = row + k, r = r0 + k;
          const float* dhr = DHR + r * H;
          if (DH) {
            kernels::add(H, dhr, DH + p * H, dh.data());
            dhr = dh.data();
          }
          kernels::lstm_backward_row(H, A + p * G, TC + p * H, CP + p * H, dhr, DCR + r * H, DG + p * G, DCR + r * H);
          add_row(G, DG + p * G, sx, p);
        }
        gemm(false, true, n, H, G, 1.0f, DG + row * G, G, W, G, 0.0f, DHR + r0 * H, H);  // dh_prev [n,h]
      }
    };
    parallel_for(bounds.size() - 1, 1, [&](std::size_t first, std::size_t past) {
      for (std::size_t c = first; c < past; ++c) run_chunk(c);
    });
    detail::pour(detail::sink_of(h0), DHR, B * H);
    detail::pour(detail::sink_of(c0), DCR, B * H);
    if (auto s = detail::sink_of(w_hh); s.p) gemm(true, false, H, G, N, 1.0f, hpp->data(), H, DG, G, s.beta, s.p, G);
  });
  return {h, h_last, c_last};
}

}  // namespace attn
