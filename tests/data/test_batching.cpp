#include <doctest/doctest.h>

#include <algorithm>

#include "core/rng.h"
#include "data/batching.h"

using attn::batching_config;
using attn::make_batches;

namespace {
std::vector<std::size_t> random_lengths(std::size_t n, std::uint64_t seed) {
  attn::rng r(seed);
  std::vector<std::size_t> out(n);
  for (auto& l : out) l = 1 + r.below(60);
  return out;
}
}  // namespace

TEST_CASE("every example lands in exactly one batch, within the token budget") {
  auto lengths = random_lengths(1000, 7);
  batching_config cfg;
  cfg.batch_tokens = 400;
  auto batches = make_batches(lengths, cfg, 1, 0);
  std::vector<int> seen(lengths.size(), 0);
  for (const auto& b : batches) {
    REQUIRE(!b.empty());
    std::size_t mx = 0;
    for (auto i : b) {
      seen[i]++;
      mx = std::max(mx, lengths[i]);
    }
    CHECK(mx * b.size() <= 400);
  }
  for (int s : seen) CHECK(s == 1);
}

TEST_CASE("an example longer than the budget still gets a batch of its own") {
  std::vector<std::size_t> lengths = {10, 500, 10};
  batching_config cfg;
  cfg.batch_tokens = 100;
  auto batches = make_batches(lengths, cfg, 1, 0);
  std::size_t total = 0;
  for (const auto& b : batches) total += b.size();
  CHECK(total == 3);
  bool alone = false;
  for (const auto& b : batches) alone |= (b.size() == 1 && b[0] == 1);
  CHECK(alone);
}

TEST_CASE("the order is a function of seed and epoch only") {
  auto lengths = random_lengths(500, 3);
  batching_config cfg;
  cfg.batch_size = 16;
  CHECK(make_batches(lengths, cfg, 5, 2) == make_batches(lengths, cfg, 5, 2));
  CHECK(make_batches(lengths, cfg, 5, 2) != make_batches(lengths, cfg, 5, 3));
  CHECK(make_batches(lengths, cfg, 5, 2) != make_batches(lengths, cfg, 6, 2));
}

TEST_CASE("without shuffling, batches keep file order") {
  std::vector<std::size_t> lengths(10, 5);
  batching_config cfg;
  cfg.batch_size = 4;
  cfg.shuffle = false;
  auto batches = make_batches(lengths, cfg, 1, 0);
  REQUIRE(batches.size() == 3);
  CHECK(batches[0] == std::vector<std::size_t>{0, 1, 2, 3});
  CHECK(batches[2] == std::vector<std::size_t>{8, 9});
}

TEST_CASE("bucketing reduces padding compared with file order") {
  auto lengths = random_lengths(2000, 11);
  auto padded = [&](const std::vector<std::vector<std::size_t>>& bs) {
    std::size_t cost = 0;
    for (const auto& b : bs) {
      std::size_t mx = 0;
      for (auto i : b) mx = std::max(mx, lengths[i]);
      cost += mx * b.size();
    }
    return cost;
  };
  batching_config bucketed;
  bucketed.batch_size = 32;
  batching_config plain = bucketed;
  plain.shuffle = false;
  CHECK(padded(make_batches(lengths, bucketed, 1, 0)) < 0.8 * padded(make_batches(lengths, plain, 1, 0)));
}

TEST_CASE("global_batching multiplies the budget in use; split_batch deals a batch round-robin") {
  attn::batching_config tokens;
  tokens.batch_tokens = 1000;
  tokens.batch_size = 32;
  CHECK(attn::global_batching(tokens, 4).batch_tokens == 4000);
  CHECK(attn::global_batching(tokens, 4).batch_size == 32);
  attn::batching_config sentences;
  sentences.batch_tokens = 0;
  sentences.batch_size = 16;
  CHECK(attn::global_batching(sentences, 3).batch_size == 48);
  CHECK(attn::global_batching(sentences, 0).batch_size == 16);

  const std::vector<std::size_t> b = {10, 11, 12, 13, 14};
  const auto parts = attn::split_batch(b, 2);
  REQUIRE(parts.size() == 2);
  CHECK(parts[0] == std::vector<std::size_t>{10, 12, 14});
  CHECK(parts[1] == std::vector<std::size_t>{11, 13});
  const auto many = attn::split_batch({7}, 3);  // fewer examples than shards: empty parts
  CHECK(many[0] == std::vector<std::size_t>{7});
  CHECK(many[1].empty());
  CHECK(many[2].empty());
}
