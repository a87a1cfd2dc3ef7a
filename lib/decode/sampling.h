#pragma once
// Ancestral sampling: every next token is drawn from the model's distribution, reshaped by a
// temperature and truncated to the top k tokens and/or the nucleus of mass p (Holtzman et al.).
// Each item draws from its own random stream, derived from the seed and a stream id (the input
// line number), so the output of a line does not depend on which other lines share its batch.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/rng.h"
#include "core/tape.h"
#include "decode/alignment.h"
#include "models/model.h"
#include "text/special_tokens.h"

namespace attn {

struct sampling_config {
  float temperature = 1.0f;  // divides the log-probs; 0 = always the most probable token (greedy)
  std::size_t top_k = 0;     // keep the k most probable tokens (0 = all)
  float top_p = 1.0f;        // keep the smallest most-probable set of mass >= p, in (0, 1] (1 = all)
  std::uint64_t seed = 1;
};

// The random stream of item `stream` (e.g. input line number) under `seed`: a splitmix64 mix of both.
rng sampling_stream(std::uint64_t seed, std::uint64_t stream);

// Reusable buffers of sampling_distribution, so the decoding loop does not allocate per token.
struct sampling_scratch {
  std::vector<std::int32_t> order;
};

// The distribution to sample from for one row of next-token log-probs [V]: temperature, then
// top-k, then top-p over the renormalised result. Writes the kept tokens, most probable first
// (ties: lower id first) — unless no truncation applies, then all V in id order — and their
// probabilities, which sum to 1. Throws attn::error for a temperature < 0, top_p outside (0, 1].
void sampling_distribution(const float* log_probs, std::size_t V, const sampling_config& cfg,
                           std::vector<std::int32_t>& tokens, std::vector<float>& probs, sampling_scratch& scratch);

// The token whose cumulative-probability interval holds u in [0, 1) (the last one if rounding
// leaves u beyond the total).
std::int32_t pick_token(const std::vector<std::int32_t>& tokens, const std::vector<float>& probs, double u);

// Samples each item's continuation, as greedy_decode does with the argmax: stops at <eos> or after
// max_len tokens; returns the tokens without <bos>/<eos>. streams [B]: the random stream id of each
// item (see sampling_stream). alignments (optional): as greedy_decode's.
std::vector<std::vector<std::int32_t>> sample_decode(model& m, tape& t, const batch& b, std::size_t max_len,
                                                     const sampling_config& cfg,
                                                     const std::vector<std::uint64_t>& streams,
                                                     std::int32_t start_token = bos_id,
                                                     std::vector<soft_alignment>* alignments = nullptr);

}  // namespace attn
