#pragma once
// The interface every model family implements; the batch it consumes is data/batch.h. Families
// live in one file each (transformer.cpp, rnn.cpp, lm.cpp, classifier.cpp) and are chosen by
// name from the registry table in registry.cpp.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/ops.h"
#include "core/parameter.h"
#include "core/rng.h"
#include "data/batch.h"
#include "models/model_config.h"
#include "nn/kv_cache.h"

namespace attn {

struct loss_result {
  var loss;                  // [1,1] mean over non-pad target tokens (classifier: over items)
  std::size_t tokens = 0;    // non-pad targets counted (classifier: items)
  std::size_t correct = 0;   // non-pad targets whose argmax logit is the target (token accuracy =
                             // correct / tokens); classifier: items whose argmax is the label
};

// Which sequence the queries or the keys of an attention map run over.
enum class sequence_side { source, target };

// One attention distribution of a teacher-forced forward pass, for dumps and study.
// Source positions are batch.src (for lm and classifier: the text); target positions are the
// decoder's steps: query t reads tgt_in[t] and predicts tgt_out[t]; decoder self-attention keys
// are tgt_in positions.
struct attention_map {
  std::string module;    // the attention's parameter prefix, e.g. "decoder.layers.1.cross_attn"
  std::string kind;      // "self" or "cross"
  std::size_t layer = 0; // block index (0 for the rnn's single attention)
  std::size_t heads = 1; // H
  sequence_side queries = sequence_side::source, keys = sequence_side::source;
  std::size_t q_len = 0, k_len = 0;  // Tq, Tk: the batch's padded lengths on those sides
  matrix weights;                    // [B*H*Tq, Tk], row (b*H + h)*Tq + t; masked keys are exactly 0
};

class model {
 public:
  virtual ~model() = default;
  virtual const model_config& config() const = 0;
  parameter_store& params() { return params_; }
  const parameter_store& params() const { return params_; }

  // Forward pass with the loss, recorded on t when it is recording (training).
  // Dropout is active when t is recording; evaluation wraps the call in no_grad.
  virtual loss_result loss(tape& t, const batch& b, rng& gen, float label_smoothing = 0.0f) = 0;

  // ---- greedy decoding support (no tape recording; the caller resets t between steps) ----
  // Encodes the source side (no-op for lm) and prepares per-item decoder state for b.size items.
  virtual void start_decoding(tape& t, const batch& b) = 0;
  // Feeds the last emitted token of every item (one per item) and returns next-token
  // log-probabilities [B, V]. Implementations keep KV caches / LSTM states between calls.
  // lm: start_decoding keeps batch.src as the prompt (every item of the batch must have the same
  // prompt length; src_len 0 = no prompt). The first decode_step feeds last_tokens (normally <bos>)
  // followed by the prompt and returns the log-probs after the prompt's last token; later calls feed
  // one token each. So the generic loop "last = <bos>; repeat: decode_step(last)" works for every family.
  // classifier: both throw attn::error.
  virtual matrix decode_step(tape& t, const std::vector<std::int32_t>& last_tokens) = 0;
  // The same step's logits [B, V]: its log-probs up to a constant per row, for a search that only
  // ranks a row's tokens (greedy; the row-wise log-softmax is a pass over [B, V] every step).
  // Default: decode_step's log-probs.
  virtual matrix decode_step_logits(tape& t, const std::vector<std::int32_t>& last_tokens) {
    return decode_step(t, last_tokens);
  }

  // What the next start_decoding's search will need, before it starts: `rows_per_item` rows per
  // batch item (a beam's width; 1 for greedy and sampling), up to `steps` decode_steps. A model
  // with K/V caches sizes them once for that (nn::kv_cache::expect); the default ignores it.
  virtual void expect_decoding(std::size_t rows_per_item, std::size_t steps);

  // Beam search: keeps decoding items order[0], order[1], ... (repeats allowed; the batch may grow or
  // shrink) in every cache and state, so the next decode_step takes order.size() tokens.
  virtual void reorder_decoding(const std::vector<std::int32_t>& order);

  // The precision of the decoding caches' keys and values from the next start_decoding on
  // (nn/kv_cache.h: f32 by default; f16 halves their memory and the bytes each step's attention
  // reads, every key and value rounded to a half). Returns false and changes nothing for a model
  // without K/V caches (rnn, classifier).
  virtual bool set_kv_precision(nn::kv_precision p);

  // ---- word alignment support (decode --alignment; nothing is kept unless asked) ----
  // From the next decode_step on, keep (or, keep = false, stop keeping) the cross-attention weights
  // of attention layer `layer`, numbered as in attention_maps (-1: the last; rnn: its one
  // attention, layer 0). The base class throws attn::error (no cross-attention), as does a layer
  // past the model's.
  virtual void keep_step_attention(bool keep, long layer = -1);
  // The weights the last decode_step kept: [rows*H, S], row r*H + h (rows = that step's tokens, H
  // the layer's heads, S the batch's src_len; keys past an item's length are exactly 0). Empty
  // (0 rows) when nothing is kept.
  virtual const matrix& step_attention() const;

  // Teacher-forced next-token log-probabilities for every target position, [B*T, V] (row b*T + t;
  // lm: [B*S, V] over src), computed like loss() but without dropout. Scoring, tests, attention
  // dumps. Throws attn::error for a classifier.
  virtual matrix log_probs(tape& t, const batch& b);

  // Every attention of the model, in forward order, from one teacher-forced forward pass without
  // dropout (same inputs as log_probs; for a classifier only src is needed). The base class throws.
  virtual std::vector<attention_map> attention_maps(tape& t, const batch& b);

  // classifier: log-probabilities of the classes [B, num_classes]. Throws attn::error for other families.
  virtual matrix classify(tape& t, const batch& b);

  // Activation checkpointing while training (core/recompute.h): each Transformer block keeps its
  // input and output only, and its activations are computed again in its backward pass (less
  // memory, about a third more compute). Same values and gradients. The base class (rnn) throws
  // attn::error when asked to turn it on: it has no such blocks.
  virtual void set_recompute(bool on);
  bool recomputes() const { return recompute_; }

 protected:
  parameter_store params_;
  bool recompute_ = false;
};

// Builds a freshly initialised model of cfg.family; throws attn::error for an unknown family
// (the message lists the known ones).
std::unique_ptr<model> make_model(const model_config& cfg, rng& gen);

// A model of m's configuration holding copies of m's parameters (values, trainable, decay) and of
// its attached LoRA adapters: training the copy leaves m as it was (the training plan's
// calibration, train/plan.h). Gradients are not copied.
std::unique_ptr<model> copy_model(const model& m);

// A model of m's configuration that reads m's parameter values instead of holding copies
// (parameter::shares), with state of its own (K/V caches, positional tables, options): a second
// decoding thread's model costs its caches, not another set of weights. For inference only — no
// gradient is kept for a shared value — and m must outlive it, its values unchanged meanwhile.
std::unique_ptr<model> share_model(const model& m);

// Names of the registered families, in table order.
std::vector<std::string> model_families();
// {name, one-line summary} of each registered family, in table order (for --help texts).
std::vector<std::pair<std::string, std::string>> model_family_summaries();

}  // namespace attn
