#include "nn/lstm.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "core/init.h"

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

// x_t [B, in], s [B, h] -> [B, h]
lstm_state lstm::step(var x_t, const lstm_state& s) const {
  tape& t = *x_t.t;
  const direction& dir = dirs_[0];
  var gates_x = attn::linear(x_t, t.param(*dir.w_ih), t.param(*dir.bias));  // [B, 4h]
  auto hc = lstm_cell(gates_x, s.h, s.c, t.param(*dir.w_hh));
  return {hc.first, hc.second};
}

// gates_x [B*T, 4h] -> y [B*T, h]; final receives the state after each item's last valid token.
var lstm::run(const direction& dir, var gates_x, std::size_t batch, std::size_t time,
              const std::vector<std::int32_t>& lengths, bool reverse, const lstm_state* init,
              lstm_state& final) const {
  tape& t = *gates_x.t;
  var w_hh = t.param(*dir.w_hh);
  // order[r] = batch item of rank r, longest first (stable, so equal lengths keep batch order).
  std::vector<std::int32_t> order(batch);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int32_t a, std::int32_t b) { return lengths[a] > lengths[b]; });
  const bool permuted = !std::is_sorted(order.begin(), order.end());

  lstm_state s;
  if (init) {
    s.h = permuted ? gather_rows(init->h, order) : init->h;
    s.c = permuted ? gather_rows(init->c, order) : init->c;
  } else {
    s = zero_state(t, batch);
  }
  std::size_t running = batch;
  std::vector<var> outputs, final_h, final_c;  // outputs: one [n_s, h] per step, rank order
  std::vector<std::int32_t> final_rank;        // rank of each row of concat(final pieces)
  std::vector<std::int32_t> out_row(batch * time, -1);  // packed row of (b, t), -1 = padding
  std::int32_t packed = 0;
  std::vector<std::int32_t> rows;
  const auto drop_to = [&](std::size_t n) {  // items of rank >= n have finished: keep their state
    if (n == running) return;
    final_h.push_back(slice_rows(s.h, n, running - n));
    final_c.push_back(slice_rows(s.c, n, running - n));
    for (std::size_t r = n; r < running; ++r) final_rank.push_back(static_cast<std::int32_t>(r));
    if (n > 0) {
      s.h = slice_rows(s.h, 0, n);
      s.c = slice_rows(s.c, 0, n);
    }
    running = n;
  };
  for (std::size_t step = 0; step < time; ++step) {
    std::size_t n = running;
    while (n > 0 && static_cast<std::size_t>(lengths[order[n - 1]]) <= step) --n;
    drop_to(n);
    if (n == 0) break;
    rows.resize(n);
    for (std::size_t r = 0; r < n; ++r) {
      const std::size_t b = static_cast<std::size_t>(order[r]);
      const std::size_t pos = reverse ? static_cast<std::size_t>(lengths[b]) - 1 - step : step;
      rows[r] = static_cast<std::int32_t>(b * time + pos);
      out_row[b * time + pos] = packed + static_cast<std::int32_t>(r);
    }
    packed += static_cast<std::int32_t>(n);
    auto hc = lstm_cell(gather_rows(gates_x, rows), s.h, s.c, w_hh);  // [n, 4h] -> [n, h] x 2
    s = {hc.first, hc.second};
    outputs.push_back(s.h);
  }
  drop_to(0);

  // Final states back to batch order: row b = the piece row holding rank[b].
  std::vector<std::int32_t> where(batch);
  for (std::size_t i = 0; i < final_rank.size(); ++i) where[order[final_rank[i]]] = static_cast<std::int32_t>(i);
  var fh = final_h.size() == 1 ? final_h[0] : concat_rows(final_h);
  var fc = final_c.size() == 1 ? final_c[0] : concat_rows(final_c);
  const bool identity = std::is_sorted(where.begin(), where.end());
  final.h = identity ? fh : gather_rows(fh, where);
  final.c = identity ? fc : gather_rows(fc, where);

  // Outputs back to batch-major rows, padding rows from one extra zero row.
  const bool full = packed == static_cast<std::int32_t>(batch * time);
  if (!full) outputs.push_back(zeros(t, 1, hidden_));
  for (auto& r : out_row)
    if (r < 0) r = packed;
  var all = outputs.size() == 1 ? outputs[0] : concat_rows(outputs);  // [packed (+1), h], step-major
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
  tape& t = *x.t;
  lstm_output out;
  std::vector<var> ys;
  for (std::size_t d = 0; d < dirs_.size(); ++d) {
    const direction& dir = dirs_[d];
    var gates_x = attn::linear(x, t.param(*dir.w_ih), t.param(*dir.bias));  // [B*T, 4h], one GEMM
    lstm_state final;
    ys.push_back(run(dir, gates_x, batch, time, lens, /*reverse=*/d == 1, init.empty() ? nullptr : &init[d], final));
    out.final.push_back(final);
  }
  out.y = ys.size() == 1 ? ys[0] : concat_cols(ys);
  return out;
}

}  // namespace attn::nn
