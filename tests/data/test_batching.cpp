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
