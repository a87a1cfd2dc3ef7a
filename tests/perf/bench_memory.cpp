// Where a training step's memory goes: parameters, their gradients, the optimizer state, the
// tape's buffers (forward values and the free buffers the gradients take), and scratch, and the process's peak
// resident size, for the LM-small configuration of docs/benchmarks.md (d=256, 4 layers, 4 heads,
// ff=1024, vocabulary 4096, context 128, batch 16, untied output, no dropout, AdamW) on random
// tokens. What is left of the peak beyond those is the program, the C++/BLAS runtime and
// OpenBLAS's per-thread buffers.
// Usage: attn_bench_memory [steps] [threads] [context]   Prints one "name MB" line per component.
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

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::atoi(argv[1]) : 5;
  set_threads(argc > 2 ? std::atoi(argv[2]) : 2);
  const std::size_t B = 16, T = argc > 3 ? static_cast<std::size_t>(std::atoi(argv[3])) : 128, V = 4096;
  const double at_start = status_mb("VmRSS");

  const model_config c = bench::lm_small_config(T, V);
  rng gen(1);
  std::unique_ptr<model> m = make_model(c, gen);
  optimizer_config oc;
  oc.weight_decay = 0.01f;
  optimizer opt(oc);

  const batch b = bench::random_lm_batch(B, T, V, gen);

  tape t;
  parameter_store& ps = m->params();
  tape::memory_use forward{}, after{};  // the tape after the last step's forward and backward pass
  for (int s = 0; s < steps; ++s) {
    t.reset();
    ps.zero_grad();
    const loss_result r = m->loss(t, b, gen);
    forward = t.memory();
    t.backward(r.loss);
    after = t.memory();
    opt.step(ps, 1e-3f);
  }
  std::size_t slots = 0;
  for (const auto& kv : opt.state().tensors) slots += kv.second.size() * sizeof(float);
  const std::size_t params = ps.element_count() * sizeof(float);
  const double peak = status_mb("VmHWM");
  const double counted = mb(2 * params + slots + after.total());
  std::printf("context %zu batch %zu threads %d after %d steps\n", T, B, threads(), steps);
  std::printf("parameters          %8.1f MB\n", mb(params));
  std::printf("parameter grads     %8.1f MB\n", mb(params));
  std::printf("optimizer state     %8.1f MB\n", mb(slots));
  // The gradients live in the buffers of values the backward pass has released, and in free
  // buffers the tape keeps from step to step for the first of them: what the pass adds beyond
  // the tape's buffers after the forward pass is 0 in steady state.
  std::printf("activations + pool  %8.1f MB (the tape after the forward pass: values, free buffers)\n",
              mb(forward.values + forward.pooled + forward.grads));
  std::printf("backward pass added %8.1f MB (gradients beyond those buffers)\n",
              mb(after.total() - after.scratch - forward.values - forward.pooled - forward.grads));
  std::printf("op scratch          %8.1f MB\n", mb(after.scratch));
  std::printf("counted             %8.1f MB\n", counted);
  std::printf("process at start    %8.1f MB\n", at_start);
  std::printf("other (BLAS, heap)  %8.1f MB\n", peak - counted - at_start);
  std::printf("peak RSS            %8.1f MB\n", peak);
  return 0;
}
