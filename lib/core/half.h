#pragma once
// IEEE 754 half precision (binary16) storage, for a decoding cache's keys and values
// (`attn decode --kv-cache f16`): half the memory, and half the memory traffic of the attention
// that reads them at every step. Values are stored rounded to the nearest half (ties to even) and
// turned back into floats exactly on load; all arithmetic stays in float.
//
// The conversions use the F16C instructions when the build targets them (x86-64 with AVX2 or
// later under -march=native), else bit manipulation that gives the same bits (checked against
// the instructions in test_half). A half holds magnitudes up to 65504 with 11 significant bits
// (relative rounding error at most 2^-11); to_half reports a finite float beyond that range.
#include <cstddef>
#include <cstdint>
#include <xtensor/xtensor.hpp>

namespace attn {

using half_matrix = xt::xtensor<std::uint16_t, 2>;  // [rows, cols] binary16 bit patterns, row-major

inline std::size_t rows(const half_matrix& m) {
  return m.shape()[0];
}
inline std::size_t cols(const half_matrix& m) {
  return m.shape()[1];
}

constexpr float half_max = 65504.0f;  // the largest finite half

// x rounded to the nearest half, ties to even; beyond ±65504 (from ±65520 on) ±infinity, NaN a NaN.
std::uint16_t to_half(float x);
// The float of h, exactly.
float from_half(std::uint16_t h);

// y[i] = to_half(x[i]) for i < n. Returns false if some finite x[i] was out of the half range
// (|x| >= 65520, stored as infinity); y is written either way.
bool to_half(const float* x, std::uint16_t* y, std::size_t n);
// y[i] = from_half(x[i]) for i < n.
void from_half(const std::uint16_t* x, float* y, std::size_t n);

}  // namespace attn
