#pragma once
// Training and validation data: text files read into token ids, grouped by make_batches
// (batching.h) and padded into `batch`es (data/batch.h). Three formats, one per task:
//   lm          plain text, one sequence per line. Lines are packed into one token stream with
//               <eos> after each line and cut into windows of max_len + 1 tokens (nanoGPT style):
//               src = window[0 .. T-1], tgt_out = window[1 .. T]; consecutive windows share one
//               token, so every token is predicted exactly once. Empty lines are skipped.
//   pairs       TSV `source<TAB>target` (transformer, rnn): src = x <eos>, tgt_in = <bos> y,
//               tgt_out = y <eos>.
//   labeled     TSV `label<TAB>text` (classifier): src = <bos> x (so `--pooling first` pools
//               a dedicated position), labels = index of the label in the label list.
// Malformed lines (wrong number of tab-separated fields, an empty side, invalid UTF-8, an
// unknown label in validation data) are counted, the first few reported with their line
// numbers, and skipped; with `strict` the first one throws attn::error.
#include <cstddef>
#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "data/batch.h"
#include "text/tokenizer.h"

namespace attn {

enum class data_format { lm, pairs, labeled };

// The data format a model family reads: lm -> lm, classifier -> labeled, others -> pairs.
struct example {
  std::vector<std::int32_t> src;  // lm: window[0..T-1]; pairs: x <eos>; labeled: <bos> x
  std::vector<std::int32_t> tgt;  // lm: window[1..T];   pairs: y (no specials); labeled: empty
  std::int32_t label = -1;        // labeled only
};

struct dataset {
  data_format format = data_format::pairs;
  std::vector<example> examples;
  std::vector<std::size_t> lengths;  // batching cost of each example (padded tokens it needs)
  std::size_t bytes = 0;             // lm: UTF-8 bytes of the text, each non-blank line + 1 for its end
                                     // (the <eos> predicted there): the denominator of bits per byte
  std::size_t tokens() const;        // target tokens over all examples (lm, pairs) or examples (labeled)
};

enum class long_policy { truncate, skip };

struct dataset_options {
  data_format format = data_format::pairs;
  std::size_t max_len = 256;  // lm: window length T; others: longest src / tgt side
  long_policy too_long = long_policy::truncate;
  bool strict = false;           // the first malformed line throws instead of being skipped
  bool grow_labels = true;       // labeled: unseen labels are added (training) or malformed (validation)
  std::size_t report_lines = 5;  // how many problems are kept in data_report::problems
};

// What reading found, for the user.
struct data_report {
  std::size_t lines = 0;              // lines read
  std::size_t malformed = 0;          // lines skipped as malformed
  std::vector<std::string> problems;  // "NAME:LINE: why", the first report_lines of them
  std::uint64_t first_line = 0;       // the first malformed line's number, and why it is
  std::string first_why;              // ("expected 2 tab-separated fields (source, target), found 1")
  std::size_t truncated = 0;          // examples cut to max_len
  std::size_t skipped_long = 0;       // examples dropped for exceeding max_len (long_policy::skip)
};

// Reads `in` (name is for messages). src tokenizes lm text, sources and classifier text; tgt
// tokenizes targets (pairs; may be the same object as src). labels is the classifier's label
// list (index = label id), grown when opts.grow_labels.
dataset read_dataset(std::istream& in, const std::string& name, const dataset_options& opts, tokenizer& src,
                     tokenizer& tgt, std::vector<std::string>& labels, data_report& report);

// The warnings a report gives, one line each, for the user: "3 malformed lines of 10 in NAME
// skipped:" with the problems indented below (and "  ..." for those not kept), then the examples
// truncated or skipped for exceeding --max-len max_len. Empty when nothing went wrong.
std::vector<std::string> report_warnings(const data_report& report, const std::string& name, std::size_t max_len);

// The one error line for a file that gave no example: "'x.txt' holds no usable examples", and
// why when lines were skipped: "…: none of its 500 lines is usable source<TAB>target; line 1:
// expected 2 tab-separated fields (source, target), found 1". Callers show it instead of
// report_warnings, whose several lines would only repeat it (a wrong-format file, the usual case).
std::string no_examples_message(const data_report& report, const std::string& name, data_format format,
                                std::size_t max_len);

// Pads the examples at `indices` into one batch (pad_id fills; lengths per item). For lm the
// window is in src and tgt_out, and tgt_in repeats src (decoder-only models read either).
batch make_batch(const dataset& d, const std::vector<std::size_t>& indices);

}  // namespace attn
