// attn decode -m CKPT < src > hyp: one output line per input line, in input order (--n-best N:
// N lines `index ||| hypothesis ||| score` per input). transformer / rnn: translate each line; lm:
// continue each line (an empty line = generate from nothing); classifier: print the predicted label.
// Greedy search, beam search (--beam) or sampling (--sample); docs/decoding.md. --alignment
// hard|soft appends ` ||| alignment` to each hypothesis (Marian's format).
#include <algorithm>
#include <cmath>
#include <iostream>
#include <string>

#include "commands.h"
#include "core/error.h"
#include "core/threads.h"
#include "decode/alignment.h"
#include "decode/translate.h"
#include "io/checkpoint.h"
#include "models/loaded_model.h"
#include "models/memory_estimate.h"
#include "models/task.h"
#include "options.h"
#include "progress.h"

namespace attn::cli {

namespace {

struct decode_options {
  std::string base_path;  // --base: a LoRA adapter's base (default: the path it stores)
  std::string checkpoint_path, input_path = "-", output_path = "-";
  std::string alignment;      // "" (off), hard or soft
  long alignment_layer = -1;  // -1: not given (the last layer)
  std::string kv_cache = "f32";  // --kv-cache: f32 | f16
  translate_options run;
};

// --alignment / --alignment-layer on their own; fills o.run.alignment*. usage_error otherwise.
void check_alignment_options(decode_options& o, const po::variables_map& vm) {
  const bool layer_given = vm.count("alignment-layer") > 0;
  if (o.alignment.empty()) {
    if (layer_given) throw usage_error("--alignment-layer applies only with --alignment hard|soft");
    return;
  }
  if (o.alignment != "hard" && o.alignment != "soft")
    throw usage_error("--alignment must be hard or soft (got '" + o.alignment + "')");
  if (layer_given && o.alignment_layer < 0) throw usage_error("--alignment-layer must be 0 or more");
  o.run.alignment = parse_alignment_kind(o.alignment);
  o.run.alignment_layer = o.alignment_layer;
}

// The alignment options against the loaded model: its cross-attention and its layers.
void check_alignment_model(const decode_options& o, const task& use, const model_config& cfg) {
  if (o.run.alignment == alignment_kind::none) return;
  if (!use.has_cross_attention)
    throw usage_error("--alignment: " + use.a_model(cfg.family) + " has no cross-attention to align with");
  const std::size_t layers = use.attention_layers(cfg);
  if (o.alignment_layer >= static_cast<long>(layers))
    throw usage_error("--alignment-layer " + std::to_string(o.alignment_layer) + ": " + use.a_model(cfg.family) +
                      " has " + std::to_string(layers) + " attention layer(s), numbered from 0");
}

// Checks the search options against each other and fills o.run.beam / o.run.sampling; usage_error otherwise.
void check_search_options(decode_options& o, const po::variables_map& vm, std::int64_t beam, std::int64_t n_best,
                          std::int64_t top_k, std::int64_t seed) {
  auto given = [&](const char* name) { return vm.count(name) && !vm[name].defaulted(); };
  if (beam < 1) throw usage_error("--beam must be at least 1");
  if (o.run.max_len == 1) throw usage_error("--max-len must be 0 (the model's max_len) or at least 2");
  if (n_best < 0) throw usage_error("--n-best must be 0 (off) or more");
  if (top_k < 0) throw usage_error("--top-k must be 0 (off) or more");
  if (seed < 0) throw usage_error("--seed must be 0 or more");
  if (!std::isfinite(o.run.beam.length_penalty)) throw usage_error("--length-penalty must be a finite number");
  if (!(o.run.sampling.temperature >= 0.0f) || std::isinf(o.run.sampling.temperature))
    throw usage_error("--temperature must be a finite number >= 0");
  if (!(o.run.sampling.top_p > 0.0f && o.run.sampling.top_p <= 1.0f)) throw usage_error("--top-p must be in (0, 1]");
  if (o.run.sample) {
    if (given("beam") && beam > 1) throw usage_error("--sample draws one continuation; it cannot be used with --beam");
    if (given("n-best")) throw usage_error("--n-best applies to beam search, not --sample");
    if (given("length-penalty")) throw usage_error("--length-penalty applies to beam search, not --sample");
  } else {
    for (const char* name : {"temperature", "top-k", "top-p", "seed"})
      if (given(name)) throw usage_error(std::string("--") + name + " applies only with --sample");
  }
  o.run.n_best = static_cast<std::size_t>(n_best);
  o.run.beam.beam_size = static_cast<std::size_t>(given("beam") ? beam : std::max<std::int64_t>(1, n_best));
  if (o.run.n_best > o.run.beam.beam_size)
    throw usage_error("--n-best " + std::to_string(n_best) + " needs a beam at least as wide (--beam " +
                      std::to_string(beam) + ")");
  o.run.beam.n_best = std::max<std::size_t>(1, o.run.n_best);
  o.run.sampling.top_k = static_cast<std::size_t>(top_k);
  o.run.sampling.seed = static_cast<std::uint64_t>(seed);
}

}  // namespace

int cmd_decode(const args& argv) {
  decode_options o;
  std::int64_t beam = 1, n_best = 0, top_k = 0, seed = 1;
  command_line cl;
  cl.name = "decode";
  cl.usage = "attn decode -m CKPT [options] [INPUT]    (INPUT or - : stdin)";
  // clang-format off
  cl.options.add_options()
      ("model,m", po::value(&o.checkpoint_path)->required(), "checkpoint to decode with")
      ("base", po::value(&o.base_path), "a LoRA adapter checkpoint's base (default: the path the adapter stores)")
      ("input", po::value(&o.input_path)->default_value("-"), "source text, one sentence per line (- = stdin)")
      ("output,o", po::value(&o.output_path)->default_value("-"), "where hypotheses go (- = stdout)")
      ("max-len", po::value(&o.run.max_len)->default_value(0), "longest output in tokens (0 = the model's max_len)")
      ("batch-size", po::value(&o.run.batch_size)->default_value(32), "sentences decoded together")
      ("beam", po::value(&beam)->default_value(1), "beam search with K hypotheses per sentence (1 = greedy)")
      ("length-penalty", po::value(&o.run.beam.length_penalty)->default_value(1.0f, "1"),
       "beam: rank hypotheses by log P / len^A, len counting <eos> (0 = raw log-prob)")
      ("n-best", po::value(&n_best)->default_value(0),
       "print the N best hypotheses per input as 'index ||| hypothesis ||| score' (--beam defaults to N; "
       "classifier: the N most probable labels with their log-probs)")
      ("sample", po::bool_switch(&o.run.sample), "sample each next token instead of searching")
      ("temperature", po::value(&o.run.sampling.temperature)->default_value(1.0f, "1"),
       "sampling: divide the log-probs by T (0 = always the most probable token)")
      ("top-k", po::value(&top_k)->default_value(0), "sampling: only from the K most probable tokens (0 = all)")
      ("top-p", po::value(&o.run.sampling.top_p)->default_value(1.0f, "1"),
       "sampling: only from the smallest set of most probable tokens with mass >= P (1 = all)")
      ("seed", po::value(&seed)->default_value(1),
       "sampling: random seed; line N draws from its own stream of (seed, N), whatever the batching")
      ("kv-cache", po::value(&o.kv_cache)->default_value("f32"),
       "f32 | f16: the precision of the decoder's cached keys and values (transformer, lm). f16 halves their "
       "memory and the bytes each step reads (faster on long outputs); each is rounded to 11 significant bits, "
       "so scores move slightly and near-tied hypotheses may differ")
      ("alignment", po::value(&o.alignment),
       "hard | soft: append ' ||| alignment' to each hypothesis (transformer, rnn): hard = 'src-tgt' pairs of "
       "the most attended source token, soft = each target token's comma-separated source weights")
      ("alignment-layer", po::value(&o.alignment_layer),
       "--alignment: the decoder layer whose cross-attention (mean over heads) aligns, 0-based (default: the "
       "last; rnn: its one attention, 0)");
  // clang-format on
  cl.positional.add("input", 1);
  cl.positional_noun = "the input";
  po::variables_map vm;
  if (!parse(cl, argv, vm)) return 0;
  if (o.run.batch_size == 0) throw usage_error("--batch-size must be at least 1");
  check_search_options(o, vm, beam, n_best, top_k, seed);
  check_alignment_options(o, vm);
  if (o.kv_cache != "f32" && o.kv_cache != "f16")
    throw usage_error("--kv-cache must be f32 or f16 (got '" + o.kv_cache + "')");
  o.run.kv_precision = o.kv_cache == "f16" ? nn::kv_precision::f16 : nn::kv_precision::f32;

  refuse_overwrite({{"", o.input_path}, {"-m", o.checkpoint_path}}, {{"-o", o.output_path}});
  const checkpoint c = load_checkpoint(o.checkpoint_path);
  loaded_model lm = load_model(c, o.checkpoint_path, o.base_path);
  if (lm.adapter)  // an adapter's base is an input too
    refuse_overwrite({adapter_base_input(o.base_path, lm.base_path)}, {{"-o", o.output_path}});
  const model_config& cfg = lm.net->config();
  const task& use = task_of(*lm.net);
  if (!use.allows_max_len(cfg, o.run.max_len))
    throw usage_error("--max-len " + std::to_string(o.run.max_len) + " exceeds the model's max_len " +
                      std::to_string(cfg.max_len) + " (its learned positions end there)");
  if (o.run.sample && !use.samples())
    throw usage_error("a classifier predicts labels; --sample does not apply (--n-best N lists the N most probable)");
  const std::size_t hyp_len = o.run.max_len ? o.run.max_len : cfg.max_len;
  // a batch never holds more than one chunk of lines, whatever --batch-size says
  const std::size_t sentences = std::min(o.run.batch_size, o.run.chunk_lines);
  // a classifier runs one forward pass per sentence: no beam, no hypotheses (--n-best lists labels)
  const std::size_t rows_per_sentence = use.predicts_labels() ? 1 : o.run.beam.beam_size;
  auto estimate = [&](std::size_t workers) {
    return estimate_decoding(cfg, static_cast<double>(sentences) * rows_per_sentence, hyp_len, hyp_len,
                             o.run.kv_precision == nn::kv_precision::f16, workers);
  };
  // one batch per thread, each with its own hypotheses, when they all fit (translate.h)
  const available_memory available = memory_available();
  o.run.workers = static_cast<std::size_t>(threads());
  const std::size_t workers = workers_for(o.run);
  const bool workers_fit = workers == 1 || estimate(workers).total() <= available.bytes;
  if (!workers_fit) o.run.workers = 1;
  check_memory(estimate(workers_fit ? workers : 1),
               use.predicts_labels()
                   ? "classifying --batch-size " + std::to_string(sentences) + " sentences of up to " +
                         std::to_string(hyp_len) + " tokens"
                   : "decoding --batch-size " + std::to_string(sentences) + " sentences with --beam " +
                         std::to_string(o.run.beam.beam_size) + " up to " + std::to_string(hyp_len) + " tokens",
               available,
               use.predicts_labels() ? "lower --batch-size or --max-len" : "lower --beam, --batch-size or --max-len");
  if (!workers_fit && !cl.quiet)
    std::cerr << "attn decode: one batch at a time on " << workers << " threads: " << workers
              << " batches' hypotheses at once would not fit in memory\n";
  check_alignment_model(o, use, cfg);

  input in(o.input_path);
  output out(o.output_path);
  lines_progress shown(cl.name, show_lines_progress(cl.quiet, o.output_path));
  const translate_report r = translate(lm, in.stream(), out.stream(), o.run, shown.callback());
  shown.done();
  if (in.stream().bad()) throw read_error(o.input_path);
  out.close();
  // transformer / rnn: `source<TAB>target` lines (a test set) decode their source, as in attn
  // attention; a classifier's text keeps its tabs (label<TAB>text data is attn eval's).
  if (r.tabbed > 0 && use.splits_source_target && !cl.quiet)
    std::cerr << "attn decode: " << r.tabbed << " input line(s) held source<TAB>target: decoded the source, "
              << "the text before the first tab\n";
  else if (r.tabbed > 0 && use.predicts_labels())
    std::cerr << "attn decode: warning: " << r.tabbed << " input line(s) hold a tab, classified as part of the text "
              << "(to score label<TAB>text data: attn eval -m CKPT --data FILE)\n";
  if (use.predicts_labels() && vm.count("beam") && !vm["beam"].defaulted() && !cl.quiet)
    std::cerr << "attn decode: --beam has no effect: " << use.a_model(cfg.family)
              << " predicts one label per line (--n-best N lists the N most probable)\n";
  if (!r.kv_cached && vm.count("kv-cache") && !vm["kv-cache"].defaulted() && !cl.quiet)
    std::cerr << "attn decode: --kv-cache " << o.kv_cache << " has no effect: " << use.a_model(cfg.family)
              << " keeps no key/value cache\n";
  if (r.cut > 0)
    std::cerr << "attn decode: warning: " << r.cut << " input line(s) cut to "
              << (o.run.max_len ? "--max-len " + std::to_string(o.run.max_len)
                                : "the model's max_len " + std::to_string(cfg.max_len))
              << " tokens\n";
  return 0;
}

}  // namespace attn::cli
