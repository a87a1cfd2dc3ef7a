// LSTM encoder-decoder with attention (Bahdanau et al. 2015; Luong et al. 2015).
//
// Encoder: x = E_src[src] [B*S, e] -> LSTM -> enc [B*S, h]. Bidirectional: each direction has h/2
// units (h must be even) and enc = [fwd ; bwd], as OpenNMT does, so the decoder's initial state is
// the concatenation of the two final states ([h_fwd ; h_bwd], [c_fwd ; c_bwd], each [B, h]) — no
// bridge layer is needed. Unidirectional: the encoder's final state.
//
// attention = additive (Bahdanau, step by step, input feeding):
//   x_t   = [E_tgt[y_{t-1}] ; ctx_{t-1}]                   [B, e + h], ctx_{-1} = 0
//   (h_t, c_t) = LSTM(x_t, (h_{t-1}, c_{t-1}))
//   e_tj  = vᵀ tanh(W₁ enc_j + W₂ h_t + b),  a_t = softmax_j(e_t) over valid j,  ctx_t = Σ_j a_tj enc_j
//   logits_t = [h_t ; ctx_t]·W_out + b_out                 [B, V]
// attention = dot | general | scaled-dot (Luong; whole target sequence at once):
//   dec = LSTM(E_tgt[tgt_in]) from the encoder's final state   [B*T, h]
//   ctx = softmax(dec·K'ᵀ)·enc with K' = enc (dot) or enc·W_g (general)   one ops::attention call, 1 head;
//   scaled-dot (the config default) is dot with the scores divided by √h
//   logits = [dec ; ctx]·W_out + b_out   (Keras: Concatenate([decoder_outputs, attention_output]) -> Dense)
// Dropout (config dropout) on the embeddings and on [h ; ctx] before the output layer.
// Training loss: the output layer runs over the non-pad target rows only (log_probs: all rows).
//
// Parameters: src_embed.weight [Vs, e], tgt_embed.weight [Vt, e] (embed.weight when share_embeddings);
// encoder.lstm.{fwd,bwd}.*; decoder.lstm.fwd.*; attention.{keys,query,v}.* (additive) or
// attention.general.weight [h, h] (general); out.weight [2h, Vt], out.bias.
#include <algorithm>
#include <memory>

#include "core/error.h"
#include "core/init.h"
#include "models/common.h"
#include "nn/additive_attention.h"
#include "nn/dropout.h"
#include "nn/embedding.h"
#include "nn/linear.h"
#include "nn/lstm.h"
#include "text/special_tokens.h"

namespace attn::models_detail {
namespace {

enum class rnn_attention { additive, dot, general, scaled_dot };

rnn_attention parse_rnn_attention(const std::string& s) {
  if (s == "additive") return rnn_attention::additive;
  if (s == "dot") return rnn_attention::dot;
  if (s == "general") return rnn_attention::general;
  if (s == "scaled-dot" || s == "scaled_dot") return rnn_attention::scaled_dot;
  throw error("rnn: attention must be additive, dot, general or scaled-dot (got '" + s + "')");
}

class rnn_model : public model {
 public:
  rnn_model(const model_config& c, rng& gen) : cfg_(c), kind_(parse_rnn_attention(c.attention)) {
    if (c.src_vocab == 0 || c.tgt_vocab == 0) throw error("rnn: src_vocab and tgt_vocab must be set");
    if (c.hidden == 0 || c.embed == 0) throw error("rnn: embed and hidden must be positive");
    if (c.bidirectional && c.hidden % 2 != 0)
      throw error("rnn: a bidirectional encoder needs an even hidden size (h/2 units per direction)");
    if (c.share_embeddings && c.src_vocab != c.tgt_vocab)
      throw error("rnn: share_embeddings needs src_vocab == tgt_vocab");
    const std::size_t h = c.hidden, e = c.embed;
    if (c.share_embeddings) {
      src_embed_ = nn::embedding(params_, "embed", c.src_vocab, e, gen);
      tgt_embed_ = src_embed_;
    } else {
      src_embed_ = nn::embedding(params_, "src_embed", c.src_vocab, e, gen);
      tgt_embed_ = nn::embedding(params_, "tgt_embed", c.tgt_vocab, e, gen);
    }
    encoder_ = nn::lstm(params_, "encoder.lstm", e, c.bidirectional ? h / 2 : h, c.bidirectional, gen);
    decoder_ = nn::lstm(params_, "decoder.lstm", kind_ == rnn_attention::additive ? e + h : e, h, false, gen);
    if (kind_ == rnn_attention::additive) {
      additive_ = nn::additive_attention(params_, "attention", h, h, h, gen);
    } else if (kind_ == rnn_attention::general) {
      general_ = &params_.add("attention.general.weight", h, h);
      init_xavier_uniform(general_->value, gen);
    }
    out_ = nn::linear(params_, "out", 2 * h, c.tgt_vocab, gen);
    drop_.p = c.dropout;
  }

