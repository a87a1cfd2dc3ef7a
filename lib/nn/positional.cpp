#include "nn/positional.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/init.h"

namespace attn::nn {

positional parse_positional(const std::string& name) {
  if (name == "sinusoidal") return positional::sinusoidal;
  if (name == "learned") return positional::learned;
  if (name == "rope") return positional::rope;
  if (name == "none") return positional::none;
  if (name == "hyperbolic") return positional::hyperbolic;
  throw error("unknown positional encoding '" + name + "' (choose sinusoidal, learned, rope, none or hyperbolic)");
}

const char* positional_name(positional p) {
  switch (p) {
    case positional::none: return "none";
    case positional::sinusoidal: return "sinusoidal";
    case positional::learned: return "learned";
    case positional::rope: return "rope";
    case positional::hyperbolic: return "hyperbolic";
  }
  return "?";
}

// [len, d]: PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(pos / 10000^(2i/d))
matrix sinusoidal_table(std::size_t len, std::size_t d) {
  matrix pe = matrix::from_shape({len, d});
  for (std::size_t pos = 0; pos < len; ++pos)
    for (std::size_t j = 0; j < d; ++j) {
      const double two_i = static_cast<double>(j - j % 2);
      const double angle = static_cast<double>(pos) / std::pow(10000.0, two_i / static_cast<double>(d));
      pe(pos, j) = static_cast<float>(j % 2 == 0 ? std::sin(angle) : std::cos(angle));
    }
  return pe;
}

// [len, d]: PE(i, j) = 1 / (cos(i / 10000^(j/d)) - sin(i / 10000^(j/d))), faithfully: no clamping.
matrix hyperbolic_table(std::size_t len, std::size_t d) {
  matrix pe = matrix::from_shape({len, d});
  for (std::size_t i = 0; i < len; ++i)
    for (std::size_t j = 0; j < d; ++j) {
      const double angle =
          static_cast<double>(i) / std::pow(10000.0, static_cast<double>(j) / static_cast<double>(d));
      pe(i, j) = static_cast<float>(1.0 / (std::cos(angle) - std::sin(angle)));
    }
  return pe;
}

positional_encoding::positional_encoding(parameter_store& store, const std::string& prefix, positional kind,
                                         std::size_t max_len, std::size_t d, rng& gen)
    : kind_(kind), d_(d), max_len_(max_len) {
  if (kind_ == positional::learned) {
    table_param_ = &store.add(prefix + ".weight", max_len, d);
    init_normal(table_param_->value, gen, 0.02f);
  }
  // Fixed tables start empty and grow to the positions forward() reads (doubling): a model of
  // max_len 10^8 costs nothing until it sees long inputs, and the rows are a pure function of
  // (position, d), so a grown table holds the same values.
}

// x [B*T, d] -> [B*T, d]
var positional_encoding::forward(var x, std::size_t batch, std::size_t time, std::size_t offset) const {
  if (kind_ == positional::none || kind_ == positional::rope) return x;
  if (x.rows() != batch * time || x.cols() != d_)
    throw error("positional encoding: input is [" + std::to_string(x.rows()) + "," + std::to_string(x.cols()) +
                "], expected [" + std::to_string(batch * time) + "," + std::to_string(d_) + "]");
  tape& t = *x.t;
  const std::size_t end = offset + time;
  if (kind_ == positional::learned) {
    if (end > max_len_)
      throw error("position " + std::to_string(end - 1) + " beyond the learned table of " +
                  std::to_string(max_len_) + " positions (" + table_param_->name + ")");
    std::vector<std::int32_t> ids(batch * time);
    for (std::size_t b = 0; b < batch; ++b)
      for (std::size_t s = 0; s < time; ++s) ids[b * time + s] = static_cast<std::int32_t>(offset + s);
    return add(x, attn::embedding(t.param(*table_param_), ids));
  }
  if (end > table_.shape()[0]) {  // fixed tables grow on demand, past max_len too
    const std::size_t len = std::max({end, 2 * table_.shape()[0], std::min<std::size_t>(max_len_, 256)});
    table_ = kind_ == positional::sinusoidal ? sinusoidal_table(len, d_) : hyperbolic_table(len, d_);
  }
  var pe = t.make(batch * time, d_, /*needs_grad=*/false);
  float* dst = pe.mutable_value().data();
  const float* src = table_.data() + offset * d_;
  for (std::size_t b = 0; b < batch; ++b) std::memcpy(dst + b * time * d_, src, time * d_ * sizeof(float));
  return add(x, pe);
}

}  // namespace attn::nn
