// The table of model families: {name, factory, one-line summary, task}. Adding a family = one
// file with its factory plus one row here (with its task: models/task.h).
#include <iterator>

#include "core/error.h"
#include "core/text_codec.h"
#include "models/common.h"
#include "models/model.h"
#include "models/task.h"

namespace attn {
namespace {

struct family_entry {
  const char* name;
  std::unique_ptr<model> (*make)(const model_config&, rng&);
  const char* summary;
  task use;
};

// Encoder-decoders: x <eos> -> y, trained on `source<TAB>target` pairs.
task seq2seq_task() {
  task t;
  t.source = source_form::text_eos;
  t.splits_source_target = true;
  t.has_self_attention = t.has_cross_attention = true;
  t.attention = attention_input::source_target;
  t.format = data_format::pairs;
  return t;
}

task rnn_task() {
  task t = seq2seq_task();
  t.has_self_attention = false;  // one attention (decoder over encoder states), one head
  t.single_attention = true;
  t.positions_bound_length = false;  // no positions: any length runs
  t.has_blocks = false;              // LSTMs: nothing for --recompute
  t.article = "an";
  return t;
}

// Continues a prompt: lines of text follow an <eos> in training, so decoding starts with one.
task lm_task() {
  task t;
  t.start_token = eos_id;
  t.source = source_form::prompt;
  t.equal_length_batches = true;  // lm::start_decoding takes prompts of one length
  t.budget_includes_source = true;
  t.attention = attention_input::eos_text;
  t.format = data_format::lm;
  t.article = "an";
  return t;
}

// <bos> x -> a label, trained on `label<TAB>text` lines.
task classifier_task() {
  task t;
  t.source = source_form::bos_text;
  t.hypothesis = hypothesis_kind::label;
  t.attention = attention_input::bos_text;
  t.format = data_format::labeled;
  return t;
}

const family_entry families[] = {
    {"transformer", models_detail::make_transformer,
     "encoder-decoder Transformer (Vaswani et al.): self-, masked self- and cross-attention", seq2seq_task()},
    {"rnn", models_detail::make_rnn, "LSTM encoder-decoder with additive (Bahdanau) or dot/general (Luong) attention",
     rnn_task()},
    {"lm", models_detail::make_lm, "decoder-only Transformer language model (GPT style)", lm_task()},
    {"classifier", models_detail::make_classifier, "Transformer encoder + pooling + linear head over classes",
     classifier_task()},
};

}  // namespace

std::unique_ptr<model> make_model(const model_config& cfg, rng& gen) {
  for (const family_entry& f : families)
    if (cfg.family == f.name) return f.make(cfg, gen);
  throw error(unknown_name_message("model family", cfg.family, model_families()));
}

namespace {

// A fresh model of m's configuration whose parameters hold copies of m's values (share false) or
// read m's own (share true; their own values freed), with m's trainable and decay flags and its
// LoRA adapters linked to the new model's parameters.
std::unique_ptr<model> replicate(const model& m, bool share) {
  rng unused(0);  // the fresh initialisation is overwritten (or freed) below
  std::unique_ptr<model> out = make_model(m.config(), unused);
  if (m.recomputes()) out->set_recompute(true);
  parameter_store& to = out->params();
  for (const parameter* p : m.params().all()) {  // LoRA adapters are parameters the fresh model lacks
    const matrix& value = p->current();
    parameter* q = to.find(p->name);
    if (!q) q = &to.add(p->name, value.shape()[0], value.shape()[1], p->decay);
    if (q->value.shape() != value.shape())
      throw error(std::string(share ? "share_model" : "copy_model") + ": parameter " + p->name +
                  " has another shape in a fresh model");
    if (share) {
      q->value = matrix::from_shape({0, 0});
      q->shares = p->shares ? p->shares : p;
    } else {
      q->value = value;
    }
    q->trainable = p->trainable;
    q->decay = p->decay;
  }
  for (const parameter* p : m.params().all()) {  // the adapters' links, to the copy's own parameters
    if (!p->lora_a) continue;
    parameter& q = to.at(p->name);
    q.lora_a = &to.at(p->lora_a->name);
    q.lora_b = &to.at(p->lora_b->name);
    q.lora_scale = p->lora_scale;
  }
  return out;
}

}  // namespace

std::unique_ptr<model> copy_model(const model& m) {
  return replicate(m, false);
}

std::unique_ptr<model> share_model(const model& m) {
  return replicate(m, true);
}

std::vector<std::string> model_families() {
  std::vector<std::string> names;
  for (const family_entry& f : families) names.push_back(f.name);
  return names;
}

std::vector<std::pair<std::string, std::string>> model_family_summaries() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const family_entry& f : families) out.emplace_back(f.name, f.summary);
  return out;
}

const task& task_for(const std::string& family) {
  for (const family_entry& f : families)
    if (family == f.name) return f.use;
  throw error(unknown_name_message("model family", family, model_families()));
}

}  // namespace attn
