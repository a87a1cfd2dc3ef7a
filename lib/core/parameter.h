#pragma once
// Named, trainable parameters. Optimizers, freezing, LoRA and checkpoints all address
// parameters by name ("encoder.layers.0.attn.qkv.weight"), through one store per model.
#include <cstddef>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/tensor.h"

namespace attn {

struct parameter {
  std::string name;
  matrix value;            // [rows, cols]; vectors (biases, norm gains) are [1, n]
  matrix grad;             // same shape as value; backward accumulates into it
  bool trainable = true;   // false: frozen (no gradient kept, optimizer skips it)
  bool decay = true;       // AdamW decoupled weight decay applies (false for biases and norms)
  // LoRA (models/lora.h). adaptable: a weight [in, out] whose layer uses an attached adapter,
  // lora_a [in, R] and lora_b [R, out]. A linear layer adds x·W + scale·(drop(x)·A)·B, drop being
  // dropout with lora_dropout while training; a weight used inside a fused op (lora_folded: the
  // LSTM's w_ih, w_hh) is replaced by W + scale·A·B once per forward pass, so its adapter has no
  // input of its own to drop out.
  bool adaptable = false;
  bool lora_folded = false;
  parameter* lora_a = nullptr;
  parameter* lora_b = nullptr;
  float lora_scale = 0.0f;    // alpha / R
  float lora_dropout = 0.0f;  // p of the adapter's input dropout (linear layers)
  // Non-null: this parameter is a read-only view of that one's value, and its own value is empty
  // (an inference copy of a model: models/model.h, share_model). The tape reads the shared value
  // and keeps no gradient for it.
  const parameter* shares = nullptr;
  const matrix& current() const { return shares ? shares->value : value; }
};

class parameter_store {
 public:
  // Adds a zero-initialised parameter; throws attn::error if the name is taken.
  parameter& add(const std::string& name, std::size_t rows, std::size_t cols, bool decay = true);
  parameter* find(const std::string& name);              // nullptr if absent
  const parameter* find(const std::string& name) const;
  parameter& at(const std::string& name);                // throws attn::error naming the parameter
  std::vector<parameter*> all();                         // in creation order
  std::vector<const parameter*> all() const;
  std::size_t size() const { return params_.size(); }
  std::size_t element_count() const;                     // total number of scalars
  void zero_grad();  // sets every trainable grad to 0 (allocating it if empty); frees frozen ones
 private:
  std::deque<parameter> params_;  // deque: addresses stay valid as parameters are added
  std::unordered_map<std::string, std::size_t> index_;
};

// The module a parameter belongs to, as attn inspect and the training plan group them:
// "encoder.layers.0.attn.q.weight" -> "encoder.layers.0", "embed.weight" -> "embed".
std::string parameter_module(const std::string& name);

}  // namespace attn
