#pragma once
// Tokens no search may produce: <pad> (never a target) and <bos> (only ever fed to the decoder,
// never predicted). A weakly trained model still gives them some probability, and its greedy,
// beam or sampled output then printed them; every search masks them out instead.
#include <cstddef>
#include <cstdint>

#include "core/tensor.h"

namespace attn {

// <pad> or <bos>: a token no search returns.
bool is_unproducible(std::int32_t id);

// log_probs [rows, V]: the <pad> and <bos> columns become -inf (renormalising is not needed:
// searches compare and sample relative to the rest, and log-probs of produced tokens are exact).
void forbid_unproducible(matrix& log_probs);

// The most probable producible token of one row of log-probs [V] (the first maximum on ties, as
// an argmax), never <pad> or <bos> even when every score is -inf or NaN (then the first
// producible id). V must exceed bos_id.
std::int32_t best_producible(const float* log_probs, std::size_t V);
// best_producible of every row of scores [rows, V] (log-probs or logits) into best [rows], the rows
// split over the threads.
void best_producible_rows(const matrix& scores, std::vector<std::int32_t>& best);

}  // namespace attn
