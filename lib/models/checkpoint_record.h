#pragma once
// What a checkpoint carries besides tensors and training state, typed: the tokenizers made from
// its vocabularies by role ("shared", or "src" and "tgt"), a classifier's label names, the step
// counter and the fine-tuning lineage. One pair of functions reads and writes them, for
// load_model (decode, eval, attention), train, finetune and resume alike; the checkpoint file
// keeps storing them as text (docs/checkpoints.md).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/checkpoint.h"
#include "text/tokenizer.h"

namespace attn {

// A model's tokenizers: one shared vocabulary, or a source and a target one.
struct model_tokenizers {
  std::unique_ptr<tokenizer> src;      // sources, lm text, classifier text; the shared vocabulary when one
  std::unique_ptr<tokenizer> tgt_own;  // set only when source and target vocabularies differ
  tokenizer& tgt() const { return tgt_own ? *tgt_own : *src; }
};

// attn finetune's record of where a model came from.
struct checkpoint_lineage {
  std::string finetuned_from;                       // the base checkpoint as the user named it; "" = none
  std::optional<std::int64_t> finetuned_from_step;  // the base's step counter, when it had one
  std::string vocab_remapped;  // finetune --vocab: the remap's counts (models/vocab_remap.h); "" = none
};

struct checkpoint_record : model_tokenizers {
  std::vector<std::string> labels;   // classifier label names, index = class id
  std::optional<std::int64_t> step;  // counters "step": updates applied (none: a bare model)
  checkpoint_lineage lineage;
};

// Reads c's vocabularies (into tokenizers; none stored: src stays empty), labels, step and
// lineage. `name` is used in messages. Throws attn::error for a vocabulary that does not read.
checkpoint_record read_checkpoint_record(const checkpoint& c, const std::string& name);

// Writes r's vocabularies (by role, as vocabulary-file text), labels (when any) and lineage
// (when any) into c. Counters are the training loop's (make_training_checkpoint).
void write_checkpoint_record(const checkpoint_record& r, checkpoint& c);

// The vocabularies of t by role, as vocabulary-file text: what a checkpoint stores.
std::map<std::string, std::string> vocabulary_texts(const model_tokenizers& t);

// Label names stored as one tab-separated text. Every field counts, a trailing empty one too
// ("a\tb\t" is a, b and ""), so split_labels(join_labels(x)) == x for every x of two or more
// labels; "" holds no label.
std::string join_labels(const std::vector<std::string>& labels);
std::vector<std::string> split_labels(const std::string& text);

}  // namespace attn
