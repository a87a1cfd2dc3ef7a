#pragma once
// Groups examples into batches: by token budget with length bucketing (like fairseq/Marian),
// or by a fixed sentence count. The order is a pure function of (seed, epoch), so a run resumed
// at (epoch, batch index) sees exactly the batches an uninterrupted run would.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/config_fields.h"

namespace attn {

struct batching_config {
  std::size_t batch_tokens = 0;   // > 0: batches hold at most this many padded tokens
  std::size_t batch_size = 32;    // used when batch_tokens == 0: sentences per batch
  std::size_t bucket_batches = 50;  // examples are length-sorted within windows of this many batches
  bool shuffle = true;            // false: keep file order (validation, decoding)
};

// Every field once (lib/core/config_fields.h): attn train's batching options come from it. The
// training command line batches by tokens (4096) unless --batch-size is given; decoding and
// validation keep the struct's 32 sentences.
template <class F>
void visit_fields(batching_config& c, F&& f) {
  f("batch_tokens", c.batch_tokens, field_about("padded tokens per batch (length-bucketed)").command_line_default("4096"));
  f("batch_size", c.batch_size,
    field_about("sentences (examples) per batch instead of --batch-tokens (0: use --batch-tokens)")
        .command_line_default("0"));
  f("bucket_batches", c.bucket_batches, field_about("length-sorting window, in batches").not_an_option());
  f("shuffle", c.shuffle, field_about("shuffle the batches each epoch").not_an_option());
}

// lengths[i] = padded-cost length of example i (e.g. max(source, target) tokens).
// Returns batches of example indices; every example appears in exactly one batch.
std::vector<std::vector<std::size_t>> make_batches(const std::vector<std::size_t>& lengths,
                                                   const batching_config& cfg, std::uint64_t seed,
                                                   std::uint64_t epoch);

// Data parallelism and gradient accumulation (lib/train/loop.h): one update's global batch is
// made with the per-process budget times `shards` (processes × accumulation steps), so the
// order depends on the seed and the global batch only; it is then dealt into `shards` parts.

// cfg with its budget (batch_tokens, or batch_size when that is what it uses) times shards.
batching_config global_batching(batching_config cfg, std::size_t shards);

// Deals a batch into `shards` parts round-robin: part k holds batch[k], batch[k + shards], ...
// Batches are length-sorted, so every part gets a like share of short and long examples. Parts
// are empty when the batch has fewer examples than shards.
std::vector<std::vector<std::size_t>> split_batch(const std::vector<std::size_t>& batch, std::size_t shards);

}  // namespace attn
