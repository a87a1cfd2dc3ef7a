#pragma once
// Gradient checks for layers, on top of core's finite-difference checker (tests/core/gradcheck.h):
// a layer's parameters live in its own store, the inputs we also want checked (x, memory, initial
// states) in a second store of trainable "input parameters"; every store is checked in turn.
#include <string>
#include <vector>

#include "core/gradcheck.h"

namespace attn::nn::testing {

using attn::testing::fill_normal;

// A parameter holding an input to the layer, so that the check covers d(out)/d(input) too.
inline parameter& input_param(parameter_store& inputs, const std::string& name, std::size_t rows, std::size_t cols,
                              rng& gen) {
  parameter& p = inputs.add(name, rows, cols);
  fill_normal(p.value, gen);
  return p;
}

// forward(t) must build the same function on every call (reseed any dropout generator inside).
inline void check_gradients(const std::vector<parameter_store*>& stores, const std::function<var(tape&)>& forward,
                            double tolerance = 1e-2) {
  for (parameter_store* s : stores) {
    bool any = false;
    for (const parameter* p : s->all()) any = any || p->trainable;
    if (any) attn::testing::check_gradients(*s, forward, tolerance);  // (positional tables: none)
  }
}

}  // namespace attn::nn::testing
