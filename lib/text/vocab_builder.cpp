#include "text/vocab_builder.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "text/bpe_trainer.h"
#include "text/escape.h"
#include "text/pretokenize.h"
#include "text/utf8.h"

namespace attn {

std::string vocab_options_problem(const vocab_options& opts) {
  const std::size_t specials = fixed_specials + opts.specials.size();
  const std::size_t minimum = specials + (opts.kind == tokenizer_kind::bpe ? 256 : 1);
  if (opts.size < minimum)
    return "--size " + std::to_string(opts.size) + " is too small: a " + kind_name(opts.kind) + " vocabulary with " +
           std::to_string(specials) + " special tokens needs at least " + std::to_string(minimum) +
           (opts.kind == tokenizer_kind::bpe ? " (specials + 256 bytes)" : "");
  if (opts.size > (std::size_t(1) << 28)) return "--size " + std::to_string(opts.size) + " is too large";
  if (opts.min_freq < 1) return "--min-freq must be at least 1";
  for (std::size_t i = 0; i < opts.specials.size(); ++i) {
    const std::string& s = opts.specials[i];
    if (s.empty()) return "a special token cannot be empty";
    if (s.find('\n') != std::string::npos) return "a special token cannot contain a newline";
    for (const char* f : fixed_special_tokens)
      if (s == f) return "'" + s + "' is always a special token; give only extra ones with --special";
    for (std::size_t j = 0; j < i; ++j)
      if (opts.specials[j] == s) return "special token '" + s + "' is given twice";
    // a byte-level vocabulary holds every single byte as an ordinary token already
    if (opts.kind == tokenizer_kind::bpe && s.size() == 1)
      return "--special '" + escape_token(s) + "' is a single byte, which a bpe vocabulary always holds as a token";
  }
  return "";
}

vocab_builder::vocab_builder(vocab_options opts) : opts_(std::move(opts)) {
  const std::string problem = vocab_options_problem(opts_);
  if (!problem.empty()) throw attn::error(problem);
  specials_ = special_matcher(opts_.specials, fixed_specials);
  special_counts_.assign(fixed_specials + opts_.specials.size(), 0);
}

void vocab_builder::add(std::string_view text) {
  specials_.split(
      text,
      [&](std::string_view plain) {
        if (!opts_.lowercase) return count(plain);
        lowered_.clear();
        utf8_lowercase(plain, lowered_);
        count(lowered_);
      },
      [&](int32_t id, std::string_view) { ++special_counts_[id]; });
}

void vocab_builder::count(std::string_view plain) {
  auto bump = [&](std::string_view unit) {
    bool added;
    const int32_t id = units_.insert(unit, &added);
    if (added) counts_.push_back(0);
    ++counts_[id];
  };
  if (opts_.kind == tokenizer_kind::char_level) {
    const char* p = plain.data();
    const char* end = p + plain.size();
    while (p < end) {
      uint32_t cp;
      const int n = utf8_decode(p, end, cp);
      bump(std::string_view(p, n));
      p += n;
    }
    return;
  }
  word_splitter words(plain, opts_.kind == tokenizer_kind::word ? split_mode::word : split_mode::bpe);
  std::string_view w;
  while (words.next(w)) bump(w);
}

vocab vocab_builder::build(const std::function<void(std::size_t, std::size_t)>& progress) const {
  vocab v = make_special_vocab(opts_.kind, opts_.specials);
  v.lowercase = opts_.lowercase;
  for (std::size_t i = 0; i < special_counts_.size(); ++i) v.counts[i] = special_counts_[i];
  if (opts_.kind == tokenizer_kind::bpe) {
    bpe_options b;
    b.num_tokens = opts_.size - v.tokens.size();
    b.min_freq = opts_.min_freq;
    b.forbidden.assign(v.tokens.begin(), v.tokens.end());
    if (progress) {
      const std::size_t specials = v.tokens.size();
      b.progress = [&progress, specials](std::size_t done, std::size_t target) {
        progress(done + specials, target + specials);
      };
    }
    bpe_model m = train_bpe(units_, counts_, b);
    const auto offset = static_cast<int32_t>(v.tokens.size());
    for (std::size_t i = 0; i < m.tokens.size(); ++i) {
      v.tokens.push_back(std::move(m.tokens[i]));
      v.counts.push_back(m.counts[i]);
    }
    for (const auto& [a, c] : m.merges) v.merges.emplace_back(a + offset, c + offset);
    check_vocab(v);
    return v;
  }

  std::vector<int32_t> order(units_.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int32_t x, int32_t y) {
    if (counts_[x] != counts_[y]) return counts_[x] > counts_[y];
    return units_.at(x) < units_.at(y);
  });
  for (int32_t id : order) {
    if (v.tokens.size() >= opts_.size || counts_[id] < opts_.min_freq) break;
    const std::string_view t = units_.at(id);
    if (std::find(v.tokens.begin(), v.tokens.begin() + v.num_specials, t) != v.tokens.begin() + v.num_specials)
      continue;  // cannot happen (specials are cut out first), but a duplicate would corrupt the file
    v.tokens.emplace_back(t);
    v.counts.push_back(counts_[id]);
  }
  check_vocab(v);
  return v;
}

}  // namespace attn
