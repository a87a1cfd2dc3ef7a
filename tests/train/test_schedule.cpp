#include <doctest/doctest.h>

#include <cmath>

#include "core/error.h"
#include "train/schedule.h"

using namespace attn;

namespace {
schedule_config sched(const char* kind, float lr, std::int64_t warmup, std::int64_t total = 0, float min_lr = 0) {
  schedule_config c;
  c.kind = kind, c.lr = lr, c.warmup = warmup, c.total = total, c.min_lr = min_lr;
  schedule_check(c);
  return c;
}
}  // namespace

TEST_CASE("constant schedule, with and without warmup") {
  auto c = sched("constant", 0.5f, 0);
  CHECK(schedule_lr(c, 0) == 0.5f);
  CHECK(schedule_lr(c, 1) == 0.5f);
  CHECK(schedule_lr(c, 100000) == 0.5f);
  auto w = sched("constant", 0.5f, 10);
  CHECK(schedule_lr(w, 0) == 0.0f);
  CHECK(schedule_lr(w, 1) == doctest::Approx(0.05));
  CHECK(schedule_lr(w, 5) == doctest::Approx(0.25));
  CHECK(schedule_lr(w, 10) == 0.5f);
  CHECK(schedule_lr(w, 11) == 0.5f);
}

TEST_CASE("noam: linear warmup to the peak, then inverse square root") {
  auto c = sched("noam", 1e-3f, 100);
  CHECK(schedule_lr(c, 0) == 0.0f);
  CHECK(schedule_lr(c, 1) == doctest::Approx(1e-5));
  CHECK(schedule_lr(c, 50) == doctest::Approx(5e-4));
  CHECK(schedule_lr(c, 100) == doctest::Approx(1e-3));  // the peak, at step == warmup
  CHECK(schedule_lr(c, 400) == doctest::Approx(5e-4));  // sqrt(100/400) = 1/2
  CHECK(schedule_lr(c, 10000) == doctest::Approx(1e-4));
}

TEST_CASE("noam's d_model form is the same curve with lr = noam_peak_lr(...)") {
  const double factor = 2.0, d_model = 512, warmup = 4000;
  auto c = sched("noam", noam_peak_lr(2.0f, 512, 4000), 4000);
  for (std::int64_t s : {1, 10, 1000, 3999, 4000, 4001, 20000, 1000000}) {
    CAPTURE(s);
    double vaswani = factor / std::sqrt(d_model) * std::min(1.0 / std::sqrt(double(s)), double(s) * std::pow(warmup, -1.5));
    CHECK(schedule_lr(c, s) == doctest::Approx(vaswani).epsilon(1e-6));
  }
}

TEST_CASE("cosine: warmup, half a cosine down to min_lr, then flat") {
  auto c = sched("cosine", 1.0f, 10, 110, 0.1f);
  CHECK(schedule_lr(c, 0) == 0.0f);
  CHECK(schedule_lr(c, 5) == doctest::Approx(0.5));
  CHECK(schedule_lr(c, 10) == doctest::Approx(1.0));
  CHECK(schedule_lr(c, 60) == doctest::Approx(0.55));  // halfway: (1 + 0.1) / 2
  CHECK(schedule_lr(c, 35) == doctest::Approx(0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI / 4))));
  CHECK(schedule_lr(c, 110) == doctest::Approx(0.1));
  CHECK(schedule_lr(c, 5000) == doctest::Approx(0.1));
  auto z = sched("cosine", 2.0f, 0, 100);
  CHECK(schedule_lr(z, 100) == doctest::Approx(0.0));
  CHECK(schedule_lr(z, 50) == doctest::Approx(1.0));
}

TEST_CASE("schedule settings are checked and survive a trip through text") {
  schedule_config c;
  c.kind = "noam";
  CHECK_THROWS_WITH_AS(schedule_check(c), doctest::Contains("warmup >= 1"), error);
  c.kind = "cosine";
  c.total = 0;
  CHECK_THROWS_WITH_AS(schedule_check(c), doctest::Contains("total"), error);
  c.kind = "step";
  CHECK_THROWS_WITH_AS(schedule_check(c), doctest::Contains("known: constant, noam, cosine"), error);
  c.kind = "constant";
  c.lr = -1;
  CHECK_THROWS_AS(schedule_check(c), error);

  auto s = sched("cosine", 7e-4f, 1234, 98765, 1.0f / 3e5f);
  auto r = schedule_config_from_map(schedule_config_to_map(s));
  CHECK(r.kind == s.kind);
  CHECK(r.lr == s.lr);
  CHECK(r.warmup == s.warmup);
  CHECK(r.total == s.total);
  CHECK(r.min_lr == s.min_lr);
  CHECK_THROWS_WITH_AS(schedule_config_from_map({{"warmup", "1e3"}}), doctest::Contains("warmup"), error);
  CHECK_THROWS_AS(schedule_config_from_map({{"decay", "1"}}), error);
  CHECK(schedule_kinds().size() == 3);
}
