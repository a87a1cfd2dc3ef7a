#pragma once
// Vector helpers for loops that call them once per short row (a decoding step's attention: once
// per key and head), where an out-of-line call would cost as much as the work: inline here.
// kernels::dot (kernels.h) is dot_inline out of line.
#include <cstddef>
#include <xsimd/xsimd.hpp>

namespace attn::kernels {

// a·b over n floats.
inline float dot_inline(std::size_t n, const float* a, const float* b) {
  using batch = xsimd::batch<float>;
  constexpr std::size_t W = batch::size;
  batch acc(0.0f);
  std::size_t i = 0;
  for (; i + W <= n; i += W) acc = xsimd::fma(batch::load_unaligned(a + i), batch::load_unaligned(b + i), acc);
  float s = xsimd::hadd(acc);
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

}  // namespace attn::kernels
