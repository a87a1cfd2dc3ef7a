#include "nn/lstm.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "core/init.h"
#include "core/ops_lstm.h"
#include "nn/linear.h"

namespace attn::nn {

lstm::lstm(parameter_store& store, const std::string& prefix, std::size_t in, std::size_t hidden,
           bool bidirectional, rng& gen)
    : in_(in), hidden_(hidden) {
  const float a = 1.0f / std::sqrt(static_cast<float>(hidden));
  for (const char* name : {"fwd", "bwd"}) {
    if (!bidirectional && std::string(name) == "bwd") break;
    const std::string p = prefix + "." + name;
    direction dir;
    dir.w_ih = &store.add(p + ".w_ih", in, 4 * hidden);
    init_uniform(dir.w_ih->value, gen, -a, a);
    dir.w_hh = &store.add(p + ".w_hh", hidden, 4 * hidden);
    init_uniform(dir.w_hh->value, gen, -a, a);
    dir.bias = &store.add(p + ".bias", 1, 4 * hidden, /*decay=*/false);
    for (parameter* w : {dir.w_ih, dir.w_hh}) w->adaptable = w->lora_folded = true;
    for (std::size_t j = hidden; j < 2 * hidden; ++j) dir.bias->value(0, j) = 1.0f;  // forget gate
    dirs_.push_back(dir);
  }
}

namespace {

var zeros(tape& t, std::size_t rows, std::size_t cols) {
  var z = t.make(rows, cols, /*needs_grad=*/false);
  z.mutable_value().fill(0.0f);
  return z;
}

}  // namespace

lstm_state lstm::zero_state(tape& t, std::size_t batch) const {
  return {zeros(t, batch, hidden_), zeros(t, batch, hidden_)};
}

lstm::step_weights lstm::weights(tape& t) const {
  const direction& dir = dirs_[0];
  return {adapted_weight(t, *dir.w_ih), adapted_weight(t, *dir.w_hh), t.param(*dir.bias)};
}

// x_t [B, in], s [B, h] -> [B, h]
lstm_state lstm::step(var x_t, const lstm_state& s) const {
  return step(x_t, s, weights(*x_t.t));
}

lstm_state lstm::step(var x_t, const lstm_state& s, const step_weights& w) const {
  var gates_x = attn::linear(x_t, w.w_ih, w.bias);  // [B, 4h]
  auto hc = lstm_cell(gates_x, s.h, s.c, w.w_hh);
  return {hc.first, hc.second};
}

// x [B*T, in] -> y [B*T, h]; final receives the state after each item's last valid token.
var lstm::run(const direction& dir, var x, std::size_t batch, std::size_t time,
              const std::vector<std::int32_t>& lengths, bool reverse, const lstm_state* init,
              lstm_state& final) const {
  tape& t = *x.t;
  // order[r] = batch item of rank r, longest first (stable, so equal lengths keep batch order).
  std::vector<std::int32_t> order(batch);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int32_t a, std::int32_t b) { return lengths[a] > lengths[b]; });
  const bool permuted = !std::is_sorted(order.begin(), order.end());

  // Packed rows, step-major: step s holds ranks [0, n_s); packed row p reads x row rows[p].
  std::vector<std::size_t> steps;
  std::vector<std::int32_t> rows;
  std::vector<std::int32_t> out_row(batch * time, -1);  // packed row of (b, t), -1 = padding
  for (std::size_t step = 0; step < time; ++step) {
    std::size_t n = 0;
    while (n < batch && static_cast<std::size_t>(lengths[order[n]]) > step) ++n;
    if (n == 0) break;
    steps.push_back(n);
    for (std::size_t r = 0; r < n; ++r) {
      const std::size_t b = static_cast<std::size_t>(order[r]);
      const std::size_t pos = reverse ? static_cast<std::size_t>(lengths[b]) - 1 - step : step;
      out_row[b * time + pos] = static_cast<std::int32_t>(rows.size());
      rows.push_back(static_cast<std::int32_t>(b * time + pos));
    }
  }
  const std::int32_t packed = static_cast<std::int32_t>(rows.size());

  lstm_state s0;  // rank order
  if (init) {
    s0.h = permuted ? gather_rows(init->h, order) : init->h;
    s0.c = permuted ? gather_rows(init->c, order) : init->c;
  } else {
    s0 = zero_state(t, batch);
  }
  var h_all;  // [packed, h]
  lstm_state last;
  if (packed > 0) {
    var gates_x = attn::linear(gather_rows(x, rows), adapted_weight(t, *dir.w_ih), t.param(*dir.bias));  // [packed, 4h]
    lstm_sequence_output o = lstm_sequence(gates_x, s0.h, s0.c, adapted_weight(t, *dir.w_hh), steps);
    h_all = o.h;
    last = {o.h_last, o.c_last};
  } else {
    last = s0;
  }

  // Final states back to batch order: item b is rank where[b].
  if (permuted) {
    std::vector<std::int32_t> where(batch);
    for (std::size_t r = 0; r < batch; ++r) where[order[r]] = static_cast<std::int32_t>(r);
    final = {gather_rows(last.h, where), gather_rows(last.c, where)};
  } else {
    final = last;
  }

  // Outputs back to batch-major rows, padding rows from one extra zero row.
  const bool full = packed == static_cast<std::int32_t>(batch * time);
  for (auto& r : out_row)
    if (r < 0) r = packed;
  var all = full ? h_all : packed == 0 ? zeros(t, 1, hidden_) : concat_rows({h_all, zeros(t, 1, hidden_)});
  return gather_rows(all, out_row);
}

// x [B*T, in] -> y [B*T, h·dirs]
lstm_output lstm::forward(var x, std::size_t batch, std::size_t time, const std::vector<std::int32_t>& lengths,
                          const std::vector<lstm_state>& init) const {
  if (x.rows() != batch * time || x.cols() != in_)
    throw error("lstm: input is [" + std::to_string(x.rows()) + "," + std::to_string(x.cols()) + "], expected [" +
                std::to_string(batch * time) + "," + std::to_string(in_) + "]");
  if (batch * time == 0) throw error("lstm: empty input");
  if (!init.empty() && init.size() != dirs_.size()) throw error("lstm: one initial state per direction expected");
  std::vector<std::int32_t> lens = lengths;
  if (lens.empty()) lens.assign(batch, static_cast<std::int32_t>(time));
  if (lens.size() != batch) throw error("lstm: lengths has " + std::to_string(lens.size()) + " entries, batch is " +
                                        std::to_string(batch));
  for (std::int32_t l : lens)
    if (l < 0 || static_cast<std::size_t>(l) > time) throw error("lstm: sequence length out of range");
  lstm_output out;
  std::vector<var> ys;
  for (std::size_t d = 0; d < dirs_.size(); ++d) {
    const direction& dir = dirs_[d];
    lstm_state final;
    ys.push_back(run(dir, x, batch, time, lens, /*reverse=*/d == 1, init.empty() ? nullptr : &init[d], final));
    out.final.push_back(final);
  }
  out.y = ys.size() == 1 ? ys[0] : concat_cols(ys);
  return out;
}

}  // namespace attn::nn
