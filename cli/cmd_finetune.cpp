// attn finetune: continue training a checkpoint's model on new data as a new run. The model
// config, vocabularies, labels and parameters come from the base checkpoint (-m); the step
// counter, data position, LR schedule and (unless --keep-optimizer) optimizer state start afresh.
// --freeze keeps named parameters fixed (train/freeze.h); --lora trains adapters on the frozen
// base and writes an adapter checkpoint (models/lora.h); --vocab (or --src-vocab/--tgt-vocab)
// rebuilds the embedding and output rows for a new vocabulary by token string
// (models/vocab_remap.h). Everything else — options, data,
// loop, progress, signals, exit codes — is attn train's (train_command.h, cmd_train.cpp).
#include <optional>

#include "commands.h"
#include "core/error.h"
#include "models/lora.h"
#include "models/memory_estimate.h"
#include "models/task.h"
#include "models/vocab_remap.h"
#include "processes.h"
#include "run_outputs.h"
#include "text/vocab_file.h"
#include "train/freeze.h"
#include "train_command.h"

namespace attn::cli {

namespace {

// A LoRA run's memory with its adapters, checked before they exist: the base's parameters are in
// memory now, frozen (no gradients, no optimizer state); the adapters add their A and B, gradients,
// optimizer slots and activations to the batches'. A new run's rank must also fit every adapted
// weight (models/lora.h: check_lora_rank).
void check_lora_memory(const train_command& cmd, model& m) {
  std::vector<lora_target> targets;
  try {
    targets = lora_targets(m.params(), cmd.lora);
    if (!cmd.loaded.resumed) check_lora_rank(targets, cmd.lora.rank);
  } catch (const lora_conflict& e) {
    throw usage_error(e.what());
  }
  const std::size_t slots = optimizer_slot_count(cmd.optimizer.kind, cmd.optimizer.momentum, cmd.optimizer.centered);
  const batching_config& b = cmd.train.batching;
  memory_estimate e =
      estimate_training(cmd.model, b.batch_tokens, b.batch_size, cmd.data.max_len, slots, cmd.train.recompute);
  e.parameters = e.parameter_bytes = e.gradient_bytes = e.optimizer_bytes = 0;  // the base: made, frozen
  e.checkpoint_bytes = 1 << 20;
  const double tokens = b.batch_tokens > 0 ? static_cast<double>(b.batch_tokens)
                                           : static_cast<double>(b.batch_size) * static_cast<double>(cmd.data.max_len);
  add_lora(e, targets, cmd.lora.rank, tokens, slots);
  check_memory(e, "the " + cmd.model.family + " model with --lora " + std::to_string(cmd.lora.rank) + " adapters",
               "lower --lora, --batch-tokens, --batch-size or --max-len");
}

}  // namespace

int cmd_finetune(const args& argv) {
  train_command cmd;
  if (!parse_finetune_command(argv, cmd)) return 0;
  progress out(cmd.quiet, cmd.log_every, cmd.command);
  const std::optional<run_outputs> claimed = claim_outputs(cmd, out);
  if (const std::string note = keep_global_batch(cmd, process_count()); !note.empty()) out.note(note);
  const checkpoint& src = cmd.loaded.resumed ? *cmd.loaded.resumed : *cmd.loaded.base;
  const std::string& src_path = cmd.loaded.resumed ? cmd.output : cmd.base_path;
  if (src.vocabularies.empty()) throw attn::error("'" + src_path + "' holds no vocabulary");
  // A new vocabulary: the base's parameters rebuilt for it by token string, before the model is made.
  std::optional<vocab_remap_result> remap;
  std::optional<vocab_roles> next;
  if (!cmd.vocab_path.empty() || !cmd.src_vocab_path.empty() || !cmd.tgt_vocab_path.empty()) {
    const checkpoint_record b = read_checkpoint_record(src, src_path);
    vocab_roles base{b.src->vocabulary(), std::nullopt};
    if (b.tgt_own) base.tgt = b.tgt_own->vocabulary();
    next = base;
    if (!cmd.vocab_path.empty()) {
      next->src = load_vocab(cmd.vocab_path);
      next->tgt.reset();
    } else {
      next->tgt = base.target();
      if (!cmd.src_vocab_path.empty()) next->src = load_vocab(cmd.src_vocab_path);
      if (!cmd.tgt_vocab_path.empty()) next->tgt = load_vocab(cmd.tgt_vocab_path);
    }
    remap = remap_vocabularies(cmd.model, cmd.loaded.base->params, base, *next);
    cmd.model = remap->config;
  }

  // The base's model (dropout may differ: it changes no parameter), then its parameters.
  const model_config& mc = cmd.model;
  check_memory(
      estimate_training(mc, cmd.train.batching.batch_tokens, cmd.train.batching.batch_size, cmd.data.max_len,
                        optimizer_slot_count(cmd.optimizer.kind, cmd.optimizer.momentum, cmd.optimizer.centered),
                        cmd.train.recompute),
      "the " + mc.family + " model", "lower --batch-tokens, --batch-size or --max-len" +
          std::string(task_for(mc.family).has_blocks && !cmd.train.recompute ? ", or add --recompute" : ""));
  rng gen(cmd.train.seed);
  std::unique_ptr<model> m = make_model(mc, gen);
  if (cmd.lora.rank > 0) check_lora_memory(cmd, *m);
  std::unique_ptr<optimizer> opt = make_optimizer(cmd.optimizer);
  // The base's (or the resumed run's) vocabularies, labels and lineage.
  checkpoint_record record = read_checkpoint_record(src, src_path);
  train_state state;
  checkpoint run_base;  // metadata every checkpoint of the run carries (a LoRA run: its base)
  std::optional<lora_attachment> lora;
  std::size_t lora_vocab_values = 0;  // a LoRA run with a new vocabulary: its embedding and output train whole
  // A LoRA run with a new vocabulary (or resuming one): the embedding and output tensors train
  // whole and go into the adapter; the model is the remapped one on the base's other parameters.
  const bool lora_vocab =
      cmd.lora.rank > 0 && (remap || (cmd.loaded.resumed && holds_vocabulary_parameters(src.params)));
  if (cmd.lora.rank > 0) {  // adapters on the frozen base: -o receives an adapter checkpoint
    lora_reference ref{cmd.lora, cmd.base_path, ""};
    if (cmd.loaded.resumed) {
      const std::optional<lora_reference> stored = read_lora_reference(src, src_path);
      if (!stored) throw attn::error("'" + src_path + "' holds LoRA options but no reference to its base");
      ref.base_path = stored->base_path;
      ref.base_hash = stored->base_hash;
      std::string base_path;
      // Named as --resume gave it: a relative stored base may be found next to it.
      const checkpoint b = load_lora_base(*stored, cmd.resume_path, cmd.lora_base, base_path);
      if (lora_vocab)
        m = make_model_on_base(mc, b.params);  // the adapter's tensors come with restore_training
      else
        import_parameters(m->params(), b.params);
    } else {
      import_parameters(m->params(), remap ? remap->params : cmd.loaded.base->params);
      ref.base_hash = parameters_hash(cmd.loaded.base->params);
    }
    try {
      lora = attach_lora(m->params(), cmd.lora, gen);
    } catch (const lora_conflict& e) {
      throw usage_error(e.what());
    }
    if (lora_vocab) lora_vocab_values = train_vocabulary_parameters(m->params());
    lora->trainable_values += lora_vocab_values;
    write_lora_reference(ref, run_base);
  }
  if (cmd.loaded.resumed) {
    state = restore_training(*cmd.loaded.resumed, *m, *opt, gen);
  } else {
    if (!lora) import_parameters(m->params(), remap ? remap->params : cmd.loaded.base->params);
    if (cmd.keep_optimizer) opt->set_state(cmd.loaded.base->optimizer);
    record.lineage.finetuned_from = cmd.base_path;
    record.lineage.finetuned_from_step = record.step;
    record.lineage.vocab_remapped = remap ? describe_remap(remap->counts) : "";
    if (next) {  // the new vocabularies: what the data is tokenized with and the checkpoint stores
      record.src = make_tokenizer(next->src);
      record.tgt_own = next->tgt ? make_tokenizer(*next->tgt) : nullptr;
    }
  }

  freeze_result f;
  if (!cmd.freeze.empty()) {
    f = freeze_parameters(m->params(), cmd.freeze);
    if (!f.unmatched.empty())
      throw usage_error("--freeze " + f.unmatched.front() + " matches no parameter of the " + mc.family +
                        " model (attn inspect lists its modules)");
  }
  out.config(cmd.values);
  if (!cmd.freeze.empty()) {
    const std::size_t all = m->params().element_count();
    out.note("frozen: " + std::to_string(f.tensors) + " of " + std::to_string(m->params().size()) +
             " parameter tensors (" + std::to_string(f.values) + " of " + std::to_string(all) + " values); " +
             std::to_string(all - f.values) + " values train");
  }
  if (remap) out.note("vocabulary remapped by token string: " + record.lineage.vocab_remapped);
  if (lora) {
    const std::size_t all = m->params().element_count() - lora->adapter_values - lora_vocab_values;
    const std::string lstm = lora->folded ? " (" + std::to_string(lora->folded) + " of them LSTM weights)" : "";
    out.note("LoRA: rank " + std::to_string(cmd.lora.rank) + " adapters on " + std::to_string(lora->adapters) +
             " layers" + lstm + "; " + std::to_string(lora->trainable_values) + " values train, the base's " +
             std::to_string(all) + (cmd.lora.train_bias ? " (but its biases and norms)" : "") + " stay frozen" +
             (lora_vocab ? " (the embedding and output, remapped to the new vocabulary, train whole: " +
                               std::to_string(lora_vocab_values) + " values)"
                         : ""));
  }
  if (!cmd.loaded.resumed)
    out.note(
        "fine-tuning " + cmd.base_path +
        (record.lineage.finetuned_from_step ? " (step " + std::to_string(*record.lineage.finetuned_from_step) + ")"
                                            : "") +
        " as a new run" + (cmd.keep_optimizer ? " with its optimizer state" : ""));

  // Data, tokenized with the base's vocabularies; a classifier's labels are the base's, fixed
  // (others make malformed lines, as in validation).
  if (model_config_uses(mc.family, "num_classes") && record.labels.size() != mc.num_classes)
    throw attn::error("'" + src_path + "': its label list does not match its " + std::to_string(mc.num_classes) +
                      " classes");
  const training_data d = read_training_data(cmd, std::move(record), false, out);
  if (mc.src_vocab != d.src->size() || mc.tgt_vocab != d.tgt().size())
    throw attn::error("'" + src_path + "': the model's vocabulary sizes do not match its vocabularies");
  return train_and_report(cmd, d, mc, *m, *opt, gen, state, run_base, out);
}

}  // namespace attn::cli
