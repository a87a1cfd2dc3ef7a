#pragma once
// Everything a checkpoint holds for using a model (decode, attention dumps, eval): the model
// with its trained parameters, its tokenizers and, for classifiers, the label names.
#include <memory>
#include <string>
#include <vector>

#include "io/checkpoint.h"
#include "models/model.h"
#include "text/tokenizer.h"

namespace attn {

struct loaded_model {
  std::unique_ptr<model> net;
  std::unique_ptr<tokenizer> src;      // sources, lm text, classifier text
  std::unique_ptr<tokenizer> tgt_own;  // set only when source and target vocabularies differ
  std::vector<std::string> labels;     // classifier label names, index = class id
  tokenizer& tgt() { return tgt_own ? *tgt_own : *src; }
};

// Rebuilds the model from c (config, vocabularies, parameters). `name` is used in messages.
// Throws attn::error when something needed is missing or does not fit.
loaded_model load_model(const checkpoint& c, const std::string& name);

}  // namespace attn
