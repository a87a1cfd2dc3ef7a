#pragma once
// Everything a checkpoint holds for using a model (decode, attention dumps, eval): the model
// with its trained parameters, its tokenizers and, for classifiers, the label names.
#include <memory>
#include <string>
#include <vector>

#include "io/checkpoint.h"
#include "models/checkpoint_record.h"
#include "models/model.h"
#include "text/tokenizer.h"

namespace attn {

// The checkpoint's record (checkpoint_record.h: src, tgt_own, tgt(), labels, step, lineage)
// and the model it describes.
struct loaded_model : checkpoint_record {
  std::unique_ptr<model> net;
};

// Rebuilds the model from c (config, vocabularies, parameters). `name` is used in messages.
// Throws attn::error when something needed is missing or does not fit.
loaded_model load_model(const checkpoint& c, const std::string& name);

}  // namespace attn
