#include "core/rng.h"

#include <cmath>
#include <sstream>

#include "core/error.h"

namespace attn {

float rng::uniform(float lo, float hi) {
  // 24 random bits -> a float in [0, 1) with every value exactly representable.
  float u = static_cast<float>(engine_() >> 40) * (1.0f / 16777216.0f);
  return lo + (hi - lo) * u;
}

float rng::normal(float mean, float std) {
  // Box-Muller without a cached second value, so the state is the engine's state alone.
  double u1 = (static_cast<double>(engine_() >> 11) + 1.0) * (1.0 / 9007199254740993.0);
  double u2 = static_cast<double>(engine_() >> 11) * (1.0 / 9007199254740992.0);
  double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  return mean + std * static_cast<float>(z);
}

std::uint64_t rng::below(std::uint64_t n) {
  if (n == 0) return 0;
  // Rejection sampling: unbiased, and deterministic across platforms (unlike std distributions).
  std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  std::uint64_t x;
  do x = engine_();
  while (x >= limit);
  return x % n;
}

std::string rng::state() const {
  std::ostringstream out;
  out << engine_;
  return out.str();
}

void rng::set_state(const std::string& s) {
  std::istringstream in(s);
  std::mt19937_64 e;
  in >> e;
  if (in.fail()) throw error("malformed random generator state");
  engine_ = e;
}

}  // namespace attn
