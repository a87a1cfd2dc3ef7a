// attn decode -m CKPT < src > hyp: one output line per input line, in input order (--n-best N:
// N lines `index ||| hypothesis ||| score` per input). transformer / rnn: translate each line; lm:
// continue each line (an empty line = generate from nothing); classifier: print the predicted label.
// Greedy search, beam search (--beam) or sampling (--sample); docs/decoding.md.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <numeric>
#include <string>
#include <vector>

#include "commands.h"
#include "core/error.h"
#include "decode/beam.h"
#include "decode/greedy.h"
#include "decode/sampling.h"
#include "io/checkpoint.h"
#include "models/loaded_model.h"
#include "models/memory_estimate.h"
#include "options.h"
#include "text/vocab.h"

namespace attn::cli {

namespace {

struct decode_options {
  std::string checkpoint_path, input_path = "-", output_path = "-";
  std::size_t max_len = 0;  // 0: the model's max_len
  std::size_t batch_size = 32;
  std::size_t chunk_lines = 2048;  // lines read, sorted by length and decoded together
  beam_config beam{1, 1.0f, 1};    // beam_size 1 without n_best: greedy_decode
  std::size_t n_best = 0;          // 0: one plain line per input
  bool sample = false;
  sampling_config sampling;
};

// `index ||| hypothesis ||| score` (Marian's n-best format; index = 0-based input line).
void append_n_best(std::string& out, std::size_t index, const std::string& text, float score) {
  char number[32];
  std::snprintf(number, sizeof number, "%.6g", static_cast<double>(score));
  out += std::to_string(index) + " ||| " + text + " ||| " + number + "\n";
}

// Pads ids of items `order[begin..end)` into a source batch.
batch source_batch(const std::vector<std::vector<std::int32_t>>& ids, const std::vector<std::size_t>& order,
                   std::size_t begin, std::size_t end) {
  batch b;
  b.size = end - begin;
  for (std::size_t i = begin; i < end; ++i) b.src_len = std::max(b.src_len, ids[order[i]].size());
  b.src.assign(b.size * b.src_len, pad_id);
  for (std::size_t i = begin; i < end; ++i) {
    const auto& s = ids[order[i]];
    std::copy(s.begin(), s.end(), b.src.begin() + static_cast<std::ptrdiff_t>((i - begin) * b.src_len));
    b.src_lengths.push_back(static_cast<std::int32_t>(s.size()));
  }
  return b;
}

// lines[i] is input line first_line + i (n-best indices, sampling streams). `cut` counts the
// inputs shortened to max_len.
void decode_chunk(loaded_model& lm, const decode_options& o, const std::vector<std::string>& lines,
                  std::size_t first_line, std::ostream& out, std::size_t& cut) {
  const std::string& family = lm.net->config().family;
  const std::size_t max_len = o.max_len ? o.max_len : lm.net->config().max_len;
  std::vector<std::vector<std::int32_t>> ids(lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (family == "classifier") ids[i].push_back(bos_id);  // as in training: <bos> x
    lm.src->encode(lines[i], ids[i]);
    if (family == "transformer" || family == "rnn") {  // as in training: x <eos>, at most max_len
      if (ids[i].size() >= max_len) {
        ids[i].resize(max_len - 1);
        ++cut;
      }
      ids[i].push_back(eos_id);
    } else if (ids[i].size() > max_len) {
      ids[i].resize(max_len);
      ++cut;
    }
  }
  std::vector<std::size_t> order(lines.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return ids[a].size() < ids[b].size(); });

