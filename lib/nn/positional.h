#pragma once
// Positional encodings, chosen by name (model config "positional = sinusoidal|learned|rope|none|hyperbolic").
//
//  sinusoidal  PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(pos / 10000^(2i/d))  (Vaswani et al.)
//  learned     a trained table <prefix>.weight [max_len, d], N(0, 0.02²)
//  rope        nothing is added here: multi_head_attention rotates q and k (ops rope)
//  none        identity
//  hyperbolic  PE(i, j) = 1 / (cos(i / 10000^(j/d)) - sin(i / 10000^(j/d))), implemented as some tutorials
//              state it. It is unbounded where cos = sin (angle = pi/4 + k*pi): see docs/layers.md.
//
// Additive encodings are added to every batch item's rows: x [B*T, d], row b*T + t gets PE(offset + t).
#include <cstddef>
#include <string>

#include "core/ops.h"
#include "core/parameter.h"
#include "core/rng.h"

namespace attn::nn {

enum class positional { none, sinusoidal, learned, rope, hyperbolic };

positional parse_positional(const std::string& name);  // throws attn::error listing the choices
const char* positional_name(positional p);

// The fixed tables, computed in double: [len, d].
matrix sinusoidal_table(std::size_t len, std::size_t d);
matrix hyperbolic_table(std::size_t len, std::size_t d);

class positional_encoding {
 public:
  positional_encoding() = default;
  // max_len bounds the learned table; fixed tables are computed as far as forward() reads.
  positional_encoding(parameter_store& store, const std::string& prefix, positional kind, std::size_t max_len,
                      std::size_t d, rng& gen);

  // x [B*T, d] -> x + PE rows offset .. offset+T-1 for each batch item (identity for none and rope).
  // offset is the position of the first row (decoding step by step passes the step number).
  var forward(var x, std::size_t batch, std::size_t time, std::size_t offset = 0) const;

  positional kind() const { return kind_; }
  bool rotary() const { return kind_ == positional::rope; }

 private:
  positional kind_ = positional::none;
  std::size_t d_ = 0, max_len_ = 0;
  parameter* table_param_ = nullptr;  // learned only
  mutable matrix table_;              // sinusoidal / hyperbolic: [rows computed so far, d]; grows in
                                      // forward(), so one object is not for two threads at once
};

}  // namespace attn::nn
