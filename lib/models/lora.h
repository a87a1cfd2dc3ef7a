#pragma once
// LoRA adapters (Hu et al., 2021) on a model's linear layers, and the adapter checkpoint's
// reference to its base.
//
// An adapted linear layer computes y = x·W + b + (alpha/R)·(drop(x)·A)·B with W [in, out] frozen,
// A = <prefix>.lora_a [in, R] ~ N(0, 1/in) and B = <prefix>.lora_b [R, out] = 0: before any update
// the model is exactly the base. (The paper's A [R×in] and B [out×R] act on column vectors; with
// attn's row-major x·W layout they are stored transposed.) Forward and backward are two thin GEMMs
// on the tape (nn/linear.cpp); drop is dropout with `dropout` (peft's lora_dropout) while training,
// its mask drawn from the run's rng inside ops::dropout_matmul. Merging folds W += (alpha/R)·A·B.
//
// The LSTM's w_ih (<prefix>.w_ih.lora_a …) and w_hh are adapted by folding: the fused recurrence
// uses W + (alpha/R)·A·B formed once per forward pass (ops::add_low_rank), exact and one small
// GEMM. Such an adapter has no input of its own, so --lora-dropout with an LSTM target is refused
// (lora_conflict). Not adaptable: embeddings, the lm/transformer output projection (trained
// through the fused output loss).
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/parameter.h"
#include "core/rng.h"
#include "io/checkpoint.h"

namespace attn {

struct lora_options {
  std::size_t rank = 0;              // R (0: no LoRA)
  float alpha = 0.0f;                // scale = alpha / R
  std::vector<std::string> targets;  // name patterns (core/name_pattern.h) selecting linear weights
  bool train_bias = false;           // biases and layer-norm gains/biases train too
  float dropout = 0.0f;              // p of the dropout on each linear adapter's input, in [0, 1)
};

// A combination of LoRA options the model cannot take (--lora-dropout with a target that selects
// an LSTM weight): the command line's mistake, a usage error there.
struct lora_conflict : error {
  using error::error;
};

// The default targets: the attention projections of every family (self qkv, cross q and kv,
// output projections, the rnn's additive-attention keys and query).
std::vector<std::string> default_lora_targets();

struct lora_attachment {
  std::size_t adapters = 0;       // weights adapted (linear layers and LSTM weights)
  std::size_t folded = 0;         // of which LSTM weights (adapter folded into the weight)
  std::size_t adapter_values = 0; // scalars in their A and B
  std::size_t trainable_values = 0;  // all trainable scalars (adapters + biases with train_bias)
};

// A weight attach_lora adapts: its name, its [in, out], and whether its adapter is folded into it
// (an LSTM weight) rather than applied to its input.
struct lora_target {
  std::string name;
  std::size_t in = 0, out = 0;
  bool folded = false;
};

// The weights attach_lora(store, opt, ...) would adapt, nothing changed or allocated: for checking
// a run's memory before the adapters exist. Throws lora_conflict as attach_lora does.
std::vector<lora_target> lora_targets(const parameter_store& store, const lora_options& opt);

// Throws lora_conflict when `rank` is above a weight's smaller side: A·B has rank at most
// min(in, out), so a larger rank only adds parameters. For new adapters (finetune --lora R); one
// made so before, resumed or loaded, is not refused.
void check_lora_rank(const std::vector<lora_target>& weights, std::size_t rank);

// Floats that training keeps for the adapter of one weight of R ranks: per token of its input
// (a linear layer's x·A [N, R] and its gradient), and per step (a folded weight's W + s·A·B and
// its gradient). Over- rather than under-estimates, as models/memory_estimate.h.
double lora_floats_per_token(const lora_target& w, std::size_t rank);
double lora_floats_per_step(const lora_target& w);

// Freezes every parameter of `store`, then attaches an adapter to every adaptable weight a target
// selects (A drawn from gen, B zero) and, with train_bias, unfreezes biases and norms.
// Throws lora_conflict (the options do not fit the model: a usage error on the command line) when
// no target selects an adaptable weight, or when opt.dropout > 0 and a target selects an LSTM weight.
lora_attachment attach_lora(parameter_store& store, const lora_options& opt, rng& gen);

// Folds every attached adapter into its weight (W += scale·A·B) and detaches it; the adapter
// parameters stay in the store. Returns the number of weights changed.
std::size_t merge_lora(parameter_store& store);

// True for the parameters attach_lora adds ("….lora_a", "….lora_b").
bool is_lora_parameter(const std::string& name);

// The parameters an adapter checkpoint holds: the trainable ones (adapters, trained biases).
std::vector<checkpoint_param> adapter_parameters(const parameter_store& store);
// The parameters a plain checkpoint holds: all but the adapters.
std::vector<checkpoint_param> base_parameters(const parameter_store& store);

// A hash of parameters' names, shapes and values (FNV-1a 64, 16 hex digits): the base's identity.
std::string parameters_hash(const std::vector<checkpoint_param>& params);

// An adapter checkpoint's metadata: its options and its base.
struct lora_reference {
  lora_options options;
  std::string base_path;  // as given to finetune -m
  std::string base_hash;  // parameters_hash of the base's parameters
};
void write_lora_reference(const lora_reference& r, checkpoint& c);
// nullopt for a checkpoint that is not an adapter; throws attn::error (naming `name`) for a
// damaged reference.
std::optional<lora_reference> read_lora_reference(const checkpoint& c, const std::string& name);

// Where the base of adapter `name` is read when no --base is given: the stored path, which is
// relative to the directory finetune ran in. A relative one that is not there from the current
// directory but is next to the adapter (the adapter and its base moved together, or used from
// elsewhere) is taken there; the hash check still decides whether it is the base.
std::string stored_base_path(const lora_reference& r, const std::string& name);

// The base of adapter `name`: read from `base_override` when given, else from stored_base_path,
// and refused when its parameters' hash is not the stored one. A stored base that cannot be read
// is an error that says the path came from the adapter, and to give --base: the user may never
// have typed it. Returns the checkpoint; `path` receives the file used.
checkpoint load_lora_base(const lora_reference& r, const std::string& name, const std::string& base_override,
                          std::string& path);

}  // namespace attn