  std::vector<std::string> results(lines.size());
  tape t;
  // An lm continues prompts of one length at a time, so its batches hold equal-length prompts.
  for (std::size_t begin = 0; begin < order.size();) {
    std::size_t end = std::min(order.size(), begin + o.batch_size);
    if (family == "lm")
      for (std::size_t i = begin + 1; i < end; ++i)
        if (ids[order[i]].size() != ids[order[begin]].size()) {
          end = i;
          break;
        }
    const batch b = source_batch(ids, order, begin, end);
    if (family == "classifier") {
      no_grad off(t);
      t.reset();
      const matrix lp = lm.net->classify(t, b);  // [B, classes]
      const std::size_t classes = lp.shape()[1];
      std::vector<std::size_t> ranked(classes);
      for (std::size_t i = 0; i < b.size; ++i) {
        const float* row = lp.data() + i * classes;
        const std::size_t line = order[begin + i];
        if (o.n_best == 0) {
          const std::size_t best = static_cast<std::size_t>(std::max_element(row, row + classes) - row);
          results[line] = lm.labels.at(best) + "\n";
          continue;
        }
        std::iota(ranked.begin(), ranked.end(), 0);  // the n most probable labels with their log-probs
        std::stable_sort(ranked.begin(), ranked.end(), [&](std::size_t a, std::size_t c) { return row[a] > row[c]; });
        for (std::size_t j = 0; j < std::min(o.n_best, classes); ++j)
          append_n_best(results[line], first_line + line, lm.labels.at(ranked[j]), row[ranked[j]]);
      }
    } else {
      const std::size_t budget = family == "lm" ? max_len - std::min(max_len - 1, b.src_len) : max_len;
      const std::int32_t start = family == "lm" ? eos_id : bos_id;
      if (o.sample) {
        std::vector<std::uint64_t> streams;
        for (std::size_t i = begin; i < end; ++i) streams.push_back(first_line + order[i]);
        const auto hyps = sample_decode(*lm.net, t, b, budget, o.sampling, streams, start);
        for (std::size_t i = 0; i < b.size; ++i) lm.tgt().decode(hyps[i], results[order[begin + i]]);
      } else if (o.beam.beam_size == 1 && o.n_best == 0) {
        const auto hyps = greedy_decode(*lm.net, t, b, budget, start);
        for (std::size_t i = 0; i < b.size; ++i) lm.tgt().decode(hyps[i], results[order[begin + i]]);
      } else {
        const auto hyps = beam_decode(*lm.net, t, b, budget, o.beam, start);
        std::string text;
        for (std::size_t i = 0; i < b.size; ++i) {
          const std::size_t line = order[begin + i];
          if (o.n_best == 0) {
            lm.tgt().decode(hyps[i].front().tokens, results[line]);
            continue;
          }
          for (const hypothesis& h : hyps[i]) {
            text.clear();
            lm.tgt().decode(h.tokens, text);
            append_n_best(results[line], first_line + line, text, h.score);
          }
        }
      }
      if (o.n_best == 0)
        for (std::size_t i = begin; i < end; ++i) results[order[i]] += '\n';
    }
    begin = end;
  }
  for (const auto& r : results) out << r;
}

// Checks the search options against each other and fills o.beam / o.sampling; usage_error otherwise.
void check_search_options(decode_options& o, const po::variables_map& vm, std::int64_t beam, std::int64_t n_best,
                          std::int64_t top_k, std::int64_t seed) {
  auto given = [&](const char* name) { return vm.count(name) && !vm[name].defaulted(); };
  if (beam < 1) throw usage_error("--beam must be at least 1");
  if (o.max_len == 1) throw usage_error("--max-len must be 0 (the model's max_len) or at least 2");
  if (n_best < 0) throw usage_error("--n-best must be 0 (off) or more");
  if (top_k < 0) throw usage_error("--top-k must be 0 (off) or more");
  if (seed < 0) throw usage_error("--seed must be 0 or more");
  if (!std::isfinite(o.beam.length_penalty)) throw usage_error("--length-penalty must be a finite number");
  if (!(o.sampling.temperature >= 0.0f) || std::isinf(o.sampling.temperature))
    throw usage_error("--temperature must be a finite number >= 0");
  if (!(o.sampling.top_p > 0.0f && o.sampling.top_p <= 1.0f)) throw usage_error("--top-p must be in (0, 1]");
  if (o.sample) {
    if (given("beam") && beam > 1) throw usage_error("--sample draws one continuation; it cannot be used with --beam");
    if (given("n-best")) throw usage_error("--n-best applies to beam search, not --sample");
    if (given("length-penalty")) throw usage_error("--length-penalty applies to beam search, not --sample");
  } else {
    for (const char* name : {"temperature", "top-k", "top-p", "seed"})
      if (given(name)) throw usage_error(std::string("--") + name + " applies only with --sample");
  }
  o.n_best = static_cast<std::size_t>(n_best);
  o.beam.beam_size = static_cast<std::size_t>(given("beam") ? beam : std::max<std::int64_t>(1, n_best));
  if (o.n_best > o.beam.beam_size)
    throw usage_error("--n-best " + std::to_string(n_best) + " needs a beam at least as wide (--beam " +
                      std::to_string(beam) + ")");
  o.beam.n_best = std::max<std::size_t>(1, o.n_best);
  o.sampling.top_k = static_cast<std::size_t>(top_k);
  o.sampling.seed = static_cast<std::uint64_t>(seed);
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
      ("input", po::value(&o.input_path)->default_value("-"), "source text, one sentence per line (- = stdin)")
      ("output,o", po::value(&o.output_path)->default_value("-"), "where hypotheses go (- = stdout)")
      ("max-len", po::value(&o.max_len)->default_value(0), "longest output in tokens (0 = the model's max_len)")
      ("batch-size", po::value(&o.batch_size)->default_value(32), "sentences decoded together")
      ("beam", po::value(&beam)->default_value(1), "beam search with K hypotheses per sentence (1 = greedy)")
      ("length-penalty", po::value(&o.beam.length_penalty)->default_value(1.0f, "1"),
       "beam: rank hypotheses by log P / len^A, len counting <eos> (0 = raw log-prob)")
      ("n-best", po::value(&n_best)->default_value(0),
       "print the N best hypotheses per input as 'index ||| hypothesis ||| score' (--beam defaults to N; "
       "classifier: the N most probable labels with their log-probs)")
      ("sample", po::bool_switch(&o.sample), "sample each next token instead of searching")
      ("temperature", po::value(&o.sampling.temperature)->default_value(1.0f, "1"),
       "sampling: divide the log-probs by T (0 = always the most probable token)")
      ("top-k", po::value(&top_k)->default_value(0), "sampling: only from the K most probable tokens (0 = all)")
      ("top-p", po::value(&o.sampling.top_p)->default_value(1.0f, "1"),
       "sampling: only from the smallest set of most probable tokens with mass >= P (1 = all)")
      ("seed", po::value(&seed)->default_value(1),
       "sampling: random seed; line N draws from its own stream of (seed, N), whatever the batching");
  // clang-format on
  cl.positional.add("input", 1);
  po::variables_map vm;
  if (!parse(cl, argv, vm)) return 0;
  if (o.batch_size == 0) throw usage_error("--batch-size must be at least 1");
  check_search_options(o, vm, beam, n_best, top_k, seed);

  refuse_overwrite({{"", o.input_path}, {"-m", o.checkpoint_path}}, {{"-o", o.output_path}});
  const checkpoint c = load_checkpoint(o.checkpoint_path);
  loaded_model lm = load_model(c, o.checkpoint_path);
  const std::size_t hyp_len = o.max_len ? o.max_len : lm.net->config().max_len;
  check_memory(
      estimate_decoding(lm.net->config(), static_cast<double>(o.batch_size) * o.beam.beam_size, hyp_len, hyp_len),
      "decoding --batch-size " + std::to_string(o.batch_size) + " sentences with --beam " +
          std::to_string(o.beam.beam_size),
      "lower --beam or --batch-size");
  if (o.max_len > lm.net->config().max_len && lm.net->config().pos_encoding == "learned" &&
      lm.net->config().family != "rnn")
    throw usage_error("--max-len " + std::to_string(o.max_len) + " exceeds the model's max_len " +
                      std::to_string(lm.net->config().max_len) + " (its learned positions end there)");
  if (o.sample && lm.net->config().family == "classifier")
    throw usage_error("a classifier predicts labels; --sample does not apply (--n-best N lists the N most probable)");

  input in(o.input_path);
  output out(o.output_path);
  std::vector<std::string> lines;
  std::string line;
  std::size_t first_line = 0, cut = 0, tabbed = 0;
  // transformer / rnn: `source<TAB>target` lines (a test set) decode their source, as in attn
  // attention; a classifier's text keeps its tabs (label<TAB>text data is attn eval's).
  const std::string& family = lm.net->config().family;
  const bool seq2seq = family == "transformer" || family == "rnn";
  while (std::getline(in.stream(), line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (const std::size_t tab = line.find('\t'); tab != std::string::npos) {
      ++tabbed;
      if (seq2seq) line.resize(tab);
    }
    lines.push_back(std::move(line));
    if (lines.size() == o.chunk_lines) {
      decode_chunk(lm, o, lines, first_line, out.stream(), cut);
      first_line += lines.size();
      lines.clear();
    }
  }
  if (in.stream().bad()) throw error("error reading '" + o.input_path + "'");
  if (!lines.empty()) decode_chunk(lm, o, lines, first_line, out.stream(), cut);
  out.close();
  if (tabbed > 0 && seq2seq && !cl.quiet)
    std::cerr << "attn decode: " << tabbed << " input line(s) held source<TAB>target: decoded the source, "
              << "the text before the first tab\n";
  else if (tabbed > 0 && family == "classifier")
    std::cerr << "attn decode: warning: " << tabbed << " input line(s) hold a tab, classified as part of the text "
              << "(to score label<TAB>text data: attn eval -m CKPT --data FILE)\n";
  if (cut > 0)
    std::cerr << "attn decode: " << cut << " input line(s) cut to "
              << (o.max_len ? "--max-len " + std::to_string(o.max_len)
                            : "the model's max_len " + std::to_string(lm.net->config().max_len))
              << " tokens\n";
  return 0;
}

}  // namespace attn::cli