  const model_config& config() const override { return cfg_; }

  loss_result loss(tape& t, const batch& b, rng& gen, float label_smoothing) override {
    check_batch(b, true, "rnn");
    var features = forward_features(t, b, gen);  // [B*T, 2h]
    // The output layer (the biggest product) only for the rows the loss counts: padding rows
    // would only be masked out of the loss afterwards. Same loss, same gradients.
    std::vector<std::int32_t> rows, targets;
    for (std::size_t i = 0; i < b.tgt_out.size(); ++i)
      if (b.tgt_out[i] != pad_id) {
        rows.push_back(static_cast<std::int32_t>(i));
        targets.push_back(b.tgt_out[i]);
      }
    const bool all_rows = rows.empty() || rows.size() == b.tgt_out.size();
    var h = all_rows ? features : gather_rows(features, rows);
    const std::vector<std::int32_t>& counted = all_rows ? b.tgt_out : targets;
    // Without an adapter, the fused output loss (projected_cross_entropy): the [rows, vocab]
    // logits and their gradient are never held whole, and the loss, its gradient and the
    // accuracy come from the same chunked products. An adapter's low-rank path (and its dropout)
    // needs the layer's own forward pass.
    if (!out_.has_adapter())
      return output_token_loss(h, out_.weight(), out_.bias(), false, counted, pad_id, label_smoothing);
    return token_loss(out_.forward(h, &gen), counted, pad_id, label_smoothing);
  }

  matrix log_probs(tape& t, const batch& b) override {
    check_batch(b, true, "rnn");
    no_grad ng(t);
    rng unused(0);
    return log_softmax_rows(forward(t, b, unused).value());
  }

  // One map: the decoder's attention over the encoder outputs, queries = target steps.
  std::vector<attention_map> attention_maps(tape& t, const batch& b) override {
    check_batch(b, true, "rnn");
    no_grad ng(t);
    rng unused(0);
    attention_map m;
    m.module = "attention";
    m.kind = "cross";
    m.queries = sequence_side::target;
    m.keys = sequence_side::source;
    m.q_len = b.tgt_len;
    m.k_len = b.src_len;
    attention_weights w;
    forward(t, b, unused, &w);
    m.weights = std::move(w.w);
    return {m};
  }

  void start_decoding(tape& t, const batch& b) override {
    check_batch(b, false, "rnn");
    no_grad ng(t);
    rng unused(0);
    encoded e = encode(t, b, unused);
    batch_ = b.size;
    src_len_ = b.src_len;
    src_lengths_ = lengths_or_full(b.src_lengths, b.size, b.src_len);
    enc_ = e.out.value();
    keys_ = kind_ == rnn_attention::additive  ? additive_.precompute_keys(e.out, b.size, b.src_len).projected.value()
            : kind_ == rnn_attention::general ? matmul(e.out, t.param(*general_)).value()
                                              : matrix();
    h_ = e.init.h.value();
    c_ = e.init.c.value();
    ctx_ = matrix::from_shape({b.size, cfg_.hidden});
    ctx_.fill(0.0f);
    started_ = true;
  }

