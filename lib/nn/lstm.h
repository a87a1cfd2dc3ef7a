#pragma once
// LSTM layer, unidirectional or bidirectional, over batch-major sequences x [B*T, in].
//
// Gates (order i, f, g, o as ops::lstm_cell):  [i f g o] = x_t·W_ih + b + h_{t-1}·W_hh
//   i, f, o = sigmoid(.), g = tanh(.),  c_t = f⊙c_{t-1} + i⊙g,  h_t = o⊙tanh(c_t)
//
// Speed: x is gathered once into the packed step-major order below ([N, in], N = Σ lengths), the
// input projections of ALL time steps are one GEMM ([N, in] -> [N, 4h]), and the recurrence is one
// ops::lstm_sequence (core/ops_lstm.h): per step only h·W_hh and the fused gate kernel, each thread
// running its own block of batch items through all steps; backward does W_hh's gradient as one
// GEMM over all steps. lstm_cell (one step) is left to step(), for decoders.
//
// Padding (lengths): sequences are packed like PyTorch's pack_padded_sequence. Batch items are
// ordered by length (longest first) internally, so at step s only the n_s items still running are
// computed; a finished item drops out with its state frozen. Hence:
//   - outputs past a sequence's length are exactly zero,
//   - the final (h, c) of item b is its state after its last valid token (after token 0 for the
//     backward direction),
//   - the backward direction reads each sequence from its own last valid token down to 0.
//
// Parameters per direction dir ∈ {fwd, bwd}: <prefix>.<dir>.w_ih [in, 4h], <prefix>.<dir>.w_hh [h, 4h]
// (both U(-1/sqrt(h), 1/sqrt(h)) as PyTorch), <prefix>.<dir>.bias [1, 4h] (zeros, forget gate 1; no decay).
//
// LoRA (models/lora.h): w_ih and w_hh are adaptable. The recurrence takes its weights whole
// (one fused op), so an adapter is folded in: W + scale·A·B is formed once per forward pass
// (nn::adapted_weight, one small GEMM), and its gradient gives A's and B's.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/ops.h"
#include "core/parameter.h"
#include "core/rng.h"

namespace attn::nn {

struct lstm_state {
  var h, c;  // [B, h] each
};

struct lstm_output {
  var y;                           // [B*T, h] or [B*T, 2h] (forward ; backward), zero past lengths
  std::vector<lstm_state> final;   // one per direction (forward, then backward), batch order
};

class lstm {
 public:
  lstm() = default;
  lstm(parameter_store& store, const std::string& prefix, std::size_t in, std::size_t hidden, bool bidirectional,
       rng& gen);

  // x [B*T, in] -> y [B*T, h·dirs] and final states. lengths: valid steps per item (empty = all T).
  // init: initial state per direction ([B, h] each; empty = zeros).
  lstm_output forward(var x, std::size_t batch, std::size_t time, const std::vector<std::int32_t>& lengths = {},
                      const std::vector<lstm_state>& init = {}) const;

  // The forward direction's weights on tape t, LoRA adapters folded in: form them once for a
  // loop of step() calls over a sequence (the decoder of an rnn with additive attention).
  struct step_weights {
    var w_ih, w_hh, bias;  // [in, 4h], [h, 4h], [1, 4h]
  };
  step_weights weights(tape& t) const;

  // One step of the forward direction, for decoders: x_t [B, in], s.h/s.c [B, h] -> new state [B, h].
  lstm_state step(var x_t, const lstm_state& s) const;
  lstm_state step(var x_t, const lstm_state& s, const step_weights& w) const;
  // Zero state [B, h] on tape t.
  lstm_state zero_state(tape& t, std::size_t batch) const;

  std::size_t hidden() const { return hidden_; }
  std::size_t directions() const { return dirs_.size(); }
  std::size_t output_width() const { return hidden_ * dirs_.size(); }

 private:
  struct direction {
    parameter* w_ih = nullptr;  // [in, 4h]
    parameter* w_hh = nullptr;  // [h, 4h]
    parameter* bias = nullptr;  // [1, 4h]
  };
  // One direction over the sequence; see the class comment. x [B*T, in] -> y [B*T, h]
  var run(const direction& dir, var x, std::size_t batch, std::size_t time,
          const std::vector<std::int32_t>& lengths, bool reverse, const lstm_state* init, lstm_state& final) const;

  std::vector<direction> dirs_;
  std::size_t in_ = 0, hidden_ = 0;
};

}  // namespace attn::nn
