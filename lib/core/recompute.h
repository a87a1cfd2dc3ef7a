#pragma once
// Activation checkpointing (Chen et al., 2016, "Training Deep Nets with Sublinear Memory Cost";
// torch.utils.checkpoint): a block of ops whose intermediate values are not kept for the backward
// pass but computed again in it. The outer tape keeps the block's inputs and its output only;
// the block's own activations exist for one block at a time (its forward, then its backward).
// Cost: one more forward pass of the block (about a third more compute for a whole model).
#include <functional>
#include <vector>

#include "core/rng.h"
#include "core/tape.h"

namespace attn {

// The block: its output from its inputs (in order), parameters through tape::param of the
// inputs' tape, and gen for its dropout masks.
using block_fn = std::function<var(const std::vector<var>& inputs, rng& gen)>;

// y = block(inputs, gen), computed on a tape of its own that is discarded at once; in the backward pass
// the block runs again (recording, with gen as it was before the first run, so the same dropout
// masks) and its gradient flows to the inputs and, through tape::param, into the parameters.
// gen advances as block(inputs, gen) would advance it. When the inputs' tape is not recording,
// block(inputs, gen) runs on it directly. Inputs: at least one, all of one tape. The block must
// depend only on its inputs, parameters and gen, and must not touch any other var of the outer
// tape (it would be a var of another tape inside the block). The captured state must outlive the
// backward pass.
var recompute(const std::vector<var>& inputs, rng& gen, block_fn block);

}  // namespace attn
