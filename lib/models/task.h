#pragma once
// What using a model family differs in, outside its forward pass: how a line of text becomes its
// decoding source, what decoding it gives (tokens or a label), how its attention is laid out and
// how one sentence is prepared for an attention dump, which training data format it reads. Each
// family's task sits in its registry row (registry.cpp), so a new family declares it in one place,
// and decode, attention dumps and eval ask the task instead of testing the family's name.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "data/dataset.h"
#include "models/model.h"
#include "models/model_config.h"
#include "text/tokenizer.h"
#include "text/vocab.h"

namespace attn {

// How a line of text becomes the source ids decoding starts from (as in training).
enum class source_form {
  text_eos,  // x <eos>; cut to max_len, keeping the <eos> (transformer, rnn)
  bos_text,  // <bos> x; cut to max_len (classifier)
  prompt,    // x, the prompt to continue; cut to max_len (lm)
};

// What decoding one source gives.
enum class hypothesis_kind {
  tokens,  // a token sequence, searched greedily, with a beam or sampled
  label,   // one of the model's labels, by model::classify (n-best: the most probable labels)
};

// How one sentence of an attention dump is prepared (model::attention_maps runs it teacher-forced).
enum class attention_input {
  source_target,  // `source` (target: the greedy translation) or `source<TAB>target` (seq2seq)
  eos_text,       // <eos> x: the line follows an <eos>, as lines do in training (lm)
  bos_text,       // <bos> x (classifier)
};

struct task {
  std::int32_t start_token = bos_id;  // fed first when decoding (lm: <eos>, which starts a new line)
  source_form source = source_form::text_eos;
  bool equal_length_batches = false;    // a decoding batch holds sources of one length (lm prompts)
  bool budget_includes_source = false;  // the source counts towards max_len (lm: the prompt)
  hypothesis_kind hypothesis = hypothesis_kind::tokens;
  bool splits_source_target = false;  // a `source<TAB>target` input line decodes its source
  bool has_self_attention = true, has_cross_attention = false;
  bool single_attention = false;  // one attention of one head, whatever the config (rnn)
  attention_input attention = attention_input::source_target;
  data_format format = data_format::pairs;  // what training and `attn eval -m` read
  bool positions_bound_length = true;       // learned positions end at the config's max_len (not rnn)
  bool has_blocks = true;                   // Transformer blocks, which model::set_recompute can recompute (not rnn)
  const char* article = "a";                // in messages: "a transformer model", "an rnn model"

  // The source ids of one line, cut to max_len (>= 2; an lm's prompt to max_len - 1, after the start
  // token it is fed with); `cut` is set when it was cut.
  std::vector<std::int32_t> source_ids(tokenizer& tok, std::string_view line, std::size_t max_len, bool& cut) const;
  // The longest output decoding may produce for sources padded to src_len tokens.
  std::size_t decode_budget(std::size_t max_len, std::size_t src_len) const;
  // Whether decoding gives one of the model's labels (it needs its label list, one per class).
  bool predicts_labels() const { return hypothesis == hypothesis_kind::label; }
  // Whether --sample applies (only to token hypotheses).
  bool samples() const { return hypothesis == hypothesis_kind::tokens; }
  // Whether c's positions allow sequences of max_len tokens (learned positions end at c.max_len).
  bool allows_max_len(const model_config& c, std::size_t max_len) const;
  // "a transformer model", "an lm model": the family named in a message.
  std::string a_model(const std::string& family) const { return article + (" " + family) + " model"; }

  // Attention layout: "self" and/or "cross"; the default kind of a dump (cross when it exists);
  // the layers and heads --layer / --head count over.
  bool has_attention_kind(const std::string& kind) const;
  std::string default_attention_kind() const { return has_cross_attention ? "cross" : "self"; }
  std::size_t attention_layers(const model_config& c) const { return single_attention ? 1 : c.layers; }
  std::size_t attention_heads(const model_config& c) const { return single_attention ? 1 : c.heads; }
};

// The task of a registered family; throws attn::error for an unknown one (listing the known).
const task& task_for(const std::string& family);
// The task of m's family.
const task& task_of(const model& m);

}  // namespace attn