  // last_tokens [B] -> log-probs [B, V]
  matrix decode_step(tape& t, const std::vector<std::int32_t>& last_tokens) override {
    return log_softmax_rows(decode_step_logits(t, last_tokens));
  }

  // last_tokens [B] -> logits [B, V]
  matrix decode_step_logits(tape& t, const std::vector<std::int32_t>& last_tokens) override {
    if (!started_) throw error("rnn: decode_step before start_decoding");
    if (last_tokens.size() != batch_) throw error("rnn: decode_step needs one token per batch item");
    no_grad ng(t);
    var enc = t.constant(enc_);
    var y = tgt_embed_.forward(t, last_tokens);
    nn::lstm_state s{t.constant(h_), t.constant(c_)};
    var ctx;
    if (kind_ == rnn_attention::additive) {
      s = decoder_.step(concat_cols({y, t.constant(ctx_)}), s);
      nn::additive_attention::keys k{t.constant(keys_), enc, batch_, src_len_, src_lengths_};
      ctx = additive_.attend(k, s.h, keep_step_ ? &step_weights_ : nullptr);
      ctx_ = ctx.value();
    } else {
      s = decoder_.step(y, s);
      ctx = luong(s.h, enc, kind_ == rnn_attention::general ? t.constant(keys_) : enc, batch_, 1, src_len_,
                  src_lengths_, keep_step_ ? &step_weights_ : nullptr);
    }
    h_ = s.h.value();
    c_ = s.c.value();
    return t.take_value(out_.forward(concat_cols({s.h, ctx})));
  }

  // Alignment: its one attention (layer 0) keeps each step's weights [rows, S].
  void keep_step_attention(bool keep, long layer) override {
    if (layer > 0 || layer < -1)
      throw error("rnn: attention layer " + std::to_string(layer) + " is past the model's one attention (layer 0)");
    keep_step_ = keep;
  }

  const matrix& step_attention() const override { return keep_step_ ? step_weights_.w : model::step_attention(); }

  void reorder_decoding(const std::vector<std::int32_t>& order) override {
    enc_ = pick_items(enc_, batch_, src_len_, order);  // validates order
    if (kind_ == rnn_attention::additive || kind_ == rnn_attention::general)
      keys_ = pick_items(keys_, batch_, src_len_, order);
    h_ = pick_items(h_, batch_, 1, order);
    c_ = pick_items(c_, batch_, 1, order);
    ctx_ = pick_items(ctx_, batch_, 1, order);
    src_lengths_ = pick(src_lengths_, order);
    batch_ = order.size();
  }

 private:
  struct encoded {
    var out;              // [B*S, h]
    nn::lstm_state init;  // decoder's initial state [B, h] each
  };

  encoded encode(tape& t, const batch& b, rng& gen) {
    var x = drop_.forward(src_embed_.forward(t, b.src), gen);
    nn::lstm_output o = encoder_.forward(x, b.size, b.src_len, b.src_lengths);
    if (o.final.size() == 1) return {o.y, o.final[0]};
    return {o.y, {concat_cols({o.final[0].h, o.final[1].h}), concat_cols({o.final[0].c, o.final[1].c})}};
  }

  // Luong attention: q [B*Tq, h] over keys k [B*S, h] (enc or enc·W_g), values enc -> ctx [B*Tq, h]
  // keep (optional) receives the weights [B*Tq, Tk].
  var luong(var q, var values, var k, std::size_t batch, std::size_t q_len, std::size_t k_len,
            const std::vector<std::int32_t>& lengths, attention_weights* keep = nullptr) const {
    attention_shape s;
    s.batch = batch;
    s.q_len = q_len;
    s.k_len = k_len;
    s.heads = 1;
    s.k_lengths = lengths;
    return attention(q, k, values, s, kind_ == rnn_attention::scaled_dot ? scoring::scaled_dot : scoring::dot, keep);
  }

