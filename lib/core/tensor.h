#pragma once
// Storage types. Every activation in attn is a 2-D row-major matrix: rows are
// (batch item, time step) pairs flattened as row = b * T + t unless a function says otherwise,
// columns are features. Heads and batch items are addressed by pointer offsets, never views.
#include <cstddef>
#include <xtensor/xtensor.hpp>

namespace attn {

using matrix = xt::xtensor<float, 2>;  // [rows, cols], row-major, contiguous
using vec = xt::xtensor<float, 1>;

inline std::size_t rows(const matrix& m) { return m.shape()[0]; }
inline std::size_t cols(const matrix& m) { return m.shape()[1]; }

}  // namespace attn
