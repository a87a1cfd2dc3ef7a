#pragma once
// What the LM-small benchmarks share (bench_memory, bench_context): the model of
// docs/benchmarks.md (d=256, 4 layers, 4 heads, ff=1024, learned positions, untied output, no
// dropout), a batch of random tokens, and the process's memory as /proc reports it.
#include <cstdint>
#include <fstream>
#include <string>

#include "core/rng.h"
#include "data/batch.h"
#include "models/model.h"
#include "text/special_tokens.h"

namespace attn::bench {

inline model_config lm_small_config(std::size_t context, std::size_t vocabulary) {
  model_config c;
  c.family = "lm";
  c.layers = 4;
  c.d_model = 256;
  c.heads = 4;
  c.ff = 1024;
  c.max_len = context;
  c.pos_encoding = "learned";
  c.tie_output = false;
  c.dropout = 0.0f;
  c.src_vocab = vocabulary;
  return c;
}

// An lm batch of `rows` windows of `context` random non-special tokens: the text in src, the
// next tokens in tgt_out.
inline batch random_lm_batch(std::size_t rows, std::size_t context, std::size_t vocabulary, rng& gen) {
  batch b;
  b.size = rows;
  b.src_len = b.tgt_len = context;
  b.src.resize(rows * context);
  b.tgt_out.resize(rows * context);
  for (std::size_t i = 0; i < rows * context; ++i) {
    b.src[i] = static_cast<std::int32_t>(fixed_specials + gen.below(vocabulary - fixed_specials));
    b.tgt_out[i] = static_cast<std::int32_t>(fixed_specials + gen.below(vocabulary - fixed_specials));
  }
  b.src_lengths.assign(rows, static_cast<std::int32_t>(context));
  b.tgt_lengths = b.src_lengths;
  return b;
}

// A /proc/self/status field in MB ("VmHWM": peak resident, "VmRSS": resident now); -1 if absent.
inline double status_mb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string key;
  double kb = 0;
  while (in >> key) {
    if (key == field + ":") {
      in >> kb;
      return kb / 1024.0;
    }
    in.ignore(1 << 12, '\n');
  }
  return -1;
}

inline double mb(std::size_t bytes) {
  return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

}  // namespace attn::bench
