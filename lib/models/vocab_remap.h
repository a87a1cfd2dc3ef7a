#pragma once
// A new vocabulary for a trained model (attn finetune --vocab / --src-vocab / --tgt-vocab):
// the tensors indexed by token are rebuilt for the new vocabulary **by token string**.
//
// Tensors indexed by token (is_vocabulary_parameter), per family:
//   embed.weight [V, d]       lm, classifier, transformer/rnn with share_embeddings   rows, src role
//   src_embed.weight [Vs, d]  transformer, rnn                                         rows, src role
//   tgt_embed.weight [Vt, d]  transformer, rnn                                         rows, tgt role
//   out.weight [d, V], out.bias [1, V]   lm, transformer (untied), rnn                 columns, tgt role
// (an lm's tgt role is its one vocabulary). For every token t of the new vocabulary:
//   kept      t's bytes are a token of the base vocabulary: its row, bit for bit;
//   new       otherwise: the mean of the base's rows for the pieces the base's tokenizer splits
//             t's text into (<unk> pieces left out), accumulated in double;
//   fallback  a new token with no piece left (every piece <unk>, e.g. a character the base's char
//             vocabulary never saw), and a new *special* token (its text is markup, not language):
//             the base's <unk> row. Counted among the new ones.
// Base tokens absent from the new vocabulary lose their rows (dropped). The fixed specials <pad>
// <unk> <bos> <eos> are in every vocabulary, so they are always kept. Tied output (tie_output)
// needs nothing more: the output is the embedding; shared embeddings (share_embeddings) need one
// vocabulary for both roles. The vocabularies' kinds (char, word, bpe) may differ: the remap
// goes through token strings and the base's own tokenizer.
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/parameter.h"
#include "io/checkpoint.h"
#include "models/model.h"
#include "models/model_config.h"
#include "text/vocab.h"

namespace attn {

// A model's vocabularies: one for both roles, or a source and a target one.
struct vocab_roles {
  vocab src;                 // sources, lm text, classifier text; both roles when tgt is empty
  std::optional<vocab> tgt;  // transformer/rnn with separate vocabularies
  const vocab& target() const { return tgt ? *tgt : src; }
};

struct vocab_remap_counts {
  std::size_t kept = 0;      // new-vocabulary tokens found in the base's (rows copied)
  std::size_t added = 0;     // new-vocabulary tokens the base lacks (rows from their pieces)
  std::size_t fallback = 0;  // of `added`: the ones given the base's <unk> row
  std::size_t dropped = 0;   // base tokens the new vocabulary lacks (rows removed)
};

struct vocab_remap_result {
  model_config config;                   // the base's, src_vocab / tgt_vocab of the new vocabularies
  std::vector<checkpoint_param> params;  // the base's in its order, the vocabulary tensors rebuilt
  // By role: "shared" when base and new vocabularies are one per model, else "src" and "tgt".
  std::map<std::string, vocab_remap_counts> counts;
};

// Rebuilds `params` (a model of config `cfg` trained with vocabularies `base`) for the
// vocabularies `next`. Pure: the inputs are not changed. Throws attn::error when the parameters
// do not fit cfg and `base` (a vocabulary tensor missing or of another size), when
// share_embeddings would need two vocabularies, or when the result is not the parameter set of
// make_model(config) (a family with another vocabulary-indexed tensor).
vocab_remap_result remap_vocabularies(const model_config& cfg, const std::vector<checkpoint_param>& params,
                                      const vocab_roles& base, const vocab_roles& next);

// "src: 180 kept, 320 new (2 from <unk>), 220 dropped; tgt: ..." — the counts as one line.
std::string describe_remap(const std::map<std::string, vocab_remap_counts>& counts);

// True for the names of the tensors above (full names: "embed.weight", not "x.embed.weight").
bool is_vocabulary_parameter(const std::string& name);
// True when params hold one of their weights (an adapter trained with a new vocabulary does; one
// trained with --lora-train-bias alone may hold out.bias).
bool holds_vocabulary_parameters(const std::vector<checkpoint_param>& params);

// The model of config `cfg` (a remapped one) with `base`'s parameters, all but the vocabulary
// tensors, which keep their initial values until the caller imports them (from the adapter
// that carries them). Throws attn::error when another parameter does not fit.
std::unique_ptr<model> make_model_on_base(const model_config& cfg, const std::vector<checkpoint_param>& base);

// Sets trainable on the vocabulary tensors of store (LoRA with a new vocabulary: they train and
// go into the adapter whole). Returns the number of values they hold.
std::size_t train_vocabulary_parameters(parameter_store& store);

}  // namespace attn
