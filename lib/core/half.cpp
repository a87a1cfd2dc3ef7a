#include "core/half.h"

#include <cmath>
#include <cstring>

#if defined(__F16C__)
#include <immintrin.h>
#endif

namespace attn {

namespace {

std::uint32_t bits_of(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

float float_of(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

}  // namespace

std::uint16_t to_half(float x) {
  const std::uint32_t u = bits_of(x);
  const std::uint16_t sign = static_cast<std::uint16_t>((u >> 16) & 0x8000u);
  const std::uint32_t a = u & 0x7fffffffu;  // |x|
  if (a >= 0x7f800000u)                     // infinity, or NaN (kept quiet)
    return static_cast<std::uint16_t>(sign | 0x7c00u | (a > 0x7f800000u ? 0x0200u | ((a >> 13) & 0x03ffu) : 0u));
  if (a < 0x38800000u) {  // below 2^-14, the smallest normal half: a subnormal half or zero
    // Adding 0.5 moves |x|'s bits so that the float's own rounding (to nearest, ties to even)
    // rounds at 2^-24, the subnormal half's step; the low bits then hold the half's mantissa.
    const float shifted = float_of(a) + 0.5f;
    return static_cast<std::uint16_t>(sign | (bits_of(shifted) - bits_of(0.5f)));
  }
  // Normal: rebias the exponent (127 -> 15) and round the 13 dropped mantissa bits to nearest, ties
  // to even (add just under half a step, plus one when the kept part is odd). A carry out of the
  // mantissa raises the exponent, and past 65504 it reaches the infinity pattern 0x7c00.
  const std::uint32_t odd = (a >> 13) & 1u;
  const std::uint32_t r = a - (112u << 23) + 0x0fffu + odd;
  const std::uint32_t h = r >> 13;
  return static_cast<std::uint16_t>(sign | (h >= 0x7c00u ? 0x7c00u : h));
}

float from_half(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t em = h & 0x7fffu;                                             // exponent and mantissa
  if (em >= 0x7c00u) return float_of(sign | 0x7f800000u | ((em & 0x03ffu) << 13));  // infinity, NaN
  if (em >= 0x0400u) return float_of(sign | ((em << 13) + (112u << 23)));           // normal
  const float magnitude = static_cast<float>(em) * 5.9604644775390625e-8f;          // subnormal: em·2^-24
  return sign ? -magnitude : magnitude;
}

bool to_half(const float* x, std::uint16_t* y, std::size_t n) {
  std::size_t i = 0;
#if defined(__F16C__)
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
#endif
  for (; i < n; ++i) y[i] = to_half(x[i]);
  bool in_range = true;
  for (i = 0; i < n; ++i)
    if ((y[i] & 0x7fffu) == 0x7c00u && std::isfinite(x[i])) in_range = false;
  return in_range;
}

void from_half(const std::uint16_t* x, float* y, std::size_t n) {
  std::size_t i = 0;
#if defined(__F16C__)
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i))));
#endif
  for (; i < n; ++i) y[i] = from_half(x[i]);
}

}  // namespace attn
