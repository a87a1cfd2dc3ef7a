#pragma once
// The run's random generator: one per run, seeded from --seed, its state saved in checkpoints
// so that a resumed run draws the same numbers as an uninterrupted one.
#include <cstdint>
#include <random>
#include <string>

namespace attn {

class rng {
 public:
  explicit rng(std::uint64_t seed = 0) : engine_(seed) {}
  float uniform(float lo = 0.0f, float hi = 1.0f);   // [lo, hi)
  float normal(float mean = 0.0f, float std = 1.0f);
  std::uint64_t next_u64() { return engine_(); }
  std::uint64_t below(std::uint64_t n);              // uniform integer in [0, n)
  std::mt19937_64& engine() { return engine_; }

  std::string state() const;                          // serialisable text form of the full state
  void set_state(const std::string& s);               // throws attn::error on malformed state
 private:
  std::mt19937_64 engine_;
};

}  // namespace attn
