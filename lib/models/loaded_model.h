#pragma once
// Everything a checkpoint holds for using a model (decode, attention dumps, eval): the model
// with its trained parameters, its tokenizers and, for classifiers, the label names.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/checkpoint.h"
#include "models/checkpoint_record.h"
#include "models/lora.h"
#include "models/model.h"
#include "text/tokenizer.h"

namespace attn {

// The checkpoint's record (checkpoint_record.h: src, tgt_own, tgt(), labels, step, lineage)
// and the model it describes.
struct loaded_model : checkpoint_record {
  std::unique_ptr<model> net;
  std::optional<lora_reference> adapter;  // set when c is a LoRA adapter checkpoint
  std::string base_path;                  // then: the base checkpoint read
};

// Rebuilds the model from c (config, vocabularies, parameters). `name` is used in messages.
// An adapter checkpoint (models/lora.h) is applied to its base, read from `base_override` when
// given, else from the path it stores; a base whose parameters' hash differs is refused.
// Throws attn::error when something needed is missing or does not fit.
loaded_model load_model(const checkpoint& c, const std::string& name, const std::string& base_override = "");

}  // namespace attn
