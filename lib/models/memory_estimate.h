#pragma once
// How much memory a model configuration will take, computed from model_config arithmetic alone
// (nothing is allocated), and the check that refuses a configuration this machine cannot hold
// before anything big is allocated. docs/models.md ("Memory estimates") gives the formulas.
//
// All sizes are doubles: a configuration such as layers = 100,000,000 gives a huge number instead
// of a wrapped-around size_t. Counts below 2^53 are exact, so parameter_count(c) equals
// make_model(c)->params().element_count() (tested for every family and variant).
//
// The estimates are of memory *still to be allocated* by the caller: a checkpoint already read
// into memory is not counted again (it is already missing from the available memory).
#include <cstddef>
#include <string>
#include <vector>

#include "models/lora.h"
#include "models/model_config.h"

namespace attn {

// Scalars in the parameters of a model of configuration c (all of them, trainable or not).
double parameter_count(const model_config& c);

struct memory_estimate {
  double parameters = 0;        // scalars (parameter_count)
  double parameter_bytes = 0;   // their values, 4 bytes each
  double gradient_bytes = 0;    // training: one gradient per parameter
  double optimizer_bytes = 0;   // training: optimizer slots (Adam: 2 per parameter)
  double checkpoint_bytes = 0;  // training: the copies made while writing a checkpoint
  double activation_bytes = 0;  // training: one batch's forward + backward; decoding: every live
                                // hypothesis's caches and one step; attention dumps: one sentence
  std::string activation_note;  // what activation_bytes is for, e.g. "for 4096-token batches"
  double total() const {
    return parameter_bytes + gradient_bytes + optimizer_bytes + checkpoint_bytes + activation_bytes;
  }
};

// State slots an optimizer keeps per parameter (sgd: momentum buffer if momentum > 0; rmsprop:
// square average, + momentum buffer, + gradient average if centered; adam, adamw: 2).
std::size_t optimizer_slot_count(const std::string& kind, float momentum, bool centered);

// Training: parameters, gradients, optimizer state, checkpoint copies and the activations of one
// batch whose sequences are at most seq_len long: batch_tokens padded tokens per side, or, when
// batch_tokens is 0, batch_size sequences (as in batching_config). recompute (model::set_recompute,
// Transformer families): each block keeps its output only, and one block's activations exist at
// a time.
memory_estimate estimate_training(const model_config& c, std::size_t batch_tokens, std::size_t batch_size,
                                  std::size_t seq_len, std::size_t slots, bool recompute = false);

// Adds to e (a training estimate) LoRA adapters of `rank` on `weights` (models/lora.h): their A
// and B, gradients and `slots` optimizer slots each, and the activations of batches of `tokens`
// tokens per side.
void add_lora(memory_estimate& e, const std::vector<lora_target>& weights, std::size_t rank, double tokens,
              std::size_t slots);

// Decoding (greedy, beam, sampling) with a model that already exists (its parameters are not
// counted): for each of `hypotheses` rows decoded together (sentences × beam), its caches and one
// step's activations, with sources of at most src_len tokens and outputs of at most max_len tokens.
// half_kv: K/V caches in f16 (model::set_kv_precision), half the bytes.
// workers: batches decoded at once (translate_options::workers), each with its hypotheses; past
// the first, the workers' models share the loaded model's weights (share_model), but each is
// built whole before it shares, so one more set of parameters is counted.
memory_estimate estimate_decoding(const model_config& c, double hypotheses, double src_len, double max_len,
                                  bool half_kv = false, std::size_t workers = 1);

// Loading a model for use (eval, inspect): its parameters only.
memory_estimate estimate_loading(const model_config& c);

// attn attention on one sentence of src_len source and tgt_len target positions (lm, classifier:
// tgt_len is ignored): the forward pass and every attention map, which exist three times at once
// (the op's buffer, the module's kept copy, the returned map). The parameters are not counted
// (the model already exists).
memory_estimate estimate_attention_dump(const model_config& c, double src_len, double tgt_len);

// Bytes this process can still allocate: the lower of MemAvailable (/proc/meminfo; total physical
// RAM from sysconf where that is missing) and, when RLIMIT_AS is set, the limit minus the address
// space already in use.
struct available_memory {
  double bytes = 0;
  std::string source;  // "this machine has", "the address-space limit (ulimit -v) leaves"
};
available_memory memory_available();

// "412 GB", "1.5 GB", "380 MB", "12 kB".
std::string format_bytes(double bytes);

// Throws attn::error when e.total() exceeds `available`:
//   "<subject> needs about 412 GB (parameters 103 GB, optimizer state 206 GB, ...) but this
//    machine has 24 GB available"
// advice, if not empty, is appended after "; ".
void check_memory(const memory_estimate& e, const std::string& subject, const available_memory& available,
                  const std::string& advice = "");
// The same against memory_available().
void check_memory(const memory_estimate& e, const std::string& subject, const std::string& advice = "");

}  // namespace attn
