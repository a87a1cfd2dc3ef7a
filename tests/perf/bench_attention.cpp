// Tiled (flash) attention against the untiled path at 2,048 tokens per batch and growing context
// (d=256, 4 heads, causal): forward+backward time of each, and a decoding-like forward (one query
// against a cache), and a beam search's step over a paged KV cache (K and V read, GB/s). For choosing
// flash_attention_pays() and the tile sizes.
// Usage: attn_bench_attention [threads [q_rows k_cols [cpu]]]  (threads 0 = all cores; "cpu":
// process CPU time instead of wall time)
//        attn_bench_attention paged [threads]  (only the beam search's step, default 2 threads)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "core/attention_layout.h"
#include "core/flash_attention.h"
#include "core/init.h"
#include "core/ops.h"
#include "core/threads.h"
#include "timing.h"

using namespace attn;

namespace {

bool use_cpu_time = false;

template <class F>
double time_call(F f, int min_runs = 5) {
  return bench::time_call(f, use_cpu_time, min_runs, 0.5);
}
using bench::backward_with;

// A beam search's step: 320 hypotheses (64 sentences x 5 beams), one query each, against a paged
// KV cache (pages of 16 rows) of Tk positions, its K/V in f32 and in f16: the time and the rate at
// which keys and values are read (the bytes of every hypothesis's keys and values, shared pages
// counted for each reader). Layouts: "own", each hypothesis its own pages, one after the other in
// memory; "scattered", the same pages in a random order in memory (as a cache's pages end up after
// a search's reorders and copies); "shared", the 5 beams of a sentence share every page but their
// last, as in a beam search whose beams have a common prefix.
void paged_steps(std::size_t d, std::size_t H, rng& gen) {
  for (const char* layout : {"own", "scattered", "shared"})
    for (const std::size_t Tk : {64, 128, 256}) {
      const bool shared = std::string(layout) == "shared";
      const std::size_t S = 64, beams = 5, B = S * beams, P = 16, n = (Tk + P - 1) / P;
      attention_shape s{B, 1, Tk, H, false, {}};
      s.k_item_rows = P;
      std::int32_t pages = 0;
      for (std::size_t i = 0; i < S; ++i) {
        const std::int32_t common = pages;  // sentence i's first n-1 pages when shared
        if (shared) pages += static_cast<std::int32_t>(n - 1);
        for (std::size_t b = 0; b < beams; ++b)
          for (std::size_t p = 0; p < n; ++p)
            s.k_items.push_back(shared && p + 1 < n ? common + static_cast<std::int32_t>(p) : pages++);
      }
      if (std::string(layout) == "scattered") {  // page i -> a random place
        std::vector<std::int32_t> place(static_cast<std::size_t>(pages));
        for (std::size_t i = 0; i < place.size(); ++i) place[i] = static_cast<std::int32_t>(i);
        for (std::size_t i = place.size(); i > 1; --i)
          std::swap(place[i - 1], place[static_cast<std::size_t>(gen.next_u64() % i)]);
        for (std::int32_t& p : s.k_items) p = place[static_cast<std::size_t>(p)];
      }
      parameter_store ps;
      init_normal(ps.add("q", B, d).value, gen, 1.0f);
      init_normal(ps.add("k", static_cast<std::size_t>(pages) * P, d).value, gen, 1.0f);
      init_normal(ps.add("v", static_cast<std::size_t>(pages) * P, d).value, gen, 1.0f);
      half_matrix kh = half_matrix::from_shape({static_cast<std::size_t>(pages) * P, d}), vh = kh;
      to_half(ps.at("k").value.data(), kh.data(), kh.size());
      to_half(ps.at("v").value.data(), vh.data(), vh.size());
      tape t;
      for (const bool half : {false, true}) {
        const double secs = time_call([&] {
          t.reset();
          no_grad g(t);
          var q = t.param(ps.at("q"));
          if (half)
            attention(q, kh, vh, s, scoring::scaled_dot);
          else
            attention(q, t.param(ps.at("k")), t.param(ps.at("v")), s, scoring::scaled_dot);
        });
        const double bytes = 2.0 * static_cast<double>(B * Tk * d) * (half ? 2 : 4);
        std::printf("decode paged %-9s %s B=%zu Tk=%3zu  %7.3f ms  K and V read at %5.1f GB/s\n", layout,
                    half ? "f16" : "f32", B, Tk, secs * 1e3, bytes / secs / 1e9);
      }
    }
}

void paged_steps(std::size_t d, std::size_t H, rng& gen);

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "paged") {
    set_threads(argc > 2 ? std::atoi(argv[2]) : 2);
    std::printf("wall time; threads %d\n", threads());
    rng gen(1);
    paged_steps(256, 4, gen);
    return 0;
  }
  set_threads(argc > 1 ? std::atoi(argv[1]) : 0);
  flash_tiles tiles;
  if (argc > 3) tiles = {static_cast<std::size_t>(std::atoi(argv[2])), static_cast<std::size_t>(std::atoi(argv[3]))};
  use_cpu_time = argc > 4 && std::string(argv[4]) == "cpu";
  const std::size_t d = 256, H = 4, tokens = 2048;
  std::printf("%s; threads %d; tiles %zu x %zu; d=%zu heads=%zu causal, %zu tokens per batch\n",
              use_cpu_time ? "CPU time" : "wall time", threads(), tiles.q_rows, tiles.k_cols, d, H, tokens);
  rng gen(1);
  for (const std::size_t T : {64, 128, 256, 512, 1024}) {
    const std::size_t B = tokens / T, N = B * T;
    parameter_store ps;
    for (const char* n : {"q", "k", "v"}) init_normal(ps.add(n, N, d).value, gen, 1.0f);
    matrix R = matrix::from_shape({N, d});
    init_normal(R, gen, 1.0f);
    const attention_shape s{B, T, T, H, true, {}};
    tape t;
    auto step = [&](bool tiled) {
      t.reset();
      ps.zero_grad();
      var q = t.param(ps.at("q")), k = t.param(ps.at("k")), v = t.param(ps.at("v"));
      var o = tiled ? flash_attention(q, k, v, s, scoring::scaled_dot, tiles)
                    : detail::untiled_attention(q, k, v, s, scoring::scaled_dot, nullptr);
      backward_with(t, o, R);
    };
    const double untiled = time_call([&] { step(false); }), tiled = time_call([&] { step(true); });
    std::printf("T=%4zu B=%2zu fwd+bwd  untiled %7.2f ms  tiled %7.2f ms  tiled/untiled %.2f\n", T, B, untiled * 1e3,
                tiled * 1e3, tiled / untiled);
  }
  // Decoding: one query per sentence against a cache of Tk keys, 64 sentences, no tape.
  for (const std::size_t Tk : {16, 64, 256}) {
    const std::size_t B = 64;
    parameter_store ps;
    init_normal(ps.add("q", B, d).value, gen, 1.0f);
    init_normal(ps.add("k", B * Tk, d).value, gen, 1.0f);
    init_normal(ps.add("v", B * Tk, d).value, gen, 1.0f);
    const attention_shape s{B, 1, Tk, H, true, {}};
    tape t;
    auto step = [&](bool tiled) {
      t.reset();
      no_grad g(t);
      var q = t.param(ps.at("q")), k = t.param(ps.at("k")), v = t.param(ps.at("v"));
      if (tiled)
        flash_attention(q, k, v, s, scoring::scaled_dot, tiles);
      else
        detail::untiled_attention(q, k, v, s, scoring::scaled_dot, nullptr);
    };
    const double untiled = time_call([&] { step(false); }), tiled = time_call([&] { step(true); });
    std::printf("decode Tq=1 Tk=%3zu B=%zu  untiled %7.3f ms  tiled %7.3f ms  tiled/untiled %.2f\n", Tk, B,
                untiled * 1e3, tiled * 1e3, tiled / untiled);
  }
  paged_steps(d, H, gen);
  return 0;
}
