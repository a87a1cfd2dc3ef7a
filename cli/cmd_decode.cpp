// attn decode -m CKPT < src > hyp: one output line per input line, in input order.
// transformer / rnn: translate each line; lm: continue each line (an empty line = generate
// from nothing); classifier: print the predicted label. Greedy search.
#include <algorithm>
#include <iostream>
#include <numeric>
#include <string>
#include <vector>

#include "commands.h"
#include "core/error.h"
#include "decode/greedy.h"
#include "io/checkpoint.h"
#include "models/loaded_model.h"
#include "options.h"
#include "text/vocab.h"

namespace attn::cli {

namespace {

struct decode_options {
  std::string checkpoint_path, input_path = "-", output_path = "-";
  std::size_t max_len = 0;  // 0: the model's max_len
  std::size_t batch_size = 32;
  std::size_t chunk_lines = 2048;  // lines read, sorted by length and decoded together
};

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

void decode_chunk(loaded_model& lm, const decode_options& o, const std::vector<std::string>& lines,
                  std::ostream& out) {
  const std::string& family = lm.net->config().family;
  const std::size_t max_len = o.max_len ? o.max_len : lm.net->config().max_len;
  std::vector<std::vector<std::int32_t>> ids(lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (family == "classifier") ids[i].push_back(bos_id);  // as in training: <bos> x
    lm.src->encode(lines[i], ids[i]);
    if (family == "transformer" || family == "rnn") {  // as in training: x <eos>, at most max_len
      if (ids[i].size() >= max_len) ids[i].resize(max_len - 1);
      ids[i].push_back(eos_id);
    } else if (ids[i].size() > max_len) {
      ids[i].resize(max_len);
    }
  }
  std::vector<std::size_t> order(lines.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return ids[a].size() < ids[b].size(); });

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
      for (std::size_t i = 0; i < b.size; ++i) {
        const float* row = lp.data() + i * lp.shape()[1];
        const std::size_t best = static_cast<std::size_t>(std::max_element(row, row + lp.shape()[1]) - row);
        results[order[begin + i]] = lm.labels.at(best);
      }
    } else {
      const std::size_t budget = family == "lm" ? max_len - std::min(max_len - 1, b.src_len) : max_len;
      const auto hyps = greedy_decode(*lm.net, t, b, budget, family == "lm" ? eos_id : bos_id);
      for (std::size_t i = 0; i < b.size; ++i) lm.tgt().decode(hyps[i], results[order[begin + i]]);
    }
    begin = end;
  }
  for (const auto& r : results) out << r << '\n';
}

}  // namespace

int cmd_decode(const args& argv) {
  decode_options o;
  command_line cl;
  cl.name = "decode";
  cl.usage = "attn decode -m CKPT [options] [INPUT]    (INPUT or - : stdin)";
  // clang-format off
  cl.options.add_options()
      ("model,m", po::value(&o.checkpoint_path)->required(), "checkpoint to decode with")
      ("input", po::value(&o.input_path)->default_value("-"), "source text, one sentence per line (- = stdin)")
      ("output,o", po::value(&o.output_path)->default_value("-"), "where hypotheses go (- = stdout)")
      ("max-len", po::value(&o.max_len)->default_value(0), "longest output in tokens (0 = the model's max_len)")
      ("batch-size", po::value(&o.batch_size)->default_value(32), "sentences decoded together");
  // clang-format on
  cl.positional.add("input", 1);
  po::variables_map vm;
  if (!parse(cl, argv, vm)) return 0;
  if (o.batch_size == 0) throw usage_error("--batch-size must be at least 1");

  const checkpoint c = load_checkpoint(o.checkpoint_path);
  loaded_model lm = load_model(c, o.checkpoint_path);
  if (o.max_len == 1 && lm.net->config().family != "classifier") throw usage_error("--max-len must be at least 2");

  input in(o.input_path);
  output out(o.output_path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in.stream(), line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    if (lines.size() == o.chunk_lines) {
      decode_chunk(lm, o, lines, out.stream());
      lines.clear();
    }
  }
  if (in.stream().bad()) throw error("error reading '" + o.input_path + "'");
  if (!lines.empty()) decode_chunk(lm, o, lines, out.stream());
  out.close();
  return 0;
}

}  // namespace attn::cli
