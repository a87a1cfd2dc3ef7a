#pragma once
// Vector helpers for loops that call them once per short row (a decoding step's attention: once
// per key and head), where an out-of-line call would cost as much as the work: inline here.
// kernels::dot (kernels.h) is dot_inline out of line.
#include <cstddef>
#include <xsimd/xsimd.hpp>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

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

// The lane sums of W = batch::size batches: lane i of the result is the sum of rows[i]'s lanes,
// W dot products' horizontal sums in one pass. xsimd 8.1's haddp permutes its lanes under
// AVX-512 (lane 2 holds the sum of rows[4]); this one sums in a tree (256-bit halves, 128-bit
// quarters, pairs, neighbours) and puts the lanes in order with one permute. (GCC 12 takes the
// _mm512_undefined_ps() inside the shuffle intrinsics for uninitialised variables: silenced.)
#pragma GCC diagnostic push
#ifndef __clang__  // a g++ warning only
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#pragma GCC diagnostic ignored "-Wuninitialized"
inline xsimd::batch<float> row_sums(const xsimd::batch<float>* rows) {
#if defined(__AVX512F__)
  if constexpr (xsimd::batch<float>::size == 16) {
    __m512 s[8];  // s_i: rows i and i+8, each summed to 8 lanes
    for (int i = 0; i < 8; ++i) {
      const __m512 v = rows[i], w = rows[i + 8];
      s[i] = _mm512_add_ps(_mm512_shuffle_f32x4(v, w, _MM_SHUFFLE(1, 0, 1, 0)),
                           _mm512_shuffle_f32x4(v, w, _MM_SHUFFLE(3, 2, 3, 2)));
    }
    __m512 u[4];  // u_i: rows i, i+8, i+4, i+12, each summed to 4 lanes
    for (int i = 0; i < 4; ++i)
      u[i] = _mm512_add_ps(_mm512_shuffle_f32x4(s[i], s[i + 4], _MM_SHUFFLE(2, 0, 2, 0)),
                           _mm512_shuffle_f32x4(s[i], s[i + 4], _MM_SHUFFLE(3, 1, 3, 1)));
    __m512 c[2];  // within each 128-bit block, two rows summed to 2 lanes each
    for (int i = 0; i < 2; ++i)
      c[i] = _mm512_add_ps(_mm512_shuffle_ps(u[i], u[i + 2], _MM_SHUFFLE(1, 0, 1, 0)),
                           _mm512_shuffle_ps(u[i], u[i + 2], _MM_SHUFFLE(3, 2, 3, 2)));
    // one sum per row, in the order 0 2 1 3 8 10 9 11 4 6 5 7 12 14 13 15
    const __m512 d = _mm512_add_ps(_mm512_shuffle_ps(c[0], c[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                   _mm512_shuffle_ps(c[0], c[1], _MM_SHUFFLE(3, 1, 3, 1)));
    return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 2, 1, 3, 8, 10, 9, 11, 4, 6, 5, 7, 12, 14, 13, 15), d);
  }
#endif
  return xsimd::haddp(rows);
}
#pragma GCC diagnostic pop

}  // namespace attn::kernels
