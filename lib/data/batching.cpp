#include "data/batching.h"

#include <algorithm>
#include <numeric>

#include "core/rng.h"

namespace attn {

namespace {

// Fisher-Yates with attn::rng so the order does not depend on the standard library's shuffle.
template <typename T>
void shuffle_in_place(std::vector<T>& v, rng& r) {
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[r.below(i)]);
}

std::uint64_t epoch_seed(std::uint64_t seed, std::uint64_t epoch) {
  // splitmix64 of (seed, epoch): neighbouring epochs get unrelated orders.
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (epoch + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

std::vector<std::vector<std::size_t>> make_batches(const std::vector<std::size_t>& lengths,
                                                   const batching_config& cfg, std::uint64_t seed,
                                                   std::uint64_t epoch) {
  std::vector<std::size_t> order(lengths.size());
  std::iota(order.begin(), order.end(), 0);
  rng r(epoch_seed(seed, epoch));
  if (cfg.shuffle) shuffle_in_place(order, r);

  const bool by_tokens = cfg.batch_tokens > 0;
  const std::size_t per_batch_guess =
      by_tokens ? std::max<std::size_t>(1, cfg.batch_tokens / 32) : std::max<std::size_t>(1, cfg.batch_size);
  const std::size_t window = cfg.shuffle ? per_batch_guess * std::max<std::size_t>(1, cfg.bucket_batches)
                                         : order.size();

  std::vector<std::vector<std::size_t>> batches;
  for (std::size_t begin = 0; begin < order.size(); begin += window) {
    const std::size_t end = std::min(order.size(), begin + window);
    if (cfg.shuffle)  // bucket: similar lengths together, so little padding
      std::stable_sort(order.begin() + begin, order.begin() + end,
                       [&](std::size_t a, std::size_t b) { return lengths[a] < lengths[b]; });
    std::vector<std::size_t> cur;
    std::size_t cur_max = 0;
    for (std::size_t i = begin; i < end; ++i) {
      const std::size_t idx = order[i];
      const std::size_t new_max = std::max(cur_max, lengths[idx]);
      const bool full = by_tokens ? (!cur.empty() && new_max * (cur.size() + 1) > cfg.batch_tokens)
                                  : cur.size() >= cfg.batch_size;
      if (full) {
        batches.push_back(std::move(cur));
        cur.clear();
        cur_max = 0;
      }
      cur.push_back(idx);
      cur_max = std::max(cur_max, lengths[idx]);
    }
    if (!cur.empty()) batches.push_back(std::move(cur));
  }
  if (cfg.shuffle) shuffle_in_place(batches, r);
  return batches;
}

batching_config global_batching(batching_config cfg, std::size_t shards) {
  shards = std::max<std::size_t>(shards, 1);
  if (cfg.batch_tokens > 0)
    cfg.batch_tokens *= shards;
  else
    cfg.batch_size *= shards;
  return cfg;
}

std::vector<std::vector<std::size_t>> split_batch(const std::vector<std::size_t>& batch, std::size_t shards) {
  shards = std::max<std::size_t>(shards, 1);
  std::vector<std::vector<std::size_t>> parts(shards);
  for (auto& p : parts) p.reserve(batch.size() / shards + 1);
  for (std::size_t i = 0; i < batch.size(); ++i) parts[i % shards].push_back(batch[i]);
  return parts;
}

}  // namespace attn
