// Forward+backward time of one Transformer block as the LM uses it: pre-LN, d=256, 4 heads,
// ff=1024, GELU, causal self-attention, batch 16 x 128 tokens, no dropout (the PyTorch reference
// Block in bench_block.py has none). The loss is Σ y ⊙ R with a fixed random R, so backward
// gets a dense output gradient; the input x is trainable too (as inside a stack of blocks).
// Usage: attn_bench_block [iters] [threads]   Prints "attn_block_ms <ms per iteration>".
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "core/init.h"
#include "core/ops.h"
#include "core/threads.h"
#include "nn/encoder_layer.h"

using namespace attn;

int main(int argc, char** argv) {
  const int iters = argc > 1 ? std::atoi(argv[1]) : 20;
  set_threads(argc > 2 ? std::atoi(argv[2]) : 2);
  const std::size_t B = 16, T = 128, D = 256;

  rng gen(0);
  parameter_store store;
  nn::block_config cfg;
  cfg.d_model = D;
  cfg.heads = 4;
  cfg.d_ff = 1024;
  cfg.act = nn::activation::gelu;
  cfg.dropout = 0.0f;
  cfg.norm = nn::norm_position::pre;
  cfg.causal = true;
  nn::encoder_layer block(store, "block", cfg, gen);
  parameter& x = store.add("x", B * T, D);
  init_normal(x.value, gen, 1.0f);
  matrix r = matrix::from_shape({B * T, D});
  init_normal(r, gen, 1.0f);
  matrix ones_n = matrix::from_shape({1, B * T}), ones_d = matrix::from_shape({D, 1});
  ones_n.fill(1.0f);
  ones_d.fill(1.0f);

  tape t;
  auto step = [&] {
    t.reset();
    store.zero_grad();
    var y = block.forward(t.param(x), B, T, {}, gen);
    var loss = matmul(matmul(t.constant(ones_n), mul(y, t.constant(r))), t.constant(ones_d));
    t.backward(loss);
  };
  for (int i = 0; i < 3; ++i) step();  // warm-up: buffers sized, pools started
  const std::size_t warm_allocations = t.allocations();
  std::vector<double> ms;
  for (int i = 0; i < iters; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    step();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  const double median = ms[ms.size() / 2];
  // FLOPs of forward (dense layers 2·N·(3d² + d² + 2·d·ff), attention 2·2·B·T²·d counting the full
  // score matrix) times 3 for forward + backward.
  const double N = static_cast<double>(B * T), d = static_cast<double>(D), ff = 1024.0;
  const double flops = 3.0 * (2.0 * N * (4.0 * d * d + 2.0 * d * ff) + 4.0 * B * static_cast<double>(T) * T * d);
  std::printf("attn_block_ms %.2f (min %.2f) GFLOP/s %.1f threads %d tape allocations/iter %.1f\n", median, ms.front(),
              flops / (median * 1e6), threads(), static_cast<double>(t.allocations() - warm_allocations) / iters);
  return 0;
}
