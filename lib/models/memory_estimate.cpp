// Memory estimates from model_config arithmetic (see memory_estimate.h). Parameter counts mirror
// the constructors in lib/nn and lib/models exactly (a unit test compares them with the real
// stores). Activation counts are per token (training), per hypothesis (decoding) or per sentence
// (attention dumps), in floats, from what the ops keep on the tape; the coefficients are rounded
// up, so they over- rather than under-estimate. Everything is a double: no size_t can overflow.
#include "models/memory_estimate.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/error.h"

namespace attn {
namespace {

constexpr double float_bytes = 4;

// ---- parameters, as lib/nn builds them -------------------------------------------------------
double linear(double in, double out, bool bias = true) {
  return in * out + (bias ? out : 0);
}
double layer_norm(double d) {
  return 2 * d;
}

struct transformer_dims {
  double d, ff, heads, layers, max_len;
  bool general, additive, concat, pre, learned;
};

transformer_dims dims_of(const model_config& c) {
  transformer_dims t;
  t.d = static_cast<double>(c.d_model);
  t.ff = static_cast<double>(c.ff);
  t.heads = static_cast<double>(c.heads);
  t.layers = static_cast<double>(c.layers);
  t.max_len = static_cast<double>(c.max_len);
  t.general = c.attention == "general";
  t.additive = c.attention == "additive";
  t.concat = c.combine == "concat";
  t.pre = c.norm != "post";
  t.learned = c.pos_encoding == "learned";
  return t;
}

// nn::multi_head_attention: qkv (self) or q + kv (cross), general W_g, additive v, out.
double attention_params(const transformer_dims& t, bool cross) {
  double n = cross ? linear(t.d, t.d) + linear(t.d, 2 * t.d) : linear(t.d, 3 * t.d);
  if (t.general) n += t.d * t.d;
  if (t.additive) n += t.d;
  return n + linear(t.d, t.d);
}

// nn::encoder_layer: attention, ln1, [combine], feed-forward, ln2.
double encoder_layer_params(const transformer_dims& t) {
  return attention_params(t, false) + layer_norm(t.d) + (t.concat ? linear(2 * t.d, t.d) : 0) + linear(t.d, t.ff) +
         linear(t.ff, t.d) + layer_norm(t.d);
}

// nn::decoder_layer: self-attention, ln1, [self_combine], cross-attention, ln2, [cross_combine], ff, ln3.
double decoder_layer_params(const transformer_dims& t) {
  return encoder_layer_params(t) + attention_params(t, true) + layer_norm(t.d) + (t.concat ? linear(2 * t.d, t.d) : 0);
}

// nn::lstm: per direction w_ih [in, 4u], w_hh [u, 4u], bias [1, 4u].
double lstm_params(double in, double units, double directions) {
  return directions * (in * 4 * units + units * 4 * units + 4 * units);
}

// ---- activations, in floats ------------------------------------------------------------------
// One Transformer self-attention + feed-forward block, per token, forward values and their
// gradients (training), with keys over sequences of length `keys`.
double train_block_floats(const transformer_dims& t, double keys) {
  double n = 31 * t.d + 8 * t.ff + 2 * t.heads * keys;  // (the packed q|k|v and the sublayer outputs are discarded)
  if (t.concat) n += 8 * t.d;
  if (t.general) n += 4 * t.d;
  if (t.additive) n += 2 * keys * t.d;  // tanh(q_i + k_j) [Tq*Tk, d] and its gradient
  return n;
}
// The cross-attention sublayer of a decoder block, per target token (source length `keys`).
double train_cross_floats(const transformer_dims& t, double keys) {
  double n = 21 * t.d + 2 * t.heads * keys;  // (the packed k|v and the sublayer output are discarded)
  if (t.concat) n += 8 * t.d;
  if (t.additive) n += 2 * keys * t.d;
  return n;
}
// projected_cross_entropy while training: a chunk of logits (2^20 floats, or fewer rows than 64)
// and the gradient of the output weights, besides an [N,d] gradient (counted per token).
double output_layer(const transformer_dims& t, double classes) {
  return std::max<double>(1 << 20, 64 * classes) + t.d * classes;
}
// Forward only (decoding, dumps): values of one block per token, without the attention weights.
double infer_block_floats(const transformer_dims& t) {
  return 16 * t.d + 2 * t.ff + (t.concat ? 4 * t.d : 0);
}

double rnn_units(const model_config& c) {
  return static_cast<double>(c.bidirectional ? c.hidden / 2 : c.hidden);
}

}  // namespace

double parameter_count(const model_config& c) {
  const double vs = static_cast<double>(c.src_vocab), vt = static_cast<double>(c.tgt_vocab);
  if (c.family == "rnn") {
    const double e = static_cast<double>(c.embed), h = static_cast<double>(c.hidden);
    const bool additive = c.attention == "additive";
    double n = c.share_embeddings ? vs * e : (vs + vt) * e;
    n += lstm_params(e, rnn_units(c), c.bidirectional ? 2 : 1);
    n += lstm_params(additive ? e + h : e, h, 1);
    if (additive) n += linear(h, h, false) + linear(h, h) + h;  // keys (W1), query (W2, b), v
    if (c.attention == "general") n += h * h;
    return n + linear(2 * h, vt);
  }
  const transformer_dims t = dims_of(c);
  const double pos = t.learned ? t.max_len * t.d : 0;
  if (c.family == "transformer") {
    double n = c.share_embeddings ? vs * t.d : (vs + vt) * t.d;
    n += 2 * pos + t.layers * (encoder_layer_params(t) + decoder_layer_params(t));
    if (t.pre) n += 2 * layer_norm(t.d);
    if (!c.tie_output) n += linear(t.d, vt);
    return n;
  }
  if (c.family == "lm") {
    double n = vs * t.d + pos + t.layers * encoder_layer_params(t);
    if (t.pre) n += layer_norm(t.d);
    if (!c.tie_output) n += linear(t.d, vs);
    return n;
  }
  if (c.family == "classifier") {
    double n = vs * t.d + pos + t.layers * encoder_layer_params(t);
    if (t.pre) n += layer_norm(t.d);
    return n + linear(t.d, static_cast<double>(c.num_classes));
  }
  return 0;  // an unknown family: make_model names it
}

std::size_t optimizer_slot_count(const std::string& kind, float momentum, bool centered) {
  if (kind == "sgd") return momentum > 0.0f ? 1 : 0;
  if (kind == "rmsprop") return 1 + (momentum > 0.0f ? 1 : 0) + (centered ? 1 : 0);
  return 2;  // adam, adamw (and the most an unknown kind could be assumed to take)
}

memory_estimate estimate_loading(const model_config& c) {
  memory_estimate e;
  e.parameters = parameter_count(c);
  e.parameter_bytes = e.parameters * float_bytes;
  return e;
}

memory_estimate estimate_training(const model_config& c, std::size_t batch_tokens, std::size_t batch_size,
                                  std::size_t seq_len, std::size_t slots, bool recompute) {
  memory_estimate e = estimate_loading(c);
  e.gradient_bytes = e.parameter_bytes;
  e.optimizer_bytes = static_cast<double>(slots) * e.parameter_bytes;
  // make_training_checkpoint copies parameters and optimizer state while a checkpoint is written
  // (save_checkpoint streams the encoding to the file, holding 1 MiB of it).
  e.checkpoint_bytes = e.parameter_bytes + e.optimizer_bytes + (1 << 20);
  const double L = static_cast<double>(seq_len);
  const double N = batch_tokens > 0 ? static_cast<double>(batch_tokens) : static_cast<double>(batch_size) * L;
  const double T = std::max(1.0, std::min(L, N));
  e.activation_note = batch_tokens > 0 ? "for batches of " + std::to_string(batch_tokens) + " tokens"
                                       : "for batches of " + std::to_string(batch_size) + " sequences of up to " +
                                             std::to_string(seq_len) + " tokens";
  const double vs = static_cast<double>(c.src_vocab), vt = static_cast<double>(c.tgt_vocab);
  double floats = 0;
  if (c.family == "rnn") {
    const double e_ = static_cast<double>(c.embed), h = static_cast<double>(c.hidden), u = rnn_units(c);
    const bool additive = c.attention == "additive";
    const double dirs = c.bidirectional ? 2 : 1;
    const double src = dirs * (2 * e_ + 24 * u) + 4 * e_;
    const double att = (additive ? 2 * T * h : 0) + 4 * T + 8 * h;
    // per target token also the output layer's input gradient [N, 2h]; the logits only a chunk
    // at a time, with the output weights' gradient (projected_cross_entropy)
    const double tgt = 2 * (e_ + (additive ? h : 0)) + 24 * h + 4 * e_ + att + 8 * h + 2 * h;
    floats = N * (src + tgt) + std::max<double>(1 << 20, 64 * vt) + 2 * h * vt;
  } else {
    const transformer_dims t = dims_of(c);
    const double block = train_block_floats(t, T);
    if (recompute) {  // per layer its output [N, d]; one block (the decoder's, with its cross-attention) at a time
      const double one = block + (c.family == "transformer" ? train_cross_floats(t, T) : 0);
      if (c.family == "transformer")
        floats = N * (t.layers * t.d + 12 * t.d) + N * (t.layers * t.d + one + 13 * t.d) + output_layer(t, vt);
      else if (c.family == "lm")
        floats = N * (t.layers * t.d + one + 13 * t.d) + output_layer(t, vs);
      else
        floats = N * (t.layers * t.d + one + 12 * t.d);
    } else if (c.family == "transformer")
      floats =
          N * (t.layers * block + 12 * t.d) + N * (t.layers * (block + train_cross_floats(t, T)) + 13 * t.d) +
          output_layer(t, vt);
    else if (c.family == "lm")
      floats = N * (t.layers * block + 13 * t.d) + output_layer(t, vs);
    else
      floats = N * (t.layers * block + 12 * t.d);
  }
  e.activation_bytes = floats * float_bytes;
  return e;
}

void add_lora(memory_estimate& e, const std::vector<lora_target>& weights, std::size_t rank, double tokens,
              std::size_t slots) {
  const double r = static_cast<double>(rank);
  double values = 0, per_token = 0, per_step = 0;
  for (const lora_target& w : weights) {
    values += (static_cast<double>(w.in) + static_cast<double>(w.out)) * r;  // A [in, R], B [R, out]
    per_token += lora_floats_per_token(w, rank);
    per_step += lora_floats_per_step(w);
  }
  e.parameters += values;
  e.parameter_bytes += values * float_bytes;
  e.gradient_bytes += values * float_bytes;
  e.optimizer_bytes += static_cast<double>(slots) * values * float_bytes;
  e.checkpoint_bytes += (1.0 + static_cast<double>(slots)) * values * float_bytes;  // the adapter checkpoint's copies
  e.activation_bytes += (tokens * per_token + per_step) * float_bytes;
}

memory_estimate estimate_decoding(const model_config& c, double hypotheses, double src_len, double max_len,
                                  bool half_kv, std::size_t workers) {
  memory_estimate e;
  e.parameters = parameter_count(c);
  const double copies = static_cast<double>(std::max<std::size_t>(workers, 1));
  // The workers' models read the loaded one's weights (share_model), but each is built as a fresh
  // model first, its own initialised values freed once it shares: one more set, as translate()
  // builds them one at a time.
  e.parameter_bytes = (copies > 1 ? 1.0 : 0.0) * e.parameters * float_bytes;
  const double S = src_len, M = max_len, vt = static_cast<double>(c.family == "lm" ? c.src_vocab : c.tgt_vocab);
  const double kv = half_kv ? 0.5 : 1.0;  // a cached key or value in floats' bytes
  double per = 0;
  if (c.family == "rnn") {
    const double h = static_cast<double>(c.hidden);
    const bool additive = c.attention == "additive";
    const double state = 2 * S * h + 3 * h;  // encoder output, precomputed keys, h, c, context
    per = 4 * state + (additive ? S * h : 0) + S + 14 * h + 3 * vt;
  } else {
    const transformer_dims t = dims_of(c);
    if (c.family == "transformer") {
      const double caches = kv * t.layers * 2 * t.d * (M + S) + S * t.d;  // self K/V, cross K/V, memory
      // caches ×4: the live copy, the copy reorder/append builds, and as much again in heap slack
      // (measured: 5,000 beam rows of a small model took 1.8× the live bytes)
      per = 4 * caches + t.layers * (infer_block_floats(t) + 4 * t.d + t.heads * (M + S)) + 3 * vt;
    } else if (c.family == "lm") {
      per = 4 * kv * t.layers * 2 * t.d * M + t.layers * (infer_block_floats(t) + t.heads * M) + 3 * vt;
    } else {  // classifier: one forward pass over each sentence
      per = S * (t.layers * infer_block_floats(t) + 12 * t.d) + t.layers * t.heads * S * S;
    }
  }
  per += 2 * M;  // beam search: each hypothesis's tokens, twice (current and next step)
  e.activation_bytes = copies * hypotheses * per * float_bytes;
  std::ostringstream n;
  n.precision(15);
  n << "for " << hypotheses << " hypotheses of up to " << max_len << " tokens";
  if (copies > 1) n << " on each of " << copies << " threads";
  e.activation_note = n.str();
  return e;
}

memory_estimate estimate_attention_dump(const model_config& c, double src_len, double tgt_len) {
  memory_estimate e;
  e.parameters = parameter_count(c);
  const double S = src_len, T = tgt_len;
  double maps = 0, forward = 0;
  if (c.family == "rnn") {
    const double h = static_cast<double>(c.hidden), e_ = static_cast<double>(c.embed), u = rnn_units(c);
    maps = T * S;
    forward = S * ((c.bidirectional ? 2 : 1) * 12 * u + 2 * e_) +
              T * (12 * h + 4 * h + S + 3 * static_cast<double>(c.tgt_vocab) + (c.attention == "additive" ? S * h : 0));
  } else {
    const transformer_dims t = dims_of(c);
    const double block = t.layers * infer_block_floats(t);
    if (c.family == "transformer") {
      maps = t.layers * t.heads * (S * S + T * T + T * S);
      forward = (S + T) * (block + 12 * t.d) + 3 * static_cast<double>(c.tgt_vocab) * T +
                (t.additive ? t.layers * (S * S + T * T + T * S) * t.d : 0);
    } else {
      maps = t.layers * t.heads * S * S;
      forward = S * (block + 12 * t.d) + (c.family == "lm" ? 3 * static_cast<double>(c.src_vocab) * S : 0) +
                (t.additive ? t.layers * S * S * t.d : 0);
    }
  }
  e.activation_bytes = (3 * maps + forward) * float_bytes;
  e.activation_note = "for the maps, held three times, and one forward pass";
  return e;
}

available_memory memory_available() {
  available_memory a;
  a.bytes = std::numeric_limits<double>::infinity();
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  {
    std::ifstream in("/proc/meminfo");
    std::string key, unit;
    double kb = 0;
    while (in >> key >> kb) {
      std::getline(in, unit);
      if (key == "MemAvailable:") {
        a.bytes = kb * 1024;
        a.source = "this machine has";
        break;
      }
    }
  }
  if (a.source.empty()) {
    const long pages = ::sysconf(_SC_PHYS_PAGES);
    if (pages > 0) {
      a.bytes = static_cast<double>(pages) * page;
      a.source = "this machine has";
    }
  }
  // A container's memory limit (cgroup v2), when lower.
  {
    std::ifstream max("/sys/fs/cgroup/memory.max"), cur("/sys/fs/cgroup/memory.current");
    double limit = 0, used = 0;
    if (max >> limit && cur >> used) {
      // memory.current counts page cache the kernel gives back on demand: not used up.
      std::ifstream stat("/sys/fs/cgroup/memory.stat");
      std::string key;
      double value = 0;
      while (stat >> key >> value)
        if (key == "inactive_file") used = std::max(0.0, used - value);
    }
    if (limit > 0 && limit - used < a.bytes) {
      a.bytes = std::max(0.0, limit - used);
      a.source = "the memory limit of this container (cgroup memory.max) leaves";
    }
  }
  rlimit r{};
  if (::getrlimit(RLIMIT_AS, &r) == 0 && r.rlim_cur != RLIM_INFINITY) {
    double mapped = 0;
    std::ifstream statm("/proc/self/statm");
    statm >> mapped;  // pages of address space in use
    const double left = std::max(0.0, static_cast<double>(r.rlim_cur) - mapped * page);
    if (left < a.bytes) {
      a.bytes = left;
      a.source = "the address-space limit (ulimit -v) leaves";
    }
  }
  return a;
}

std::string format_bytes(double bytes) {
  static const char* units[] = {"bytes", "kB", "MB", "GB", "TB", "PB", "EB"};
  std::size_t u = 0;
  while (bytes >= 1000 && u + 1 < sizeof units / sizeof *units) {
    bytes /= 1000;
    ++u;
  }
  char buf[48];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%.0f bytes", bytes);
  else
    std::snprintf(buf, sizeof buf, bytes < 10 ? "%.1f %s" : "%.0f %s", bytes, units[u]);
  return buf;
}

void check_memory(const memory_estimate& e, const std::string& subject, const available_memory& available,
                  const std::string& advice) {
  if (e.total() <= available.bytes) return;
  std::string parts;
  auto part = [&](const char* what, double bytes, const std::string& note = "") {
    if (bytes <= 0) return;
    parts +=
        (parts.empty() ? "" : ", ") + std::string(what) + " " + format_bytes(bytes) + (note.empty() ? "" : " " + note);
  };
  part("parameters", e.parameter_bytes);
  part("gradients", e.gradient_bytes);
  part("optimizer state", e.optimizer_bytes);
  part("checkpoint copies", e.checkpoint_bytes);
  part("activations", e.activation_bytes, e.activation_note);
  std::ostringstream params;
  params.precision(3);
  params << e.parameters;
  throw error(subject + " needs about " + format_bytes(e.total()) + " (" + parts +
              (e.parameter_bytes > 0 ? "; " + params.str() + " parameters" : "") + ") but " + available.source + " " +
              format_bytes(available.bytes) + " available" + (advice.empty() ? "" : "; " + advice));
}

void check_memory(const memory_estimate& e, const std::string& subject, const std::string& advice) {
  check_memory(e, subject, memory_available(), advice);
}

}  // namespace attn
