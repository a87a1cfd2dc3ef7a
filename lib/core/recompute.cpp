#include "core/recompute.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "core/error.h"

namespace attn {

var recompute(const std::vector<var>& inputs, rng& gen, block_fn block) {
  if (inputs.empty()) throw error("recompute: a block needs at least one input");
  tape& t = *inputs.front().t;
  for (const var& x : inputs)
    if (!x.valid() || x.t != &t) throw error("recompute: the inputs are not all nodes of one tape");
  if (!t.recording()) return block(inputs, gen);

  const rng replay = gen;  // before the block's dropout draws
  // The forward pass, recording as training does (dropout is active only on a recording tape);
  // its values and closures are freed on return, no gradient buffer is ever made.
  tape first;
  std::vector<var> in;
  in.reserve(inputs.size());
  for (const var& x : inputs) in.push_back(first.constant(x.value()));
  const matrix& out = block(in, gen).value();  // [rows, cols]

  t.begin_op();
  const var y = t.make(rows(out), cols(out), true);
  std::copy(out.data(), out.data() + out.size(), y.mutable_value().data());
  t.on_backward([inputs, y, replay, block = std::move(block)]() {
    tape again;  // the block's activations, for the time of its backward pass
    std::vector<var> in2;
    in2.reserve(inputs.size());
    for (const var& x : inputs) in2.push_back(again.leaf(x.value(), x.needs_grad()));
    rng gen2 = replay;
    const var y2 = block(in2, gen2);
    again.backward_from(y2, y.grad());
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (!inputs[i].needs_grad() || !in2[i].has_grad()) continue;
      const matrix& g2 = in2[i].grad();
      bool overwrite = false;
      matrix& g = inputs[i].grad_for_write(overwrite);
      if (overwrite) {
        std::copy(g2.data(), g2.data() + g2.size(), g.data());
      } else {
        for (std::size_t k = 0; k < g.size(); ++k) g.data()[k] += g2.data()[k];
      }
    }
  });
  return y;
}

}  // namespace attn
