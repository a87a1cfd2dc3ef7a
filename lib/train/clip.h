#pragma once
// Global-norm gradient clipping over the trainable parameters (PyTorch's clip_grad_norm_).
#include "core/parameter.h"

namespace attn {

// sqrt(Σ g²) over the gradients of every parameter with trainable == true (empty grads skipped).
// Accumulated in double, so large models do not lose precision.
float grad_norm(const parameter_store& params);

// Scales those gradients by max_norm / norm when norm > max_norm, so that their global norm
// becomes max_norm (up to float rounding: no +1e-6 in the denominator, unlike PyTorch).
// Returns the norm before clipping. max_norm <= 0 only measures. A non-finite norm leaves the
// gradients untouched and is returned as is, so the caller can skip the step.
float clip_grad_norm(parameter_store& params, float max_norm);

}  // namespace attn
