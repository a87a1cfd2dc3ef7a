// Training speed and memory of LM-small as the context grows at a fixed number of tokens per
// batch: the attn side of tests/perf/bench_context.sh, measured like ../shared/anchors/torch_lm.py
// (d=256, 4 layers, 4 heads, ff=1024, vocabulary 4096, learned positions, untied output, no
// dropout, AdamW, random tokens; 3 warm-up steps, then the mean of `steps` timed steps).
// Usage: attn_bench_context [context] [batch] [steps] [threads]   (defaults 128 16 10 2)
// Prints one line: context, batch, step time, tokens/s, the last step's loss, the tape's memory
// by kind and the peak resident size.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "core/rng.h"
#include "core/tape.h"
#include "core/threads.h"
#include "data/batch.h"
#include "lm_small.h"
#include "models/model.h"
#include "train/optimizer.h"

using namespace attn;
using bench::mb;
using bench::status_mb;

namespace {

std::size_t arg(int argc, char** argv, int i, std::size_t fallback) {
  return argc > i ? static_cast<std::size_t>(std::atol(argv[i])) : fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t T = arg(argc, argv, 1, 128), B = arg(argc, argv, 2, 16), steps = arg(argc, argv, 3, 10), V = 4096;
  set_threads(static_cast<int>(arg(argc, argv, 4, 2)));
  if (T == 0 || B == 0 || steps == 0) {
    std::fprintf(stderr, "usage: attn_bench_context [context] [batch] [steps] [threads]\n");
    return 2;
  }

  const model_config c = bench::lm_small_config(T, V);
  rng gen(1);
  std::unique_ptr<model> m = make_model(c, gen);
  optimizer_config oc;
  oc.weight_decay = 0.01f;
  optimizer opt(oc);

  const batch b = bench::random_lm_batch(B, T, V, gen);

  tape t;
  parameter_store& ps = m->params();
  float loss = 0.0f;
  auto step = [&] {
    t.reset();
    ps.zero_grad();
    const loss_result r = m->loss(t, b, gen);
    t.backward(r.loss);
    opt.step(ps, 3e-4f);
    loss = r.loss.value()(0, 0);
  };
  for (int i = 0; i < 3; ++i) step();
  const auto t0 = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < steps; ++i) step();
  const double dt =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / static_cast<double>(steps);
  const tape::memory_use tm = t.memory();
  std::printf(
      "attn context %zu batch %zu threads %d: step %.0f ms tokens/s %.0f loss %.4f | activations %.1f MB, "
      "activation grads %.1f MB, pooled %.1f MB, op scratch %.1f MB, peak RSS %.1f MB\n",
      T, B, threads(), dt * 1e3, static_cast<double>(B * T) / dt, loss, mb(tm.values), mb(tm.grads), mb(tm.pooled),
      mb(tm.scratch), status_mb("VmHWM"));
  return 0;
}
