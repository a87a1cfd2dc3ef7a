#pragma once
// Attention dumps: per input line, the model's attention maps (model::attention_maps, one
// teacher-forced forward pass without dropout), filtered by kind, layer and head (or the mean
// over heads), written as CSV rows:
//   sentence,module,kind,layer,head,query_pos,query_token,key_pos,key_token,weight
// sentence = the 0-based input line (as decode's n-best index). How a line becomes a sentence is
// the family's (models/task.h, attention_input): seq2seq `source` (the target is the model's own
// greedy translation) or `source<TAB>target` (the given target); lm: <eos> text; classifier: <bos> text.
// Sentences stream: each one's rows are written before the next is read, so memory is one
// sentence's, and a sentence whose maps would not fit in memory is refused with the estimate.
#include <cstddef>
#include <functional>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "decode/line_progress.h"
#include "models/loaded_model.h"

namespace attn {

struct attend_options {
  std::string kind;         // self | cross | all ("" = the task's default kind)
  long layer = -1;          // one layer, or -1 = all
  long head = -1;           // one head, or -1 = all (ignored with head_mean)
  bool head_mean = false;   // one row set per map: the mean over its heads (head column "mean")
  std::size_t max_len = 0;  // sequences are cut to max_len tokens (0: the model's max_len)
};

struct attend_report {
  std::size_t lines = 0;  // sentences dumped
  std::size_t cut = 0;    // sequences cut to max_len (a seq2seq line counts its source and its target)
};

// One selected map of one sentence as the dump writes it: one head (or the mean over heads) of
// one attention module. Valid only during the sink call that receives it.
struct head_map {
  std::size_t sentence = 0;  // 0-based input line
  std::string module, kind;  // as attention_map's: "decoder.layers.1.cross_attn", "cross"
  std::size_t layer = 0;
  long head = 0;  // 0-based head, or -1 for the mean over heads (--head mean)
  std::size_t heads = 1;                                 // the module's head count H
  const std::vector<std::string>* query_tokens = nullptr;  // Tq pieces, escaped as `attn tokenize --pieces`
  const std::vector<std::string>* key_tokens = nullptr;    // Tk pieces
  std::vector<float> weights;                            // [Tq, Tk], row q = query q's distribution over the keys
  std::size_t queries() const { return query_tokens->size(); }
  std::size_t keys() const { return key_tokens->size(); }
  float at(std::size_t q, std::size_t k) const { return weights[q * keys() + k]; }
};

// Receives the maps in dump order: sentence, module (the model's order), head.
using head_map_sink = std::function<void(const head_map&)>;

// A CSV field: quoted (with "" for ") when it holds a comma, quote or line break.
std::string csv_field(const std::string& s);

// Writes the CSV header and the rows of every line of `in` (a trailing '\r' dropped) to `out`.
// progress (optional) is called after every line. Throws attn::error, naming the 1-based line,
// for invalid UTF-8, a seq2seq line with more than two tab-separated fields, or a sentence whose
// maps would not fit in memory; and for options that do not fit the model (an attention kind it
// lacks, a layer or head past its own, max_len 1).
attend_report attend(loaded_model& m, std::istream& in, std::ostream& out, const attend_options& o,
                     const line_progress& progress = {});

// The same maps as attend() writes, given to `sink` one (sentence, module, head) at a time instead
// of written as CSV (for pictures: lib/viz). Same input, options and errors as attend().
attend_report attend_maps(loaded_model& m, std::istream& in, const attend_options& o, const head_map_sink& sink,
                          const line_progress& progress = {});

}  // namespace attn
