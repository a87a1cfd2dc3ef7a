#pragma once
// Groups examples into batches: by token budget with length bucketing (like fairseq/Marian),
// or by a fixed sentence count. The order is a pure function of (seed, epoch), so a run resumed
// at (epoch, batch index) sees exactly the batches an uninterrupted run would.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace attn {

struct batching_config {
  std::size_t batch_tokens = 0;   // > 0: batches hold at most this many padded tokens
  std::size_t batch_size = 32;    // used when batch_tokens == 0: sentences per batch
  std::size_t bucket_batches = 50;  // examples are length-sorted within windows of this many batches
  bool shuffle = true;            // false: keep file order (validation, decoding)
};

// lengths[i] = padded-cost length of example i (e.g. max(source, target) tokens).
// Returns batches of example indices; every example appears in exactly one batch.
std::vector<std::vector<std::size_t>> make_batches(const std::vector<std::size_t>& lengths,
                                                   const batching_config& cfg, std::uint64_t seed,
                                                   std::uint64_t epoch);

}  // namespace attn