  // teacher forcing -> logits [B*T, V]; keep (optional) receives the attention weights [B*T, S]
  var forward(tape& t, const batch& b, rng& gen, attention_weights* keep = nullptr) {
    return out_.forward(forward_features(t, b, gen, keep), &gen);
  }

  // teacher forcing -> the output layer's input [B*T, 2h] (after dropout); keep as forward()
  var forward_features(tape& t, const batch& b, rng& gen, attention_weights* keep = nullptr) {
    const std::size_t B = b.size, T = b.tgt_len;
    encoded e = encode(t, b, gen);
    var y = drop_.forward(tgt_embed_.forward(t, b.tgt_in), gen);  // [B*T, e]
    var features;                                                 // [B*T, 2h]
    if (kind_ == rnn_attention::additive) {
      nn::additive_attention::keys k = additive_.precompute_keys(e.out, B, b.src_len, b.src_lengths, &gen);
      nn::lstm_state s = e.init;
      const nn::lstm::step_weights w = decoder_.weights(t);  // LoRA adapters folded in once, not per step
      matrix zero = matrix::from_shape({B, cfg_.hidden});
      zero.fill(0.0f);
      var ctx = t.constant(zero);
      std::vector<var> steps;  // [B, 2h] per step, time-major
      std::vector<std::int32_t> rows_t(B);
      attention_weights step_weights;  // [B, S] of one step, when keeping
      if (keep) keep->w = matrix::from_shape({B * T, b.src_len});
      for (std::size_t step = 0; step < T; ++step) {
        for (std::size_t i = 0; i < B; ++i) rows_t[i] = static_cast<std::int32_t>(i * T + step);
        s = decoder_.step(concat_cols({gather_rows(y, rows_t), ctx}), s, w);
        ctx = additive_.attend(k, s.h, keep ? &step_weights : nullptr, &gen);
        if (keep)  // row i of the step -> row i*T + step
          for (std::size_t i = 0; i < B; ++i)
            std::copy_n(step_weights.w.data() + i * b.src_len, b.src_len, keep->w.data() + (i * T + step) * b.src_len);
        steps.push_back(concat_cols({s.h, ctx}));
      }
      // time-major [T*B] -> batch-major [B*T]: row b*T + t reads row t*B + b
      std::vector<std::int32_t> order(B * T);
      for (std::size_t i = 0; i < B; ++i)
        for (std::size_t step = 0; step < T; ++step) order[i * T + step] = static_cast<std::int32_t>(step * B + i);
      features = gather_rows(concat_rows(steps), order);
    } else {
      nn::lstm_output dec = decoder_.forward(y, B, T, b.tgt_lengths, {e.init});
      var k = kind_ == rnn_attention::general ? matmul(e.out, t.param(*general_)) : e.out;
      features = concat_cols({dec.y, luong(dec.y, e.out, k, B, T, b.src_len, b.src_lengths, keep)});
    }
    return drop_.forward(features, gen);
  }

  model_config cfg_;
  rnn_attention kind_;
  nn::embedding src_embed_, tgt_embed_;
  nn::lstm encoder_, decoder_;
  nn::additive_attention additive_;
  parameter* general_ = nullptr;
  nn::linear out_;
  nn::dropout drop_;
  // decoding state
  bool started_ = false;
  std::size_t batch_ = 0, src_len_ = 0;
  std::vector<std::int32_t> src_lengths_;
  matrix enc_, keys_, h_, c_, ctx_;
  bool keep_step_ = false;          // keep_step_attention
  attention_weights step_weights_;  // the last decode_step's attention [rows, S], when kept
};

}  // namespace

std::unique_ptr<model> make_rnn(const model_config& c, rng& gen) {
  return std::make_unique<rnn_model>(c, gen);
}

}  // namespace attn::models_detail
