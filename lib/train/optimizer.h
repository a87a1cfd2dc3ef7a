#pragma once
// Optimizers: SGD (momentum, Nesterov), RMSprop, Adam, AdamW, with PyTorch's update formulas.
//
// One concrete class driven by a small table of kinds (optimizer_kinds()): each kind names its
// per-parameter state tensors ("slots") and supplies one fused update loop over raw memory.
// State is keyed by parameter NAME, so freezing a parameter, or adding LoRA parameters to a
// model resumed from a checkpoint, needs nothing special: a parameter without state gets fresh
// zeroed slots and its own step count (its own Adam bias correction), as in PyTorch.
//
// Weight decay, in every kind, applies only to parameters with `decay == true` (biases and
// norm gains are registered with decay == false): AdamW's is decoupled (w -= lr·wd·w before
// the Adam update); SGD's, RMSprop's and Adam's is PyTorch's L2 form (g += wd·w).
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/config_fields.h"
#include "core/parameter.h"
#include "core/tensor.h"
#include "io/named_state.h"

namespace attn {

// Hyperparameters of every kind; each kind reads the ones it uses. The learning rate is not
// here: it comes from the schedule (schedule.h) and is passed to every step().
struct optimizer_config {
  std::string kind = "adamw";  // sgd | rmsprop | adam | adamw
  float beta1 = 0.9f;          // adam, adamw: decay of the gradient average
  float beta2 = 0.999f;        // adam, adamw: decay of the squared-gradient average
  float eps = 1e-8f;           // adam, adamw, rmsprop: added to sqrt(second moment), as in PyTorch
  float weight_decay = 0.0f;   // adamw: decoupled; others: L2 (PyTorch's AdamW default is 0.01)
  float momentum = 0.0f;       // sgd, rmsprop
  float dampening = 0.0f;      // sgd
  bool nesterov = false;       // sgd (needs momentum > 0 and dampening == 0, as PyTorch)
  float alpha = 0.99f;         // rmsprop: decay of the squared-gradient average
  bool centered = false;       // rmsprop: normalise by the gradient's variance instead
};

// Names and one-line summaries of the available kinds, for --help texts.
std::vector<std::pair<std::string, std::string>> optimizer_kinds();

// Every field once (lib/core/config_fields.h): the text form below and attn train's optimizer
// options come from it. The command line defaults to AdamW's weight decay of 0.01, as PyTorch.
template <class F>
void visit_fields(optimizer_config& c, F&& f) {
  f("kind", c.kind, field_about("", names_of(optimizer_kinds())).called("an optimizer").option_named("optimizer"));
  f("weight_decay", c.weight_decay,
    field_about("weight decay (decoupled for adamw, L2 otherwise)").command_line_default("0.01"));
  f("momentum", c.momentum, field_about("sgd, rmsprop: momentum"));
  f("beta1", c.beta1, field_about("adam, adamw: decay of the gradient average").not_an_option());
  f("beta2", c.beta2, field_about("adam, adamw: decay of the squared-gradient average").not_an_option());
  f("eps", c.eps, field_about("adam, adamw, rmsprop: added to the root of the second moment").not_an_option());
  f("dampening", c.dampening, field_about("sgd: dampening of the momentum").not_an_option());
  f("nesterov", c.nesterov, field_about("sgd: Nesterov momentum").not_an_option());
  f("alpha", c.alpha, field_about("rmsprop: decay of the squared-gradient average").not_an_option());
  f("centered", c.centered, field_about("rmsprop: normalise by the gradient's variance").not_an_option());
}

// Settings as text (floats printed so they read back bit-identical), for checkpoints and logs.
std::map<std::string, std::string> optimizer_config_to_map(const optimizer_config& c);
// Missing keys keep their defaults; an unknown key or malformed value throws attn::error.
optimizer_config optimizer_config_from_map(const std::map<std::string, std::string>& m);

// Everything an optimizer remembers, as named values for checkpoints:
//   tensors  "<kind>.<slot>/<parameter name>"  e.g. "adamw.exp_avg/decoder.out.weight"
//   scalars  "<kind>.step/<parameter name>"    updates applied to that parameter
//            "<kind>.steps"                    step() calls so far
using optimizer_state = named_state;  // io/named_state.h: what the checkpoint stores

struct optimizer_kind;  // one row of the table in optimizer.cpp

class optimizer {
 public:
  // Throws attn::error for an unknown kind or an invalid setting (negative lr-independent values,
  // betas outside [0, 1), Nesterov without momentum, ...).
  explicit optimizer(const optimizer_config& c);

  // Applies one update with learning rate `lr` to every parameter with trainable == true and a
  // gradient (an empty grad is skipped, like PyTorch's grad == None). Frozen parameters and
  // their state are left untouched. Throws attn::error if a gradient's or a state tensor's
  // shape differs from its parameter's.
  void step(parameter_store& params, float lr);

  const optimizer_config& config() const { return config_; }
  std::int64_t steps() const { return steps_; }

  optimizer_state state() const;
  // Replaces all state. Throws attn::error (naming the key) for keys of another kind, unknown
  // slots, a parameter whose slots are incomplete or differently shaped, or bad step counts.
  void set_state(const optimizer_state& s);

 private:
  struct slots {
    std::int64_t step = 0;      // updates applied to this parameter
    std::vector<matrix> bufs;   // one per slot name, shaped like the parameter
  };
  optimizer_config config_;
  const optimizer_kind* kind_;
  std::vector<std::string> slot_names_;
  std::unordered_map<std::string, slots> state_;
  std::int64_t steps_ = 0;
};

std::unique_ptr<optimizer> make_optimizer(const optimizer_config& c);

}  // namespace attn
