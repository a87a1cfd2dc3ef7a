#pragma once
// Tokens no search may produce: <pad> (never a target) and <bos> (only ever fed to the decoder,
// never predicted). A weakly trained model still gives them some probability, and its greedy,
// beam or sampled output then printed them; every search masks them out instead.
#include "core/tensor.h"

namespace attn {

// log_probs [rows, V]: the <pad> and <bos> columns become -inf (renormalising is not needed:
// searches compare and sample relative to the rest, and log-probs of produced tokens are exact).
void forbid_unproducible(matrix& log_probs);

}  // namespace attn
