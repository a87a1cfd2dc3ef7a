// GFLOP/s of attn::gemm (split across attn's threads, one single-threaded OpenBLAS call each)
// against raw cblas_sgemm with OpenBLAS's own threading, for square and transformer-shaped
// products, gemv (M = 1) against sgemm, and attention's small products (attn's own kernel)
// against single-threaded cblas_sgemm calls made from both threads at once.
// Usage: attn_bench_gemm [threads [cpu]]   (threads 0 = all cores; "cpu": time by process CPU
// time instead of wall time, which with 1 thread is robust to other jobs on the machine)
#include <algorithm>
#include <ctime>
#include <string>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "core/blas.h"
#include "core/rng.h"
#include "core/threads.h"

namespace {

bool use_cpu_time = false;

double now() {
  timespec ts;
  clock_gettime(use_cpu_time ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Fastest of 5 samples, in seconds per call, each sample timing enough calls to last >= 20 ms.
template <class F>
double time_call(F f) {
  f();
  int reps = 1;
  for (;;) {
    const double t0 = now();
    for (int i = 0; i < reps; ++i) f();
    if (now() - t0 > 0.02) break;
    reps *= 2;
  }
  double best = 1e30;
  for (int k = 0; k < 5; ++k) {
    const double t0 = now();
    for (int i = 0; i < reps; ++i) f();
    best = std::min(best, (now() - t0) / reps);
  }
  return best;
}

// Attention's per-(sentence, head) products on short sentences (T tokens, head size 64), 256
// independent products of each shape spread over the threads as attention spreads them: attn's
// gemm (its small-product kernel) against single-threaded cblas_sgemm calls. Both threads
// calling OpenBLAS at once contend for its buffer allocator's lock.
void small_products(attn::rng& gen) {
  constexpr std::size_t count = 256, dh = 64;
  std::printf("\nsmall products, %zu independent ones spread over %d thread(s) (attention, head size %zu):\n", count,
              attn::threads(), dh);
  std::printf("%-26s %6s %6s %6s %10s %10s %8s\n", "shape", "M", "N", "K", "attn", "cblas", "speed-up");
  struct shape {
    bool ta, tb;
    const char* what;
    bool scores;  // [T,T] = [T,64]·[64,T]; else [T,64] = [T,T]·[T,64]
  };
  const std::vector<shape> shapes{{false, true, "scores q·kᵀ, dP = dO·vᵀ", true},
                                  {false, false, "P·v, dQ = G·k", false},
                                  {true, false, "dV = Pᵀ·dO, dK = Gᵀ·q", false}};
  for (std::size_t T : {8, 20, 40, 64}) {
    for (const shape& s : shapes) {
      const std::size_t M = T, N = s.scores ? T : dh, K = s.scores ? dh : T;
      const std::size_t lda = s.ta ? M : K, ldb = s.tb ? K : N;
      std::vector<float> A(count * M * K), B(count * K * N), C(count * M * N);
      for (float& x : A) x = gen.normal();
      for (float& x : B) x = gen.normal();
      auto run = [&](bool own) {
        attn::parallel_for(count, 1, [&](std::size_t b, std::size_t e) {
          for (std::size_t i = b; i < e; ++i) {
            const float *a = A.data() + i * M * K, *bb = B.data() + i * K * N;
            float* c = C.data() + i * M * N;
            if (own)
              attn::gemm(s.ta, s.tb, M, N, K, 1.0f, a, lda, bb, ldb, 0.0f, c, N);
            else
              attn::cblas_sgemm_one_thread(s.ta, s.tb, M, N, K, 1.0f, a, lda, bb, ldb, 0.0f, c, N);
          }
        });
      };
      double to = 1e30, tc = 1e30;
      for (int round = 0; round < 5; ++round) {
        to = std::min(to, time_call([&] { run(true); }));
        tc = std::min(tc, time_call([&] { run(false); }));
      }
      const double flops = 2.0 * static_cast<double>(count * M * N * K);
      std::printf("%-26s %6zu %6zu %6zu %8.1f GF %7.1f GF %7.2fx\n", s.what, M, N, K, flops / to * 1e-9,
                  flops / tc * 1e-9, tc / to);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  attn::set_threads(argc > 1 ? std::atoi(argv[1]) : 0);
  use_cpu_time = argc > 2 && std::string(argv[2]) == "cpu";
  attn::rng gen(1);
  struct shape {
    std::size_t M, N, K;
    bool ta, tb;
    const char* what;
  };
  const std::vector<shape> shapes{
      {64, 64, 64, false, false, "square 64"},          {128, 128, 128, false, false, "square 128"},
      {256, 256, 256, false, false, "square 256"},      {512, 512, 512, false, false, "square 512"},
      {1024, 1024, 1024, false, false, "square 1024"},  {2048, 768, 256, false, false, "QKV proj x·W (B*T=2048,d=256)"},
      {2048, 1024, 256, false, false, "FFN up"},        {2048, 256, 1024, false, true, "FFN dx = dy·Wᵀ"},
      {1024, 256, 2048, true, false, "FFN dW = xᵀ·dy"}, {128, 128, 64, false, true, "attn scores q·kᵀ (T=128,dh=64)"},
      {128, 64, 128, false, false, "attn P·v"},
  };
  std::printf("%s; threads %d\n", use_cpu_time ? "CPU time" : "wall time", attn::threads());
  std::printf("%-34s %6s %6s %6s %10s %10s %7s\n", "shape", "M", "N", "K", "wrapper", "cblas", "ratio");
  for (const shape& s : shapes) {
    const std::size_t lda = s.ta ? s.M : s.K, ldb = s.tb ? s.K : s.N;
    std::vector<float> A(s.M * s.K), B(s.K * s.N), C(s.M * s.N);
    for (float& x : A) x = gen.normal();
    for (float& x : B) x = gen.normal();
    const double flops = 2.0 * s.M * s.N * s.K;
    // Interleave wrapper and raw runs to cancel clock/thermal drift.
    double tw = 1e30, tc = 1e30;
    for (int round = 0; round < 5; ++round) {
      tw = std::min(tw, time_call([&] {
                      attn::gemm(s.ta, s.tb, s.M, s.N, s.K, 1.0f, A.data(), lda, B.data(), ldb, 0.0f, C.data(), s.N);
                    }));
      tc = std::min(tc, time_call([&] {
                      attn::cblas_sgemm_raw(s.ta, s.tb, s.M, s.N, s.K, 1.0f, A.data(), lda, B.data(), ldb, 0.0f,
                                            C.data(), s.N);
                    }));
    }
    std::printf("%-34s %6zu %6zu %6zu %8.1f GF %7.1f GF %6.1f%%\n", s.what, s.M, s.N, s.K, flops / tw * 1e-9,
                flops / tc * 1e-9, 100.0 * tc / tw);
  }
  // M = 1: the wrapper dispatches to sgemv.
  for (std::size_t n : {256, 1024, 4096}) {
    std::vector<float> x(n), W(n * n), y(n);
    for (float& v : x) v = gen.normal();
    for (float& v : W) v = gen.normal();
    const double flops = 2.0 * n * n;
    double tw =
        time_call([&] { attn::gemm(false, false, 1, n, n, 1.0f, x.data(), n, W.data(), n, 0.0f, y.data(), n); });
    double tc = time_call(
        [&] { attn::cblas_sgemm_raw(false, false, 1, n, n, 1.0f, x.data(), n, W.data(), n, 0.0f, y.data(), n); });
    std::printf("%-34s %6d %6zu %6zu %8.1f GF %7.1f GF %6.1f%%  (gemv vs sgemm)\n", "vector·matrix (M=1)", 1, n, n,
                flops / tw * 1e-9, flops / tc * 1e-9, 100.0 * tc / tw);
  }
  small_products(gen);
  return 0;
}
