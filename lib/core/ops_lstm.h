#pragma once
// A whole LSTM recurrence as one tape op (the per-step op is ops.h's lstm_cell).
//
// Packed layout (PyTorch's PackedSequence): items are ranked by length, longest first, and step s
// runs the first n_s ranks (n_0 >= n_1 >= ... > 0). Row r of step s is packed row offset_s + r,
// offset_s = n_0 + ... + n_{s-1}; N = Σ n_s packed rows in all.
//
// Per step, for the running ranks r < n_s (gate order i, f, g, o as lstm_cell):
//   gates = gates_x[offset_s + r] + h_{s-1}[r]·w_hh
//   c_s[r] = σ(f)⊙c_{s-1}[r] + σ(i)⊙tanh(g),  h_s[r] = σ(o)⊙tanh(c_s[r])
// with h_{-1} = h0, c_{-1} = c0. A rank that has finished keeps its state.
//
// Speed: the ranks are independent of each other, so the whole recurrence (forward and backward)
// runs in one parallel region, each thread owning a block of ranks with single-threaded GEMMs
// (no BLAS threading per step); the backward pass's w_hh gradient is one GEMM over all N rows,
// and gates_x's gradient is written once for all rows.
#include <cstddef>
#include <vector>

#include "core/ops.h"

namespace attn {

struct lstm_sequence_output {
  var h;       // [N, h]: h_s of every packed row
  var h_last;  // [B, h]: each rank's h after its last step (h0's row for a rank with no steps)
  var c_last;  // [B, h]: likewise for c
};

// gates_x [N,4h] packed as above, h0 [B,h], c0 [B,h] (rank order, B >= n_0), w_hh [h,4h],
// steps = {n_0, n_1, ...} (non-increasing, positive, summing to N) -> lstm_sequence_output.
lstm_sequence_output lstm_sequence(var gates_x, var h0, var c0, var w_hh, const std::vector<std::size_t>& steps);

}  // namespace attn
