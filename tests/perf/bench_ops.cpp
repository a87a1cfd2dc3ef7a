// Rough timings of the heavier ops at transformer-block sizes (B=16, T=128, d=256, 4 heads):
// attention forward+backward against the time of its GEMMs alone, and the throughput of
// layer_norm, gelu and softmax_cross_entropy.
// Usage: attn_bench_ops [threads [cpu]]  (threads 0 = all cores; "cpu": report process CPU time
// instead of wall time, useful with 1 thread on a machine shared with other jobs)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "core/blas.h"
#include "core/init.h"
#include "core/ops.h"
#include "core/threads.h"
#include "timing.h"

using namespace attn;

namespace {

bool use_cpu_time = false;

template <class F>
double time_call(F f, int min_runs = 5) {
  return bench::time_call(f, use_cpu_time, min_runs, 1.0);
}
using bench::backward_with;

matrix random(std::size_t r, std::size_t c, rng& gen) {
  matrix m = matrix::from_shape({r, c});
  init_normal(m, gen, 1.0f);
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  set_threads(argc > 1 ? std::atoi(argv[1]) : 0);
  use_cpu_time = argc > 2 && std::string(argv[2]) == "cpu";
  rng gen(1);
  const std::size_t B = 16, T = 128, d = 256, H = 4, dh = d / H, N = B * T;
  std::printf("%s; threads %d; B=%zu T=%zu d=%zu heads=%zu\n", use_cpu_time ? "CPU time" : "wall time", threads(), B, T,
              d, H);

  parameter_store ps;
  for (const char* n : {"q", "k", "v"}) init_normal(ps.add(n, N, d).value, gen, 1.0f);
  const matrix R = random(N, d, gen);
  tape t;

  for (bool causal : {false, true}) {
    const attention_shape s{B, T, T, H, causal, {}};
    auto fwd = [&] {
      t.reset();
      no_grad g(t);
      attention(t.param(ps.at("q")), t.param(ps.at("k")), t.param(ps.at("v")), s, scoring::scaled_dot);
    };
    auto fwd_bwd = [&] {
      t.reset();
      ps.zero_grad();
      var o = attention(t.param(ps.at("q")), t.param(ps.at("k")), t.param(ps.at("v")), s, scoring::scaled_dot);
      backward_with(t, o, R);
    };
    // The same 6 GEMMs per (batch, head) with the same pointers, strides and threading.
    std::vector<float> P(B * H * T * T), G(static_cast<std::size_t>(threads()) * T * T);
    const float* Q = ps.at("q").value.data();
    const float* K = ps.at("k").value.data();
    const float* V = ps.at("v").value.data();
    std::vector<float> O(N * d), dQ(N * d), dK(N * d), dV(N * d);
    auto gemms = [&] {
      parallel_for(B * H, 1, [&](std::size_t first, std::size_t last) {
        float* g = G.data() + static_cast<std::size_t>(thread_index()) * T * T;
        for (std::size_t bh = first; bh < last; ++bh) {
          const std::size_t b = bh / H, h = bh % H, off = b * T * d + h * dh;
          float* p = P.data() + bh * T * T;
          gemm(false, true, T, T, dh, 0.125f, Q + off, d, K + off, d, 0.0f, p, T);
          gemm(false, false, T, dh, T, 1.0f, p, T, V + off, d, 0.0f, O.data() + off, d);
          gemm(true, false, T, dh, T, 1.0f, p, T, O.data() + off, d, 1.0f, dV.data() + off, d);
          gemm(false, true, T, T, dh, 1.0f, O.data() + off, d, V + off, d, 0.0f, g, T);
          gemm(false, false, T, dh, T, 0.125f, g, T, K + off, d, 1.0f, dQ.data() + off, d);
          gemm(true, false, T, dh, T, 0.125f, g, T, Q + off, d, 1.0f, dK.data() + off, d);
        }
      });
    };
    const double tf = time_call(fwd), tfb = time_call(fwd_bwd), tg = time_call(gemms);
    const double flops = 6.0 * 2.0 * B * H * T * T * dh;
    std::printf(
        "attention%-7s fwd %6.2f ms | fwd+bwd %6.2f ms (%5.1f GFLOP/s) | its 6 GEMMs alone %6.2f ms -> GEMM share "
        "%3.0f%%\n",
        causal ? " causal" : "", tf * 1e3, tfb * 1e3, flops / tfb * 1e-9, tg * 1e3, 100.0 * tg / tfb);
  }

  {
    parameter_store ps;  // one store per benchmark: zero_grad() touches only its own tensors
    auto& x = ps.add("ln.x", N, d);
    init_normal(x.value, gen, 1.0f);
    auto& g = ps.add("ln.g", 1, d);
    auto& b = ps.add("ln.b", 1, d);
    init_normal(g.value, gen, 1.0f);
    const double tfb = time_call([&] {
      t.reset();
      ps.zero_grad();
      backward_with(t, layer_norm(t.param(x), t.param(g), t.param(b)), R);
    });
    std::printf("layer_norm [%zu,%zu] fwd+bwd %6.3f ms  (%6.0f Melem/s)\n", N, d, tfb * 1e3, N * d / tfb * 1e-6);
  }
  {
    const std::size_t F = 4 * d;
    parameter_store ps;
    auto& x = ps.add("gelu.x", N, F);
    init_normal(x.value, gen, 1.0f);
    const matrix RF = random(N, F, gen);
    const double tfb = time_call([&] {
      t.reset();
      ps.zero_grad();
      backward_with(t, gelu(t.param(x)), RF);
    });
    std::printf("gelu [%zu,%zu] fwd+bwd %6.3f ms  (%6.0f Melem/s)\n", N, F, tfb * 1e3, N * F / tfb * 1e-6);
  }
  {
    const std::size_t Vocab = 8000;
    parameter_store ps;
    auto& x = ps.add("ce.x", N, Vocab);
    init_normal(x.value, gen, 1.0f);
    std::vector<std::int32_t> targets(N);
    for (auto& y : targets) y = static_cast<std::int32_t>(gen.below(Vocab));
    for (std::size_t i = 0; i < N; i += 7) targets[i] = 0;  // some padding
    const double tfb = time_call([&] {
      t.reset();
      ps.zero_grad();
      t.backward(softmax_cross_entropy(t.param(x), targets, 0, 0.1f));
    });
    std::printf("softmax_cross_entropy [%zu,%zu] fwd+bwd %6.2f ms  (%6.0f Melem/s)\n", N, Vocab, tfb * 1e3,
                N * Vocab / tfb * 1e-6);
  }
  return 0;
}
