// Shape ops (concat, split, slice, gather) and lookups (embedding, mean_pool). All copies are
// row or row-segment memcpy; backward passes add the same segments back.
#include <algorithm>
#include <cstring>

#include "core/kernels.h"
#include "core/ops.h"
#include "core/ops_util.h"
#include "core/threads.h"

namespace attn {

using detail::shape_of;

namespace {
tape& tape_of_all(const char* op, const std::vector<var>& xs) {
  if (xs.empty()) detail::fail(op, "no inputs");
  tape* t = nullptr;
  for (const var& x : xs) {
    if (!x.valid()) detail::fail(op, "an input is not a valid tape node");
    if (t && x.t != t) detail::fail(op, "inputs live on different tapes");
    t = x.t;
  }
  return *t;
}
bool any_needs_grad(const std::vector<var>& xs) {
  return std::any_of(xs.begin(), xs.end(), [](const var& x) { return x.needs_grad(); });
}
// dst[i, 0:w] (+)= src[i, 0:w] for n rows with leading dimensions ld_dst, ld_src.
void copy_block(std::size_t n, std::size_t w, const float* src, std::size_t ld_src, float* dst, std::size_t ld_dst,
                bool accumulate) {
  parallel_for(n, std::max<std::size_t>(1, (std::size_t{1} << 15) / std::max<std::size_t>(w, 1)),
               [&](std::size_t b, std::size_t e) {
                 for (std::size_t i = b; i < e; ++i) {
                   if (accumulate)
                     kernels::axpy(w, 1.0f, src + i * ld_src, dst + i * ld_dst);
                   else
                     std::memcpy(dst + i * ld_dst, src + i * ld_src, w * sizeof(float));
                 }
               });
}
}  // namespace

// xs[k] [N,c_k] -> [N, Σc_k]
var concat_cols(const std::vector<var>& xs) {
  tape& t = tape_of_all("concat_cols", xs);
  const std::size_t N = xs[0].rows();
  std::size_t D = 0;
  for (const var& x : xs) {
    if (x.rows() != N) detail::fail("concat_cols", "row counts differ: " + shape_of(xs[0]) + " and " + shape_of(x));
    D += x.cols();
  }
  var y = t.make(N, D, any_needs_grad(xs));
  float* Y = y.mutable_value().data();
  std::size_t off = 0;
  for (const var& x : xs) {
    copy_block(N, x.cols(), x.value().data(), x.cols(), Y + off, D, false);
    off += x.cols();
  }
  if (!y.needs_grad()) return y;
  // dx_k = dy[:, off_k : off_k + c_k]
  t.on_backward([xs, y, N, D] {
    const float* dY = y.grad().data();
    std::size_t off = 0;
    for (const var& x : xs) {
      const std::size_t c = x.cols();
      if (x.needs_grad()) {
        bool overwrite;
        float* dX = x.grad_for_write(overwrite).data();
        copy_block(N, c, dY + off, D, dX, c, !overwrite);
      }
      off += c;
    }
  });
  return y;
}

// x [N, Σw_k] -> k outputs [N, w_k]
std::vector<var> split_cols(var x, const std::vector<std::size_t>& widths, const row_packing* unpack) {
  tape& t = detail::tape_of("split_cols", {x});
  const std::size_t D = x.cols();
  std::size_t total = 0;
  for (std::size_t w : widths) total += w;
  if (total != D) detail::fail("split_cols", "widths sum to " + std::to_string(total) + " but x is " + shape_of(x));
  if (unpack && (unpack->offsets.size() != unpack->batch + 1 || x.rows() != unpack->rows()))
    detail::fail("split_cols",
                 "x is " + shape_of(x) + " but the packing has " + std::to_string(unpack->rows()) + " packed rows");
  if (!unpack) {
    const std::size_t N = x.rows();
    std::vector<var> ys;
    ys.reserve(widths.size());
    std::size_t off = 0;
    for (std::size_t w : widths) {
      var y = t.make(N, w, x.needs_grad());
      copy_block(N, w, x.value().data() + off, D, y.mutable_value().data(), w, false);
      ys.push_back(y);
      off += w;
    }
    if (!x.needs_grad() || !t.recording()) return ys;
    // dx[:, off_k : off_k + w_k] = dy_k  (zero where y_k received no gradient)
    t.on_backward([x, ys, N, D] {
      bool overwrite;  // dx holds nothing yet: copy the blocks in (zeros where no gradient came)
      float* dX = x.grad_for_write(overwrite).data();
      std::size_t off = 0;
      for (const var& y : ys) {
        const std::size_t w = y.cols();
        if (y.has_grad())
          copy_block(N, w, y.grad().data(), w, dX + off, D, !overwrite);
        else if (overwrite)
          for (std::size_t i = 0; i < N; ++i) std::fill(dX + i * D + off, dX + i * D + off + w, 0.0f);
        off += w;
      }
    });
    return ys;
  }
  // Packed rows [n, D] -> [B*T, w_k]: item b's L_b rows in place, its padding rows 0.
  const std::size_t B = unpack->batch, T = unpack->time;
  std::vector<std::int32_t>& off_b = t.scratch_ints(B + 1);
  std::copy(unpack->offsets.begin(), unpack->offsets.end(), off_b.begin());
  std::vector<var> ys;
  ys.reserve(widths.size());
  for (std::size_t w : widths) ys.push_back(t.make(B * T, w, x.needs_grad()));
  const std::size_t grain = std::max<std::size_t>(1, (std::size_t{1} << 15) / std::max<std::size_t>(T * D, 1));
  const float* X = x.value().data();
  parallel_for(B, grain, [&](std::size_t b0, std::size_t b1) {
    for (std::size_t b = b0; b < b1; ++b) {
      const auto first = static_cast<std::size_t>(off_b[b]), L = static_cast<std::size_t>(off_b[b + 1]) - first;
      std::size_t col = 0;
      for (var& y : ys) {
        const std::size_t w = y.cols();
        float* Y = y.mutable_value().data() + b * T * w;
        for (std::size_t i = 0; i < L; ++i) std::memcpy(Y + i * w, X + (first + i) * D + col, w * sizeof(float));
        std::fill(Y + L * w, Y + T * w, 0.0f);
        col += w;
      }
    }
  });
  if (!x.needs_grad() || !t.recording()) return ys;
  // dx[packed row, off_k : off_k + w_k] = dy_k[its padded row]  (zero where y_k received no gradient);
  // every packed row is one padded row, so the blocks cover dx.
  const std::vector<std::int32_t>* offsets = &off_b;
  t.on_backward([x, ys, offsets, B, T, D, grain] {
    bool overwrite;
    float* dX = x.grad_for_write(overwrite).data();
    std::vector<const float*> dY;  // per output: its gradient, or null when it received none
    for (const var& y : ys) dY.push_back(y.has_grad() ? y.grad().data() : nullptr);
    parallel_for(B, grain, [&](std::size_t b0, std::size_t b1) {
      for (std::size_t b = b0; b < b1; ++b) {
        const auto first = static_cast<std::size_t>((*offsets)[b]);
        const std::size_t L = static_cast<std::size_t>((*offsets)[b + 1]) - first;
        std::size_t col = 0;
        for (std::size_t k = 0; k < ys.size(); ++k) {
          const std::size_t w = ys[k].cols();
          for (std::size_t i = 0; i < L; ++i) {
            float* dst = dX + (first + i) * D + col;
            const float* src = dY[k] ? dY[k] + (b * T + i) * w : nullptr;
            if (!src) {
              if (overwrite) std::fill(dst, dst + w, 0.0f);
            } else if (overwrite) {
              std::memcpy(dst, src, w * sizeof(float));
            } else {
              kernels::axpy(w, 1.0f, src, dst);
            }
          }
          col += w;
        }
      }
    });
  });
  return ys;
}

// xs[k] [n_k,d] -> [Σn_k, d]
var concat_rows(const std::vector<var>& xs) {
  tape& t = tape_of_all("concat_rows", xs);
  const std::size_t d = xs[0].cols();
  std::size_t N = 0;
  for (const var& x : xs) {
    if (x.cols() != d) detail::fail("concat_rows", "column counts differ: " + shape_of(xs[0]) + " and " + shape_of(x));
    N += x.rows();
  }
  var y = t.make(N, d, any_needs_grad(xs));
  float* Y = y.mutable_value().data();
  std::vector<std::size_t> end;  // end[k]: rows of y up to and including xs[k]
  for (const var& x : xs) end.push_back((end.empty() ? 0 : end.back()) + x.rows());
  std::vector<const float*> parts;
  for (const var& x : xs) parts.push_back(x.value().data());
  // Rows [b, e) of y, from whichever inputs hold them; fn(k, first row of xs[k], rows).
  auto by_part = [end](std::size_t b, std::size_t e, auto&& fn) {
    for (std::size_t k = std::upper_bound(end.begin(), end.end(), b) - end.begin(); b < e; ++k) {
      const std::size_t first = k == 0 ? 0 : end[k - 1], stop = std::min(e, end[k]);
      fn(k, b - first, stop - b);
      b = stop;
    }
  };
  const std::size_t grain = std::max<std::size_t>(1, (std::size_t{1} << 15) / std::max<std::size_t>(d, 1));
  parallel_for(N, grain, [&](std::size_t b, std::size_t e) {
    by_part(b, e, [&](std::size_t k, std::size_t r, std::size_t n) {
      std::memcpy(Y + (end[k] - xs[k].rows() + r) * d, parts[k] + r * d, n * d * sizeof(float));
    });
  });
  if (!y.needs_grad()) return y;
  // dx_k = dy[off_k : off_k + n_k]
  t.on_backward([xs, y, d, N, grain, by_part, end] {
    const float* dY = y.grad().data();
    std::vector<float*> dX(xs.size(), nullptr);
    std::vector<char> overwrite(xs.size(), 0);
    for (std::size_t k = 0; k < xs.size(); ++k) {
      if (!xs[k].needs_grad()) continue;
      bool o;
      dX[k] = xs[k].grad_for_write(o).data();
      overwrite[k] = o;
    }
    parallel_for(N, grain, [&](std::size_t b, std::size_t e) {
      by_part(b, e, [&](std::size_t k, std::size_t r, std::size_t n) {
        if (!dX[k]) return;
        const float* src = dY + (end[k] - xs[k].rows() + r) * d;
        if (overwrite[k])
          std::memcpy(dX[k] + r * d, src, n * d * sizeof(float));
        else
          kernels::axpy(n * d, 1.0f, src, dX[k] + r * d);
      });
    });
  });
  return y;
}

// x [N,d] -> [count,d] = x[begin : begin+count]
var slice_rows(var x, std::size_t begin, std::size_t count) {
  tape& t = detail::tape_of("slice_rows", {x});
  const std::size_t d = x.cols();
  if (begin + count > x.rows())
    detail::fail("slice_rows", "rows [" + std::to_string(begin) + "," + std::to_string(begin + count) +
                                   ") out of range for " + shape_of(x));
  var y = t.make(count, d, x.needs_grad());
  std::memcpy(y.mutable_value().data(), x.value().data() + begin * d, count * d * sizeof(float));
  if (!y.needs_grad()) return y;
  // dx[begin : begin+count] += dy
  t.on_backward([x, y, begin, count, d] {
    copy_block(count, d, y.grad().data(), d, x.grad().data() + begin * d, d, /*accumulate=*/true);
  });
  return y;
}

namespace {
// out[i] = x[rows[i]] for x [R,d]; backward scatter-adds. Shared by gather_rows and embedding.
var gather(const char* op, var x, const std::vector<std::int32_t>& rows) {
  tape& t = detail::tape_of(op, {x});
  const std::size_t R = x.rows(), d = x.cols(), n = rows.size();
  for (std::int32_t r : rows)
    if (!(r >= 0 && static_cast<std::size_t>(r) < R))
      detail::fail(op, "index " + std::to_string(r) + " out of range for " + std::to_string(R) + " rows");
  var y = t.make(n, d, x.needs_grad());
  const float* X = x.value().data();
  float* Y = y.mutable_value().data();
  parallel_for(n, std::max<std::size_t>(1, (std::size_t{1} << 15) / std::max<std::size_t>(d, 1)),
               [&](std::size_t b, std::size_t e) {
                 for (std::size_t i = b; i < e; ++i)
                   std::memcpy(Y + i * d, X + static_cast<std::size_t>(rows[i]) * d, d * sizeof(float));
               });
  if (!y.needs_grad()) return y;
  std::vector<std::int32_t>* idx = &t.scratch_ints(n);
  std::copy(rows.begin(), rows.end(), idx->begin());
  // dx[rows[i]] += dy[i]. A row of x may be picked many times (a frequent token): the threads
  // split the columns, not the rows, and each element adds its terms in the order of i.
  t.on_backward([x, y, idx, n, d] {
    const float* dY = y.grad().data();
    float* dX = x.grad().data();
    constexpr std::size_t block = 16;  // columns: a 64-byte line
    const std::size_t blocks = (d + block - 1) / block;
    const std::size_t grain = std::max<std::size_t>(1, (std::size_t{1} << 15) / std::max<std::size_t>(n * block, 1));
    parallel_for(blocks, grain, [&](std::size_t b, std::size_t e) {
      const std::size_t lo = b * block, w = std::min(d, e * block) - lo;
      for (std::size_t i = 0; i < n; ++i)
        kernels::axpy(w, 1.0f, dY + i * d + lo, dX + static_cast<std::size_t>((*idx)[i]) * d + lo);
    });
  });
  return y;
}
}  // namespace

var gather_rows(var x, const std::vector<std::int32_t>& rows) { return gather("gather_rows", x, rows); }

row_packing pack_layout(std::size_t batch, std::size_t time, const std::vector<std::int32_t>& lengths) {
  if (!(lengths.empty() || lengths.size() == batch))
    detail::fail("pack_layout", std::to_string(lengths.size()) + " lengths for a batch of " + std::to_string(batch));
  row_packing p;
  p.batch = batch;
  p.time = time;
  p.offsets.assign(batch + 1, 0);
  for (std::size_t b = 0; b < batch; ++b) {
    const std::int32_t L = lengths.empty() ? static_cast<std::int32_t>(time) : lengths[b];
    if (!(L >= 0 && static_cast<std::size_t>(L) <= time))
      detail::fail("pack_layout", "length " + std::to_string(L) + " outside [0," + std::to_string(time) + "]");
    p.offsets[b + 1] = p.offsets[b] + L;
  }
  return p;
}

namespace {
// Copies (or, backward, adds) item by item between the padded layout [B*T, d] and the packed one
// [n, d]: item b's L_b rows are one block in each. Items split over the pool; blocks are disjoint.
// to_packed: padded -> packed, else packed -> padded (whose padding rows are zeroed when copying).
void move_items(const std::vector<std::int32_t>& off, std::size_t T, std::size_t d, const float* from, float* to,
                bool to_packed, bool accumulate) {
  const std::size_t B = off.size() - 1;
  const std::size_t grain = std::max<std::size_t>(1, (std::size_t{1} << 16) / std::max<std::size_t>(T * d, 1));
  parallel_for(B, grain, [&](std::size_t b0, std::size_t b1) {
    for (std::size_t b = b0; b < b1; ++b) {
      const std::size_t L = static_cast<std::size_t>(off[b + 1] - off[b]);
      const std::size_t packed = static_cast<std::size_t>(off[b]) * d, padded = b * T * d;
      const float* src = from + (to_packed ? padded : packed);
      float* dst = to + (to_packed ? packed : padded);
      if (accumulate) {
        kernels::axpy(L * d, 1.0f, src, dst);
        continue;
      }
      std::memcpy(dst, src, L * d * sizeof(float));
      if (!to_packed) std::fill(dst + L * d, dst + T * d, 0.0f);
    }
  });
}

var move_rows(const char* op, var x, const row_packing& p, bool to_packed) {
  tape& t = detail::tape_of(op, {x});
  const std::size_t n = p.rows(), padded = p.batch * p.time, d = x.cols();
  if (p.offsets.size() != p.batch + 1)
    detail::fail(
        op, "a packing of " + std::to_string(p.batch) + " items needs " + std::to_string(p.batch + 1) + " offsets");
  if (x.rows() != (to_packed ? padded : n))
    detail::fail(op, "x is " + shape_of(x) + " but the packing has " + std::to_string(to_packed ? padded : n) +
                         (to_packed ? " padded rows (batch*time)" : " packed rows"));
  var y = t.make(to_packed ? n : padded, d, x.needs_grad());
  move_items(p.offsets, p.time, d, x.value().data(), y.mutable_value().data(), to_packed, false);
  if (!y.needs_grad()) return y;
  std::vector<std::int32_t>* off = &t.scratch_ints(p.offsets.size());
  std::copy(p.offsets.begin(), p.offsets.end(), off->begin());
  const std::size_t T = p.time;
  // the inverse move of the gradient, added: dx[padded row] += dy[packed row] (or the reverse)
  t.on_backward(
      [x, y, off, T, d, to_packed] { move_items(*off, T, d, y.grad().data(), x.grad().data(), !to_packed, true); });
  return y;
}
}  // namespace

// [B*T, d] -> [n, d]
var pack_rows(var x, const row_packing& p) {
  return move_rows("pack_rows", x, p, true);
}

// [n, d] -> [B*T, d]
var unpack_rows(var x, const row_packing& p) {
  return move_rows("unpack_rows", x, p, false);
}

// table [V,d], ids n -> [n,d]
var embedding(var table, const std::vector<std::int32_t>& ids) { return gather("embedding", table, ids); }

// x [B*T,d] -> [B,d]: y[b] = (1/L_b) Σ_{t<L_b} x[b*T+t], L_b = lengths[b] (T if lengths is empty)
var mean_pool(var x, std::size_t batch, std::size_t time, const std::vector<std::int32_t>& lengths) {
  tape& t = detail::tape_of("mean_pool", {x});
  const std::size_t d = x.cols();
  if (x.rows() != batch * time)
    detail::fail("mean_pool", "x is " + shape_of(x) + " but batch*time = " + std::to_string(batch * time));
  if (!(lengths.empty() || lengths.size() == batch))
    detail::fail("mean_pool", std::to_string(lengths.size()) + " lengths for a batch of " + std::to_string(batch));
  std::vector<std::int32_t>& len = t.scratch_ints(batch);
  for (std::size_t b = 0; b < batch; ++b) {
    std::int32_t L = lengths.empty() ? static_cast<std::int32_t>(time) : lengths[b];
    if (!(L >= 0 && static_cast<std::size_t>(L) <= time))
      detail::fail("mean_pool", "length " + std::to_string(L) + " outside [0," + std::to_string(time) + "]");
    len[b] = L;
  }
  var y = t.make(batch, d, x.needs_grad());
  const float* X = x.value().data();
  float* Y = y.mutable_value().data();
  for (std::size_t b = 0; b < batch; ++b) {
    float* yr = Y + b * d;
    std::fill(yr, yr + d, 0.0f);
    for (std::int32_t s = 0; s < len[b]; ++s)
      kernels::axpy(d, 1.0f, X + (b * time + static_cast<std::size_t>(s)) * d, yr);
    if (len[b] > 0) kernels::scale(d, 1.0f / static_cast<float>(len[b]), yr);
  }
  if (!y.needs_grad()) return y;
  const std::vector<std::int32_t>* lp = &len;
  // dx[b*T+t] += dy[b] / L_b for t < L_b
  t.on_backward([x, y, lp, batch, time, d] {
    const float* dY = y.grad().data();
    float* dX = x.grad().data();
    for (std::size_t b = 0; b < batch; ++b) {
      const std::int32_t L = (*lp)[b];
      for (std::int32_t s = 0; s < L; ++s)
        kernels::axpy(d, 1.0f / static_cast<float>(L), dY + b * d, dX + (b * time + static_cast<std::size_t>(s)) * d);
    }
  });
  return y;
}

}  // namespace attn
