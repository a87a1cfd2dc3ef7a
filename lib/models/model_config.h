#pragma once
// The resolved architecture of a model: written once with its defaults, stored in the
// checkpoint as key = value text (to_map / from_map), so a checkpoint alone rebuilds the model.
#include <cstddef>
#include <map>
#include <string>

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
  // Unknown keys and malformed values throw attn::error naming the key.
  static model_config from_map(const std::map<std::string, std::string>& m);
};

}  // namespace attn
