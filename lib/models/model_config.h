#pragma once
// The resolved architecture of a model: written once with its defaults, stored in the
// checkpoint as key = value text (to_map / from_map), so a checkpoint alone rebuilds the model.
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/config_fields.h"
#include "core/error.h"

namespace attn {

struct model_config {
  std::string family = "transformer";       // transformer | rnn | lm | classifier
  // Transformer families (transformer, lm, classifier)
  std::size_t layers = 2;                   // encoder and decoder layers each
  std::size_t d_model = 256;
  std::size_t heads = 4;
  std::size_t ff = 1024;
  std::string activation = "gelu";          // gelu | relu
  std::string norm = "pre";                 // pre | post (LayerNorm position)
  std::string combine = "residual";         // residual | concat
  std::string pos_encoding = "sinusoidal";  // sinusoidal | learned | rope | none | hyperbolic
  std::string attention = "scaled-dot";     // scaled-dot | dot | general | additive
  float dropout = 0.1f;
  bool share_embeddings = false;            // transformer: one table for source and target
  bool tie_output = true;                   // output projection = target embedding transposed
  std::size_t max_len = 256;                // longest sequence (learned positions, decoding limit)
  // rnn
  std::size_t embed = 128;
  std::size_t hidden = 256;
  bool bidirectional = false;
  // classifier
  std::string pooling = "mean";             // mean | first
  std::size_t num_classes = 0;
  // vocabulary sizes, filled from the vocabularies
  std::size_t src_vocab = 0;                // transformer/rnn source; lm/classifier text
  std::size_t tgt_vocab = 0;                // transformer/rnn target (== src_vocab when shared)

  std::map<std::string, std::string> to_map() const;
  // Unknown keys and malformed values throw attn::error naming the key (a malformed value:
  // model_config_error, which says which key and what it expected). Ranges are not checked here:
  // model_config_problems / checked_model_config do that.
  static model_config from_map(const std::map<std::string, std::string>& m);
};

// Every field once, in order (lib/core/config_fields.h): to_map, from_map, model_config_fields()
// and the architecture options of attn train are made from it.
template <class F>
void visit_fields(model_config& c, F&& f) {
  // family: any text here; make_model checks it against the registered families (model_families()).
  f("family", c.family, field_about("model family"));
  f("layers", c.layers, field_about("Transformer layers (encoder and decoder each)"));
  f("d_model", c.d_model, field_about("Transformer width"));
  f("heads", c.heads, field_about("attention heads"));
  f("ff", c.ff, field_about("feed-forward inner width"));
  f("activation", c.activation, field_about("feed-forward activation", {"gelu", "relu"}));
  f("norm", c.norm, field_about("LayerNorm position", {"pre", "post"}));
  f("combine", c.combine, field_about("sublayer combination", {"residual", "concat"}));
  f("pos_encoding", c.pos_encoding,
    field_about("positions", {"sinusoidal", "learned", "rope", "none", "hyperbolic"}));
  f("attention", c.attention,
    field_about("attention scoring", {"scaled-dot", "scaled_dot", "dot", "general", "additive"}, {"scaled_dot"}));
  f("dropout", c.dropout, field_about("dropout probability"));
  f("share_embeddings", c.share_embeddings, field_about("transformer: one embedding table for source and target"));
  f("tie_output", c.tie_output, field_about("output projection = target embedding transposed (=false to untie)"));
  f("max_len", c.max_len, field_about("longest sequence in tokens (lm: window length)"));
  f("embed", c.embed, field_about("rnn: embedding width"));
  f("hidden", c.hidden, field_about("rnn: LSTM hidden width"));
  f("bidirectional", c.bidirectional, field_about("rnn: bidirectional encoder"));
  f("pooling", c.pooling, field_about("classifier: pooling of the encoder states", {"mean", "first"}));
  f("num_classes", c.num_classes, field_about("classifier: classes (from the data)").not_an_option());
  f("src_vocab", c.src_vocab, field_about("source vocabulary size (from the vocabulary)").not_an_option());
  f("tgt_vocab", c.tgt_vocab, field_about("target vocabulary size (from the vocabulary)").not_an_option());
}

std::vector<config_field> model_config_fields();

// A value that does not parse: key, the text found and what was expected ("a non-negative integer").
struct model_config_error : error {
  std::string key, value, expected;
  model_config_error(std::string k, std::string v, std::string e);
};

// Whether `field` (a to_map key) means anything to models of `family` ("heads" does not to an
// rnn, "hidden" does not to a transformer). The vocabulary sizes and num_classes, which come from
// the data, count as used wherever the model reads them.
bool model_config_uses(const std::string& family, const std::string& field);

// One field outside its range. `rule` completes a sentence about the field ("must be at least
// 2", "must divide d_model = 256"); other fields it mentions are rendered by the caller's
// describe(field), so a command line can say "--d-model 256" and a checkpoint "d_model = 256".
struct config_problem {
  std::string field;
  std::string rule;
};
using field_describer = std::function<std::string(const std::string& field)>;

// Every range and consistency problem of c, for the fields its family uses, in to_map order:
// widths and counts >= 1, heads dividing d_model (and 1 for additive scoring; an even head width
// for rope), dropout in [0, 1), max_len >= 2, an even hidden size for a bidirectional rnn. The
// vocabulary sizes and num_classes are checked only when `with_data_sizes` (they are 0 until the
// data has been read).
std::vector<config_problem> model_config_problems(const model_config& c, const field_describer& describe,
                                                  bool with_data_sizes = false);

// from_map, then the problems above (data sizes included), for a config read from a file:
// every error is one attn::error naming `source` ("checkpoint 'x.ckpt' holds max_len = 0
// (must be at least 2)").
model_config checked_model_config(const std::map<std::string, std::string>& m, const std::string& source);

}  // namespace attn
