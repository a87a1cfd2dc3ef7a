#pragma once
// Token embedding table.
// Parameters: <prefix>.weight [vocab, d], N(0, 1/d) so that rows have unit expected norm.
// The model decides whether to multiply by sqrt(d) (Vaswani et al. do, before adding
// sinusoidal positions): forward(ids, sqrt_d_scale=true).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/ops.h"
#include "core/parameter.h"
#include "core/rng.h"

namespace attn::nn {

class embedding {
 public:
  embedding() = default;
  embedding(parameter_store& store, const std::string& prefix, std::size_t vocab, std::size_t d, rng& gen);

  // ids (N of them, each in [0, vocab)) -> [N, d]; ·sqrt(d) when scale_sqrt_d.
  var forward(tape& t, const std::vector<std::int32_t>& ids, bool scale_sqrt_d = false) const;

  std::size_t vocab() const { return vocab_; }
  std::size_t dim() const { return d_; }
  parameter& weight() const { return *weight_; }

 private:
  parameter* weight_ = nullptr;
  std::size_t vocab_ = 0, d_ = 0;
};

}  // namespace attn::nn
