#pragma once
// Internal helpers shared by the ops_*.cpp files (not part of the public API).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "core/error.h"
#include "core/tape.h"

namespace attn::detail {

inline std::string shape_of(const var& v) {
  return "[" + std::to_string(v.rows()) + "," + std::to_string(v.cols()) + "]";
}

// Callers write `if (!(cond)) fail(op, message)` so the message is only built on failure.
[[noreturn]] inline void fail(const char* op, const std::string& what) { throw error(std::string(op) + ": " + what); }

// The tape shared by every valid input; throws when an input is invalid or on another tape.
inline tape& tape_of(const char* op, std::initializer_list<var> xs) {
  tape* t = nullptr;
  for (const var& x : xs) {
    if (!x.valid()) fail(op, "an input is not a valid tape node");
    if (t && x.t != t) fail(op, "inputs live on different tapes");
    t = x.t;
  }
  t->begin_op();
  return *t;
}


// Gradient sink for a closure: pointer to the gradient of x, and beta for a gemm that writes
// it (0 when the buffer holds nothing yet, so it need not be zeroed first).
struct grad_sink {
  float* p = nullptr;
  float beta = 1.0f;
  bool overwrite = false;
};
inline grad_sink sink_of(const var& x) {
  grad_sink s;
  if (!x.valid() || !x.needs_grad()) return s;
  s.p = x.grad_for_write(s.overwrite).data();
  s.beta = s.overwrite ? 0.0f : 1.0f;
  return s;
}

// The sink receives src [n] (= on overwrite, += otherwise), split over the threads: a
// residual connection's gradient passed on, a gradient of megabytes. Nothing without a sink.
void pour(const grad_sink& sink, const float* src, std::size_t n);

// Y [N,out] = the bias B [out] in every row, split over the threads (megabytes for a wide layer:
// the bias of a linear layer or of the output layer's logits, before a gemm adds to it).
void broadcast_rows(std::size_t N, std::size_t out, const float* B, float* Y);
// db [out] += Σ_rows dY [N,out] (leading dimension out), split over blocks of columns: every
// column is summed over the rows in the same order whatever the thread count.
void add_bias_grad(std::size_t N, std::size_t out, const float* dY, float* db);

// The mask of dropout(x, p) drawn with `seed` (ops_norm.cpp), for the pairs of elements
// [k0, k1), i.e. elements [2·k0, min(n, 2·k1)) of an n-element input, written to M[0 ..]: each
// 1/(1-p) or 0. Element i depends only on (seed, p, i): any chunking draws the same mask, and an
// op can draw it again in its backward pass instead of keeping it.
void dropout_mask(std::uint64_t seed, float p, std::size_t n, std::size_t k0, std::size_t k1, float* M);

}  // namespace attn::detail
