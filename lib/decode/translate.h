#pragma once
// Decoding a stream of lines with a loaded model, as Marian's Translate::run: a batch generator
// (lines read in chunks, turned into source ids by the family's task, sorted by length and cut
// into batches), a search (greedy, beam or sampling; a classifier classifies) and a printer that
// writes one result per input line, in input order:
//   plain    the hypothesis (or label), one line per input
//   n-best   `index ||| hypothesis ||| score` lines, index = 0-based input line (Marian's format);
//            a classifier lists its n most probable labels with their log-probs.
// With an alignment (decode/alignment.h; families with cross-attention only), each hypothesis is
// followed by ` ||| alignment`: `hypothesis ||| alignment`, n-best `index ||| hypothesis |||
// alignment ||| score` (Marian's field order).
// Per-family differences (start token, source form, equal-length lm prompts, budget, tab
// handling) come from models/task.h. docs/decoding.md describes the searches.
#include <cstddef>
#include <istream>
#include <ostream>

#include "decode/alignment.h"
#include "decode/beam.h"
#include "decode/line_progress.h"
#include "decode/sampling.h"
#include "models/loaded_model.h"

namespace attn {

struct translate_options {
  std::size_t max_len = 0;         // longest output in tokens, and sources are cut to it (0: the model's)
  std::size_t batch_size = 32;     // sentences decoded together (>= 1)
  std::size_t chunk_lines = 2048;  // lines read, sorted by length and decoded together
  beam_config beam{1, 1.0f, 1};    // beam_size 1 without n_best: greedy_decode
  std::size_t n_best = 0;          // 0: one plain line per input
  bool sample = false;             // sample instead of searching (token hypotheses only)
  sampling_config sampling;
  alignment_kind alignment = alignment_kind::none;  // hard | soft: print each hypothesis' alignment
  long alignment_layer = -1;                        // whose cross-attention (-1: the last layer)
  nn::kv_precision kv_precision = nn::kv_precision::f32;  // the K/V caches' (model::set_kv_precision)
  // Batches decoded at once, each on one thread with a model of its own that shares the loaded
  // one's weights (at most threads(); 1: one batch at a time, its products split across the
  // threads). See translate().
  std::size_t workers = 1;
  // ... and only for a chunk of at least this many row-steps (each batch's rows × its step budget;
  // a classifier: sentences × source length): a worker's start (building its model, its first
  // batch's fresh memory) took ~45 ms, as long as ~500 output tokens of a 10 M-parameter model.
  std::size_t min_worker_steps = std::size_t{1} << 15;
};

struct translate_report {
  std::size_t lines = 0;   // input lines decoded
  std::size_t cut = 0;     // of them, sources cut to max_len
  std::size_t tabbed = 0;  // of them, lines holding a tab (split at it when the task splits source<TAB>target)
  bool kv_cached = false;  // whether the model keeps K/V caches (kv_precision applied), false for rnn
  std::size_t workers = 1;  // the most batches decoded at once (see below)
};

// Decodes every line of `in` (a trailing '\r' dropped) and writes the results to `out`, chunk by
// chunk. progress (optional) is called after every batch, from one thread at a time. Throws
// attn::error for options that do not fit the model (max_len 1, batch_size 0, sampling a
// classifier, an alignment from a model without cross-attention or from a layer past its own).
//
// Threads, as Marian's CPU workers: with workers_for(o) > 1 and a chunk of more than one batch
// and of at least o.min_worker_steps row-steps, each thread decodes whole batches, the most costly
// first (sentences × longest source), with its own model (share_model, made once, on its own
// thread: it reads the loaded model's weights and holds its own caches) and its own tape; every
// product inside a batch then runs single-threaded. The cheapest (batches % workers) of the
// chunk, and every batch otherwise, run one at a time, their products split across the threads.
// The batches are the same either way, and a worker's batch runs exactly as with --threads 1; a
// batch on all the threads differs from one thread's only where a product of over 2^20
// multiply-adds is split (blas.h), in the last bits on some CPUs' kernels.
translate_report translate(loaded_model& m, std::istream& in, std::ostream& out, const translate_options& o,
                           const line_progress& progress = {});

// The threads that decode batches at once: o.workers capped at threads(), or 1 when a batch has
// more than 256 rows (sentences × beam): products that large keep the threads busy on their own
// (measured: beam 5 × 64 sentences ran 3 % slower on workers, greedy × 256 sentences 5 % faster).
std::size_t workers_for(const translate_options& o);

}  // namespace attn
